"""Rank and error metrics used to score predictors, and scikit-learn scorers built from them.

scipy and scikit-learn are imported inside the functions, so that importing this module (the
predictors and the CLI do) stays cheap.
"""

from __future__ import annotations

import numpy as np


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64).ravel()
    b = np.asarray(y_pred, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred differ in length ({len(a)} vs {len(b)})")
    return a, b


def _tied_pairs(v: np.ndarray) -> int:
    _, counts = np.unique(v, return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))


def _tau_b_and_net_pairs(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """(Kendall tau-b, concordant minus discordant pairs) from one O(n log n) scipy call.

    scipy computes tau-b as ``net / sqrt(pairs - ties_a) / sqrt(pairs - ties_b)`` from exact
    integer counts, so multiplying back and rounding recovers ``net`` exactly (its relative
    error is a few ulp, far below 1 for any table size).
    """
    from scipy import stats

    tau = float(stats.kendalltau(a, b, variant="b").statistic)
    n = len(a)
    pairs = n * (n - 1) // 2
    untied_a, untied_b = pairs - _tied_pairs(a), pairs - _tied_pairs(b)
    if untied_a == 0 or untied_b == 0 or not np.isfinite(tau):
        return tau, 0  # one side constant: every pair tied there, nothing concordant
    return tau, int(round(tau * np.sqrt(untied_a) * np.sqrt(untied_b)))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall tau-b (ties handled); NaN when either side is constant."""
    from scipy import stats

    a, b = _pair(y_true, y_pred)
    if len(a) < 2:
        return float("nan")
    return float(stats.kendalltau(a, b, variant="b").statistic)


def spearman(y_true, y_pred) -> float:
    from scipy import stats

    a, b = _pair(y_true, y_pred)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def pearson(y_true, y_pred) -> float:
    from scipy import stats

    a, b = _pair(y_true, y_pred)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.pearsonr(a, b).statistic)


def rmse(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _monotonicity_from(net_pairs: int, n: int) -> float:
    return float(abs(net_pairs) / (n * (n - 1) / 2))


def monotonicity(y_true, y_pred) -> float:
    """|tau-a| where a pair tied on either side counts zero (concordant - discordant over all pairs).

    Unlike tau-b, ties do not shrink the denominator, so a predictor that outputs many equal
    values is penalised. The pair count comes exactly from tau-b's O(n log n) computation.
    """
    a, b = _pair(y_true, y_pred)
    if len(a) < 2:
        return float("nan")
    return _monotonicity_from(_tau_b_and_net_pairs(a, b)[1], len(a))


def all_metrics(y_true, y_pred) -> dict[str, float]:
    a, b = _pair(y_true, y_pred)
    if len(a) < 2:
        tau, mono = float("nan"), float("nan")
    else:
        tau, net = _tau_b_and_net_pairs(a, b)
        mono = _monotonicity_from(net, len(a))
    return {
        "kendall_tau": tau,
        "spearman": spearman(a, b),
        "pearson": pearson(a, b),
        "rmse": rmse(a, b),
        "monotonicity": mono,
    }


#: scorer name -> metric; ``hwpred.metrics.<name>_scorer`` is a scikit-learn scorer (greater is better)
_SCORER_METRICS = {"kendall_tau": kendall_tau, "spearman": spearman}


def __getattr__(name: str):
    """``kendall_tau_scorer`` / ``spearman_scorer``: made on first use (imports scikit-learn)."""
    metric = _SCORER_METRICS.get(name.removesuffix("_scorer")) if name.endswith("_scorer") else None
    if metric is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sklearn.metrics import make_scorer

    scorer = make_scorer(metric)
    globals()[name] = scorer
    return scorer
