"""The per-cell summary of a simulation grid: mean, sd and count per pair x size x noise level.

A full grid stores millions of rows (one per trial); everything the report and the lookup
(:mod:`hwpred.simulation.expect`) need is in this summary, which is small enough to ship
inside the package. It is written as Parquet with a JSON sidecar that names the config (and
its hash) and the software that produced it, so a published summary can be regenerated and
checked: ``hwpred simulate report DIR`` writes ``cells.parquet`` + ``cells.json``.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_write_bytes
from ..errors import DataError
from .unit import RESULT_COLUMNS

#: per-cell statistics (mean, sd over trials, count of finite values)
METRICS = (
    "kendall_tau",
    "mra_all",
    "mra_pareto",
    "hv_fraction",
    "hv",
    "hv_true",
    "hw_gap_all",
    "hw_gap_pareto",
    "n_selected",
    "n_verified",
    "n_front",
)
#: what names a cell: every result column before the trial number
CELL_KEYS = RESULT_COLUMNS[: RESULT_COLUMNS.index("trial")]
_PACKAGES = ("hwpred", "numpy", "scipy", "pandas", "pyarrow", "numba")


def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cell_summary(results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: ``<metric>_mean``, ``<metric>_sd`` (over trials, ddof 1), ``<metric>_count``."""
    df = results.copy()
    df["selection_accuracy"] = (
        df["selection_accuracy"].astype(object).where(df["selection_accuracy"].notna(), "")
    )
    g = df.groupby(CELL_KEYS, sort=True)
    parts = []
    for m in METRICS:
        a = g[m].agg(["mean", "std", "count"])
        a.columns = [f"{m}_mean", f"{m}_sd", f"{m}_count"]
        parts.append(a)
    out = pd.concat(parts, axis=1)
    out["trials"] = g.size()
    out = out.reset_index()
    for c in out.columns:
        if c.endswith("_count") or c in ("trials", "subset_size"):
            out[c] = out[c].astype("int64")
    return out


def write_summary(cells: pd.DataFrame, meta: dict, path: str | os.PathLike) -> tuple[Path, Path]:
    """``path`` (Parquet) and its sidecar ``path.with_suffix('.json')``, both written atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.BytesIO()
    cells.to_parquet(buf, index=False, compression="zstd")
    atomic_write_bytes(p, buf.getvalue())
    side = p.with_suffix(".json")
    atomic_write_bytes(side, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return p, side


def summary_meta(store_meta: dict, results: pd.DataFrame, cells: pd.DataFrame) -> dict:
    """What a published summary says about itself: config, hash, software, size."""
    cfg = store_meta.get("config", {})
    return {
        "name": store_meta.get("name"),
        "config_hash": store_meta.get("config_hash"),
        "config": cfg,
        "software": software_versions(),
        "rows_summarised": int(len(results)),
        "cells": int(len(cells)),
        "pairs": int(cells["pair"].nunique()),
        # every configured pair x size x noise level with every trial
        "complete": bool(
            len(cells)
            == len(cfg.get("pairs", ()))
            * len(cfg.get("subset_sizes", ()))
            * len(cfg.get("noise_stds", ()))
            * len(cfg.get("accuracy_noise_stds", (0.0,)))
            and int(cells["trials"].min()) == int(cfg.get("trials", -1))
        ),
    }


def read_summary(path: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """A summary and its sidecar (an empty dict when the sidecar is absent)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no simulation summary at {p}; write one with `hwpred simulate report DIR`")
    try:
        cells = pd.read_parquet(p)
    except Exception as exc:
        raise DataError(f"{p} is not a readable simulation summary (Parquet): {exc}") from None
    missing = [c for c in (*CELL_KEYS, "kendall_tau_mean", "mra_all_mean") if c not in cells.columns]
    if missing:
        raise DataError(f"{p} lacks the summary column(s) {missing}; is it a cells.parquet?")
    side = p.with_suffix(".json")
    meta = json.loads(side.read_text()) if side.is_file() else {}
    cells["selection_accuracy"] = cells["selection_accuracy"].fillna("").astype(str)
    return cells, meta


def pooled_sd(sd: np.ndarray, mean: np.ndarray, count: np.ndarray) -> float:
    """The sd over all trials of several cells, from their means, sds and counts."""
    sd, mean, count = (np.asarray(a, dtype=np.float64) for a in (sd, mean, count))
    ok = count > 1
    if not ok.any():
        return float("nan")
    n = count[ok].sum()
    grand = (mean[ok] * count[ok]).sum() / n
    ss = ((count[ok] - 1) * sd[ok] ** 2 + count[ok] * (mean[ok] - grand) ** 2).sum()
    return float(np.sqrt(ss / (n - 1)))
