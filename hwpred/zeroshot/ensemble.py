"""The rank ensemble of scored columns: several zero-shot scores combined into one."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def ensemble_rank(columns: dict[str, np.ndarray] | list[np.ndarray]) -> np.ndarray:
    """Mean rank of several scores (higher score -> higher rank, ties averaged).

    Rows where any member is missing (NaN/inf) are NaN: a missing score is never ranked.
    """
    from scipy.stats import rankdata

    cols = list(columns.values()) if isinstance(columns, dict) else list(columns)
    if not cols:
        raise ConfigError("an ensemble needs at least one score column")
    m = np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])
    ok = np.all(np.isfinite(m), axis=1)
    out = np.full(len(m), np.nan)
    if ok.any():
        ranks = np.column_stack([rankdata(m[ok, j]) for j in range(m.shape[1])])
        out[ok] = ranks.mean(axis=1)
    return out


def ensemble_name(members: list[str], data: str) -> str:
    """``ensemble-naswot+synflow/digits``: no brackets or globs, so it works in dataset names."""
    return f"ensemble-{'+'.join(members)}/{data}"
