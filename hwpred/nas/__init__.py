"""Plugging fitted predictors into NAS: pymoo problems, a differentiable term, verification."""

from __future__ import annotations

from .._lazy import lazy_exports

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
__getattr__ = lazy_exports(__name__, _EXPORTS)
