"""Rank and error metrics used to score predictors."""

from __future__ import annotations

import numpy as np
from scipy import stats


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64).ravel()
    b = np.asarray(y_pred, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred differ in length ({len(a)} vs {len(b)})")
    return a, b


def kendall_tau(y_true, y_pred) -> float:
    """Kendall tau-b (ties handled); NaN when either side is constant."""
    a, b = _pair(y_true, y_pred)
    if len(a) < 2:
        return float("nan")
    return float(stats.kendalltau(a, b, variant="b").statistic)


def spearman(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def pearson(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.pearsonr(a, b).statistic)


def rmse(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def monotonicity(y_true, y_pred) -> float:
    """|tau-a| where a pair tied on either side counts zero (concordant - discordant over all pairs).

    Unlike tau-b, ties do not shrink the denominator, so a predictor that outputs many equal
    values is penalised. O(n log n) via scipy would hide the convention, so this is O(n^2) in
    blocks, fine for the few thousand points a test set has.
    """
    a, b = _pair(y_true, y_pred)
    n = len(a)
    if n < 2:
        return float("nan")
    total = 0
    for start in range(0, n, 2048):
        da = np.sign(a[start : start + 2048, None] - a[None, :])
        db = np.sign(b[start : start + 2048, None] - b[None, :])
        total += int(np.sum(da * db))
    # every unordered pair was counted twice, diagonal is zero
    return float(abs(total / 2) / (n * (n - 1) / 2))


def all_metrics(y_true, y_pred) -> dict[str, float]:
    return {
        "kendall_tau": kendall_tau(y_true, y_pred),
        "spearman": spearman(y_true, y_pred),
        "pearson": pearson(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "monotonicity": monotonicity(y_true, y_pred),
    }
