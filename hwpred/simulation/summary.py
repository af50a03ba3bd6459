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


def _merge(parts: pd.DataFrame) -> pd.DataFrame:
    """Partial summaries of the same cells (rows sharing the cell keys) into one per cell:
    counts add, means and sds combine exactly as over the union of the trials."""
    g = parts.groupby(CELL_KEYS, sort=True)
    out = pd.DataFrame({"trials": g["trials"].sum()})
    for m in METRICS:
        n = parts[f"{m}_count"].astype(float)
        mean = parts[f"{m}_mean"].fillna(0.0)
        ss = (n - 1).clip(lower=0) * parts[f"{m}_sd"].fillna(0.0) ** 2
        tmp = pd.DataFrame({"n": n, "s": n * mean, "ss": ss})
        tmp[CELL_KEYS] = parts[CELL_KEYS]
        sums = tmp.groupby(CELL_KEYS, sort=True)[["n", "s", "ss"]].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            grand = sums["s"] / sums["n"]
            tmp["dev"] = (
                n * (mean - grand.reindex(pd.MultiIndex.from_frame(parts[CELL_KEYS])).to_numpy()) ** 2
            )
            between = tmp.groupby(CELL_KEYS, sort=True)["dev"].sum()
            out[f"{m}_mean"] = grand.where(sums["n"] > 0)
            out[f"{m}_sd"] = np.sqrt((sums["ss"] + between) / (sums["n"] - 1)).where(sums["n"] > 1)
        out[f"{m}_count"] = sums["n"].astype("int64")
    return out[[c for c in _summary_columns() if c in out.columns or c == "trials"]].reset_index()


def _summary_columns() -> list[str]:
    return [f"{m}_{k}" for m in METRICS for k in ("mean", "sd", "count")] + ["trials"]


def summarise_store(store) -> tuple[pd.DataFrame, int]:
    """The per-cell summary of a (possibly unfinished) store, one part file at a time, so a
    grid of millions of rows never sits in memory at once. Returns the cells and the rows read."""
    parts = []
    for name in sorted(store.part_files()):
        table = store.read_part(name)
        if table is not None:
            parts.append(cell_summary(table.to_pandas()))
    if not parts:
        raise DataError(
            f"{store.root} holds no finished simulation results yet; run `hwpred simulate run` first"
        )
    cells = _merge(pd.concat(parts, ignore_index=True))
    return cells, int(cells["trials"].sum())


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


def summary_report(
    store_dir, out: str | os.PathLike | None = None, equivalence_trials: int = 0
) -> dict[str, Path]:
    """``cells.parquet`` + ``cells.json`` of a store's complete pairs (the pairs still missing
    a part are named in the sidecar) and the pooled grid figures, reading one part at a time.

    ``equivalence_trials`` > 0 loads the pairs (selected by the true accuracy) and computes,
    over that many random subsets per size, the hypervolume of perfectly measured candidates
    (:mod:`hwpred.simulation.equivalence`), written as ``exact_subsets.csv``.
    """
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
    exact = None
    if equivalence_trials > 0:
        exact = _exact_subsets(done, meta.get("config", {}), equivalence_trials)
        target.mkdir(parents=True, exist_ok=True)
        exact.to_csv(target / "exact_subsets.csv", index=False)
        written["exact_subsets"] = target / "exact_subsets.csv"
    written.update(write_grid_report(done, side, target, exact))
    return written


def _exact_subsets(cells: pd.DataFrame, config: dict, trials: int) -> pd.DataFrame:
    from .equivalence import exact_subsets
    from .grid import parse_config
    from .pairs import load_pair

    doc = {k: v for k, v in config.items() if k != "format"}
    doc["noise_model"] = {k: v for k, v in doc.get("noise_model", {}).items() if k != "v"}
    doc["output"] = "."
    cfg = parse_config(doc, "the store's config")
    cache: dict = {}
    keys = cells.loc[cells["selection_accuracy"] == "", ["accuracy", "hardware"]].drop_duplicates()
    frames = [
        exact_subsets(load_pair(a, h, accuracy_scale=cfg.accuracy_scale, cache=cache), cfg, trials)
        for a, h in keys.itertuples(index=False)
    ]
    return pd.concat(frames, ignore_index=True)


def write_summary(cells: pd.DataFrame, meta: dict, path: str | os.PathLike) -> tuple[Path, Path]:
    """``path`` (Parquet) and its sidecar ``path.with_suffix('.json')``, both written atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.BytesIO()
    small = cells.copy()
    for c in small.columns:  # 7 significant digits are more than 1,000 trials resolve
        if small[c].dtype == np.float64 and c != "noise_std" and c != "acc_noise_std":
            small[c] = small[c].astype(np.float32)
    small.to_parquet(buf, index=False, compression="zstd", compression_level=19)
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
