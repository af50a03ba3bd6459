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


def _tied_pairs(v: np.ndarray, counts: np.ndarray | None = None) -> int:
    """Pairs tied in ``v``; ``counts`` (the sizes of its groups of equal values) when known."""
    if counts is None:
        _, counts = np.unique(v, return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))


def _kendall_tau_b(a: np.ndarray, b: np.ndarray) -> float:
    """scipy's tau-b, the same float: on finite input from :mod:`hwpred.kendall`'s compiled
    counts (a 625-point test set costs a fraction of scipy's call overhead), else scipy's own
    NaN policy."""
    if np.isfinite(a).all() and np.isfinite(b).all():
        from .kendall import kendall_tau_pair

        return kendall_tau_pair(a, b)
    from scipy import stats

    return float(stats.kendalltau(a, b, variant="b").statistic)


def _tau_b_and_net_pairs(
    a: np.ndarray, b: np.ndarray, tie_counts: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[float, int]:
    """(Kendall tau-b, concordant minus discordant pairs) from one O(n log n) tau.

    scipy (and :mod:`hwpred.kendall`) compute tau-b as ``net / sqrt(pairs - ties_a) / sqrt(pairs - ties_b)`` from exact
    integer counts, so multiplying back and rounding recovers ``net`` exactly (its relative
    error is a few ulp, far below 1 for any table size).
    """
    tau = _kendall_tau_b(a, b)
    n = len(a)
    pairs = n * (n - 1) // 2
    counts_a, counts_b = tie_counts or (None, None)
    untied_a, untied_b = pairs - _tied_pairs(a, counts_a), pairs - _tied_pairs(b, counts_b)
    if untied_a == 0 or untied_b == 0 or not np.isfinite(tau):
        return tau, 0  # one side constant: every pair tied there, nothing concordant
    return tau, int(round(tau * np.sqrt(untied_a) * np.sqrt(untied_b)))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall tau-b (ties handled); NaN when either side is constant."""
    a, b = _pair(y_true, y_pred)
    if len(a) < 2:
        return float("nan")
    return _kendall_tau_b(a, b)


def _average_ranks(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1-based ranks, ties sharing their average rank as in scipy's ``rankdata``; the sizes of
    the groups of equal values, which Kendall's tie correction needs too)."""
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    starts = np.flatnonzero(np.concatenate(([True], sv[1:] != sv[:-1])))
    counts = np.diff(np.append(starts, len(v)))
    ranks = np.empty(len(v), dtype=np.float64)
    ranks[order] = np.repeat(starts + (counts + 1) / 2.0, counts)
    return ranks, counts


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r, computed as scipy does (centred, scaled to unit norm, clipped to [-1, 1])."""
    am, bm = a - a.mean(), b - b.mean()
    am /= np.abs(am).max()
    bm /= np.abs(bm).max()
    r = float(np.dot(am / np.linalg.norm(am), bm / np.linalg.norm(bm)))
    return max(-1.0, min(1.0, r))


def spearman(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return _correlation(_average_ranks(a)[0], _average_ranks(b)[0])


def pearson(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return _correlation(a, b)


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
    """Every metric of one test set; the sorts are shared (Spearman's ranks give Kendall's ties)."""
    a, b = _pair(y_true, y_pred)
    if len(a) < 2:
        nan = float("nan")
        return {"kendall_tau": nan, "spearman": nan, "pearson": nan, "rmse": rmse(a, b), "monotonicity": nan}
    (ranks_a, counts_a), (ranks_b, counts_b) = _average_ranks(a), _average_ranks(b)
    tau, net = _tau_b_and_net_pairs(a, b, (counts_a, counts_b))
    constant = len(counts_a) == 1 or len(counts_b) == 1
    return {
        "kendall_tau": tau,
        "spearman": float("nan") if constant else _correlation(ranks_a, ranks_b),
        "pearson": float("nan") if constant else _correlation(a, b),
        "rmse": rmse(a, b),
        "monotonicity": _monotonicity_from(net, len(a)),
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
