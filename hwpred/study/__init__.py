"""The large-scale predictor study on the experiment scaffold: its config schema, its plan (datasets,
seeded splits, the grid of cells), its unit of work (one cell), its results store and its report."""

from __future__ import annotations

from .._lazy import lazy_exports

# `plan` is bound here, not lazily: importing the submodule hwpred.study.plan sets the package
# attribute `plan` to that module, which would shadow a lazily exported function of the same name
from .cells import plan  # noqa: F401  (in __all__)

# name -> submodule; imported on first use so that `hwpred --help` does not pay for pandas/rich
_EXPORTS = {
    "StudyConfig": "config",
    "load_config": "config",
    "parse_config": "config",
    "validate": "config",
    "plan": "cells",
    "StudyRun": "run",
    "run_study": "run",
    "ResultStore": "store",
    "open_store": "store",
    "write_report": "report",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
