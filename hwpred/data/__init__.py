"""Data: the MetricTable model, importers of public formats, and the named-dataset registry."""
from .registry import Dataset, available_datasets, fetch, load_dataset, load_table, register_local
from .table import MetricTable

__all__ = ["MetricTable", "Dataset", "load_dataset", "load_table", "available_datasets", "register_local", "fetch"]
