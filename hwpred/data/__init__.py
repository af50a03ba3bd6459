"""Data: the MetricTable model, importers of public formats, and the named-dataset registry."""
from .table import MetricTable

__all__ = ["MetricTable"]
