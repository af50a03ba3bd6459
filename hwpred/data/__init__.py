"""Data: the MetricTable model and its dataset view, importers of public formats, named datasets."""

from __future__ import annotations

from .._lazy import lazy_exports

# name -> submodule; imported on first use so that `import hwpred.data` does not pay for pandas/pyarrow
_EXPORTS = {
    "MetricTable": "table",
    "Dataset": "table",
    "load_dataset": "names",
    "load_table": "names",
    "available_datasets": "names",
    "register_local": "names",
    "fetch": "names",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
