"""Training-free (zero-shot) accuracy proxies of untrained networks, and their data batches.

``score_archs`` scores architectures of a search space into a :class:`ScoreResult`, whose
``table()`` is a MetricTable with ``<score>/<data>`` columns usable like any other table.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# name -> submodule; imported on first use so that `hwpred --help` does not pay for torch/pymoo
_EXPORTS = {
    "Batch": "batches",
    "available_data": "batches",
    "load_batch": "batches",
    "MissingScoreWarning": "scoring",
    "ScoreResult": "scoring",
    "column_name": "scoring",
    "score_archs": "scoring",
    "ensemble_name": "ensemble",
    "ensemble_rank": "ensemble",
    "ScoreSpec": "registry",
    "ZeroShotError": "registry",
    "available_scores": "registry",
    "get_score": "registry",
    "parse_scores": "registry",
    "SelectionStudy": "selection_study",
    "format_report": "selection_study",
    "run_selection_study": "selection_study",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
