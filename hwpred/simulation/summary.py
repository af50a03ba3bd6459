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


def _merge(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Two partial summaries of the same cells (index) into one: counts add, means and sds
    combine exactly as over the union of trials (Chan et al.'s pairwise update)."""
    out = a.copy()
    for m in METRICS:
        na, nb = a[f"{m}_count"], b[f"{m}_count"]
        n = na + nb
        ma, mb = a[f"{m}_mean"].fillna(0.0), b[f"{m}_mean"].fillna(0.0)
        m2 = (a[f"{m}_sd"].fillna(0.0) ** 2 * (na - 1).clip(lower=0)) + (
            b[f"{m}_sd"].fillna(0.0) ** 2 * (nb - 1).clip(lower=0)
        )
        delta = mb - ma
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = ma + delta * nb / n
            m2 = m2 + delta**2 * na * nb / n
            out[f"{m}_mean"] = mean.where(n > 0)
            out[f"{m}_sd"] = np.sqrt(m2 / (n - 1)).where(n > 1)
        out[f"{m}_count"] = n
    out["trials"] = a["trials"] + b["trials"]
    return out


def summarise_store(store) -> tuple[pd.DataFrame, int]:
    """The per-cell summary of a (possibly unfinished) store, one part file at a time, so a
    grid of millions of rows never sits in memory at once. Returns the cells and the rows read."""
    acc: pd.DataFrame | None = None
    rows = 0
    for name in sorted(store.part_files()):
        table = store.read_part(name)
        if table is None:
            continue
        part = cell_summary(table.to_pandas()).set_index(CELL_KEYS)
        rows += int(part["trials"].sum())
        if acc is None:
            acc = part
            continue
        both = acc.index.intersection(part.index)
        new = part.index.difference(acc.index)
        if len(both):
            acc.loc[both] = _merge(acc.loc[both], part.loc[both])
        if len(new):
            acc = pd.concat([acc, part.loc[new]])
    if acc is None:
        raise DataError(
            f"{store.root} holds no finished simulation results yet; run `hwpred simulate run` first"
        )
    return acc.sort_index().reset_index(), rows


def complete_pairs(cells: pd.DataFrame, config: dict) -> tuple[pd.DataFrame, list[str]]:
    """Only the pairs with every configured cell and every trial; and the names of the others."""
    want = (
        len(config.get("subset_sizes", ()))
        * len(config.get("noise_stds", ()))
        * len(config.get("accuracy_noise_stds", (0.0,)))
    )
    g = cells.groupby("pair")
    ok = (g.size() == want) & (g["trials"].min() == int(config.get("trials", -1)))
    keep = ok[ok].index
    return cells[cells["pair"].isin(keep)].reset_index(drop=True), sorted(ok[~ok].index)


def summary_report(store_dir, out: str | os.PathLike | None = None) -> dict[str, Path]:
    """``cells.parquet`` + ``cells.json`` of a store's complete pairs (the pairs still missing
    a part are named in the sidecar) and the pooled grid figures, reading one part at a time."""
    from .figures import write_grid_report
    from .store import SimulationStore

    store = SimulationStore.open(store_dir)
    meta = store.read_meta() or {}
    cells, rows = summarise_store(store)
    done, unfinished = complete_pairs(cells, meta.get("config", {}))
    if done.empty:
        raise DataError(f"{store.root}: no pair is complete yet ({len(unfinished)} under way)")
    side = summary_meta(meta, int(done["trials"].sum()), done)
    side["pairs_unfinished"] = unfinished
    target = Path(out) if out else store.root / "report"
    written = dict(zip(("cells", "cells_meta"), write_summary(done, side, target / "cells.parquet")))
    written.update(write_grid_report(done, side, target))
    return written


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


def summary_meta(store_meta: dict, rows: int, cells: pd.DataFrame) -> dict:
    """What a published summary says about itself: config, hash, software, size."""
    cfg = store_meta.get("config", {})
    return {
        "name": store_meta.get("name"),
        "config_hash": store_meta.get("config_hash"),
        "config": cfg,
        "software": software_versions(),
        "rows_summarised": int(rows),
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
