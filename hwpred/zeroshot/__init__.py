"""Training-free (zero-shot) accuracy proxies of untrained networks, and their data batches.

``score_archs`` scores architectures of a search space into a :class:`ScoreResult`, whose
``table()`` is a MetricTable with ``<score>/<data>`` columns usable like any other table.
"""
from .data import Batch, available_data, load_batch
from .runner import MissingScoreWarning, ScoreResult, column_name, score_archs
from .scores import (ScoreSpec, ZeroShotError, available_scores, ensemble_name, ensemble_rank, get_score,
                     parse_scores)

__all__ = ["Batch", "available_data", "load_batch", "MissingScoreWarning", "ScoreResult", "column_name",
           "score_archs", "ScoreSpec", "ZeroShotError", "available_scores", "ensemble_name", "ensemble_rank",
           "get_score", "parse_scores"]
