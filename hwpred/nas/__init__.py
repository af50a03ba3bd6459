"""Plugging fitted predictors into NAS: pymoo problems, a differentiable term, verification."""
from __future__ import annotations

import importlib

# name -> submodule; imported on first use so that `hwpred --help` does not pay for torch/pymoo
_EXPORTS = {
    "ArchEncoding": "problem",
    "ArchProblem": "problem",
    "DifferentiableMetric": "differentiable",
    "NASError": "objectives",
    "PredictorObjective": "objectives",
    "TableObjective": "objectives",
    "SearchResult": "search",
    "nsga2_search": "search",
    "random_search": "search",
    "Verification": "verify",
    "verify_selection": "verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(f".{module}", __name__), name)
