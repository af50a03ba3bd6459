"""Place real predictors on the simulation curves.

The study measures, per (dataset, predictor, train size, seed), the Kendall tau of a fitted
predictor and the standard deviation of its prediction deviations on the standardised scale
(``dev_std``). The simulation adds noise of a given standard deviation to the standardised
metric, so ``dev_std`` reads directly as a noise level, and the simulated Kendall tau as a
second, independent handle. Both are interpolated on the simulated mean curves.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

STUDY_COLUMNS = ("dataset", "predictor", "train_size", "seed", "kendall_tau", "dev_std")
METRICS = ("mra_all", "mra_pareto", "hv_fraction")


def load_study_results(path: str | os.PathLike) -> pd.DataFrame:
    """Study results from Parquet or CSV (a study store folder's cells are read too)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*.parquet") if not f.name.startswith("."))
        if not files:
            raise DataError(f"{p} holds no Parquet files with study results")
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    elif not p.is_file():
        raise DataError(
            f"no study results at {p}; pass a Parquet/CSV file with columns {', '.join(STUDY_COLUMNS)}"
        )
    elif p.suffix.lower() == ".csv":
        df = pd.read_csv(p)
    else:
        try:
            df = pd.read_parquet(p)
        except Exception as exc:
            raise DataError(f"{p} is neither a readable Parquet nor a .csv file ({exc})") from None
    missing = [c for c in STUDY_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{p}: study results lack column(s) {missing}; expected {', '.join(STUDY_COLUMNS)}")
    if "status" in df.columns:
        df = df[df["status"].astype(str) == "ok"]
    df = df.dropna(subset=["kendall_tau", "dev_std"])
    if df.empty:
        raise DataError(f"{p}: no finished study rows with kendall_tau and dev_std")
    return df.reset_index(drop=True)


def _curves(sim: pd.DataFrame) -> pd.DataFrame:
    keep = sim[sim["acc_noise_std"] == sim["acc_noise_std"].min()]
    return keep.groupby(["accuracy", "hardware", "subset_size", "noise_std"], as_index=False)[
        ["kendall_tau", *METRICS]
    ].mean()


def _interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() == 0:
        return float("nan")
    return float(np.interp(x, xs[ok], ys[ok]))


def place_predictors(sim: pd.DataFrame, study: pd.DataFrame, subset_sizes=None) -> pd.DataFrame:
    """One row per (study dataset, predictor, train size, accuracy dataset, subset size).

    Curves come from the simulated pairs whose hardware dataset is the study's dataset; when
    none matches, from all pairs pooled (``matched_pair`` is then False). Values outside the
    simulated noise / tau range are clamped to the nearest end and flagged ``outside_range``.
    """
    curves = _curves(sim)
    if subset_sizes is not None:
        curves = curves[curves["subset_size"].isin(list(subset_sizes))]
        if curves.empty:
            raise DataError(
                f"the simulation has no subset size among {list(subset_sizes)}; "
                f"available: {sorted(sim['subset_size'].unique().tolist())}"
            )
    pooled = (
        curves.groupby(["subset_size", "noise_std"], as_index=False)[["kendall_tau", *METRICS]]
        .mean()
        .assign(accuracy="(all pairs)")
    )
    groups = study.groupby(["dataset", "predictor", "train_size"], as_index=False).agg(
        kendall_tau=("kendall_tau", "mean"), dev_std=("dev_std", "mean"), n_seeds=("seed", "nunique")
    )
    rows = []
    for g in groups.itertuples(index=False):
        mine = curves[curves["hardware"] == g.dataset]
        matched = not mine.empty
        src = mine if matched else pooled
        for (acc, size), c in src.groupby(["accuracy", "subset_size"]):
            noise = c["noise_std"].to_numpy(float)
            tau = c["kendall_tau"].to_numpy(float)
            row = {
                "dataset": g.dataset,
                "predictor": g.predictor,
                "train_size": int(g.train_size),
                "n_seeds": int(g.n_seeds),
                "kendall_tau": float(g.kendall_tau),
                "dev_std": float(g.dev_std),
                "accuracy": acc,
                "subset_size": int(size),
                "matched_pair": matched,
            }
            for m in METRICS:
                vals = c[m].to_numpy(float)
                row[f"{m}_at_std"] = _interp(g.dev_std, noise, vals)
                row[f"{m}_at_tau"] = _interp(g.kendall_tau, tau, vals)
            finite_tau = tau[np.isfinite(tau)]
            row["outside_range"] = bool(
                g.dev_std > noise.max()
                or g.dev_std < noise.min()
                or (
                    len(finite_tau) and (g.kendall_tau < finite_tau.min() or g.kendall_tau > finite_tau.max())
                )
            )
            rows.append(row)
    return pd.DataFrame(rows)


def pair_markers(placed: pd.DataFrame, pair: str, train_size: int, subset_size: int) -> pd.DataFrame:
    """The real predictors that belong on one pair's curve: fitted on that pair's own hardware
    table, at one training-set size, read at one subset size (never pooled over tables)."""
    acc, hw = pair.split(" (select by")[0].split(" x ", 1)
    return placed[
        placed["matched_pair"]
        & (placed["dataset"] == hw)
        & (placed["accuracy"] == acc)
        & (placed["train_size"] == int(train_size))
        & (placed["subset_size"] == int(subset_size))
    ]
