"""Figures and a markdown/HTML summary of a simulation store.

Spread is shown as the inter-quartile range over trials (pooled over pairs when several
pairs are plotted together); lines are means. Every figure is written as PNG and SVG next
to the CSV table it plots.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..experiment.report import markdown_table, markdown_to_html, pyplot, save_figure, write_csv, write_text
from .store import SimulationStore

#: what a figure function returns: the PNG and SVG paths and the PNG as base64 (see save_figure)
Figure = tuple[list[Path], str]

STATS = (
    "mra_all",
    "mra_pareto",
    "hv",
    "hv_fraction",
    "kendall_tau",
    "hw_gap_all",
    "n_selected",
    "n_verified",
    "n_front",
)


@dataclass
class Report:
    out_dir: Path
    figures: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, Path] = field(default_factory=dict)
    summary_md: Path | None = None
    summary_html: Path | None = None


def _q(p: float):
    def f(x):
        return float(np.nanquantile(x, p)) if np.isfinite(x).any() else float("nan")

    f.__name__ = f"q{int(p * 100)}"
    return f


def aggregate(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, quartiles and count of every statistic per group (quantiles ignore NaN)."""
    parts = []
    g = df.groupby(by, sort=True)
    for s in STATS:
        a = g[s].agg(["mean", _q(0.25), _q(0.75)])
        a.columns = [f"{s}_mean", f"{s}_q25", f"{s}_q75"]
        parts.append(a)
    out = pd.concat(parts, axis=1)
    out["trials"] = g.size()
    return out.reset_index()


def _size_label(size: int, all_sizes: set[int]) -> str:
    return f"all ({size})" if size in all_sizes else str(size)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80]


def fig_mra_vs_noise(agg: pd.DataFrame, all_sizes: set[int], title: str, stem: Path) -> Figure:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, m, label in (
        (axes[0], "mra_all", "MRA_all: every selected architecture"),
        (axes[1], "mra_pareto", "MRA_pareto: after measuring the selection"),
    ):
        for size, g in agg.groupby("subset_size"):
            (line,) = ax.plot(
                g["noise_std"], g[f"{m}_mean"], marker="o", ms=3, label=_size_label(size, all_sizes)
            )
            ax.fill_between(
                g["noise_std"], g[f"{m}_q25"], g[f"{m}_q75"], color=line.get_color(), alpha=0.15, lw=0
            )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("noise std on the standardised metric")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy lost (percentage points)")
    axes[1].legend(title="candidates", fontsize=8, title_fontsize=8)
    fig.suptitle(f"{title}: accuracy lost vs predictor noise (mean, IQR band)", fontsize=11)
    return save_figure(fig, stem, dpi=110, tight=True)


def fig_mra_vs_tau(
    agg: pd.DataFrame,
    all_sizes: set[int],
    title: str,
    stem: Path,
    placed: pd.DataFrame | None = None,
    marker_note: tuple = (None, None),
) -> Figure:
    """``placed``: real predictors of this pair's hardware table (``marker_note``: the subset
    size their values are read at and their training-set size)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, m, label in (
        (axes[0], "mra_all", "MRA_all: every selected architecture"),
        (axes[1], "mra_pareto", "MRA_pareto: after measuring the selection"),
    ):
        for size, g in agg.groupby("subset_size"):
            g = g[np.isfinite(g["kendall_tau_mean"])].sort_values("kendall_tau_mean")
            x, y = g["kendall_tau_mean"].to_numpy(), g[f"{m}_mean"].to_numpy()
            xerr = np.clip(np.vstack([x - g["kendall_tau_q25"], g["kendall_tau_q75"] - x]), 0, None)
            (line,) = ax.plot(x, y, marker="o", ms=3, lw=1.3, label=_size_label(size, all_sizes))
            ax.errorbar(x, y, xerr=xerr, fmt="none", ecolor=line.get_color(), elinewidth=0.8)
            ax.fill_between(x, g[f"{m}_q25"], g[f"{m}_q75"], color=line.get_color(), alpha=0.12, lw=0)
        if placed is not None and len(placed):
            ax.scatter(
                placed["kendall_tau"],
                placed[f"{m}_at_tau"],
                marker="*",
                s=70,
                c="k",
                zorder=5,
                label=(
                    f"real predictors ({marker_note[1]} training archs, at {marker_note[0]} candidates)"
                    if m == "mra_pareto"
                    else None
                ),
            )
            for r in placed.itertuples(index=False):
                ax.annotate(
                    str(r.predictor),
                    (r.kendall_tau, getattr(r, f"{m}_at_tau")),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("Kendall tau of the simulated predictor")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy lost (percentage points)")
    axes[1].legend(title="candidates", fontsize=8, title_fontsize=8)
    fig.suptitle(f"{title}: accuracy lost vs predictor Kendall tau (mean, IQR)", fontsize=11)
    return save_figure(fig, stem, dpi=110, tight=True)


def fig_hv_vs_candidates(agg: pd.DataFrame, all_sizes: set[int], title: str, stem: Path) -> Figure:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    levels = sorted(agg["noise_std"].unique())
    cmap = plt.get_cmap("viridis")
    for i, s in enumerate(levels):
        g = agg[agg["noise_std"] == s].sort_values("subset_size")
        c = cmap(i / max(1, len(levels) - 1))
        axes[0].plot(g["subset_size"], g["hv_fraction_mean"], marker="o", ms=3, color=c, label=f"{s:g}")
        if i in (len(levels) // 2, len(levels) - 1):  # two bands: more would hide the lines
            axes[0].fill_between(
                g["subset_size"], g["hv_fraction_q25"], g["hv_fraction_q75"], color=c, alpha=0.15, lw=0
            )
        axes[1].plot(g["subset_size"], g["hv_mean"], marker="o", ms=3, color=c)
    g0 = agg[agg["noise_std"] == levels[0]].sort_values("subset_size")
    axes[1].plot(
        g0["subset_size"],
        g0["hv_true_mean"] if "hv_true_mean" in g0 else g0["hv_mean"],
        "k--",
        lw=1,
        label="true front",
    )
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("candidates (subset size)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("hypervolume / true front's")
    axes[0].set_title("selected set, fraction of the true front's", fontsize=10)
    axes[1].set_ylabel("hypervolume (acc. fraction x std. metric)")
    axes[1].set_title("selected set, absolute", fontsize=10)
    axes[0].legend(title="noise std", fontsize=7, title_fontsize=8, ncol=2)
    axes[1].legend(fontsize=8)
    fig.suptitle(
        f"{title}: hypervolume vs number of candidates (mean; IQR band at two noise levels)", fontsize=11
    )
    return save_figure(fig, stem, dpi=110, tight=True)


def fig_example(ex: pd.DataFrame, info: dict, stem: Path) -> Figure:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.scatter(ex["hardware"], ex["accuracy"], s=4, c="0.75", lw=0, label=f"all {len(ex)} candidates (true)")
    tf = ex[ex["true_front"]].sort_values("hardware")
    ax.step(tf["hardware"], tf["accuracy"], where="post", color="k", lw=1.2, label="true Pareto front")
    ax.scatter(tf["hardware"], tf["accuracy"], s=10, c="k", zorder=3)
    sel = ex[ex["selected"]].sort_values("noisy_hardware")
    ax.step(
        sel["noisy_hardware"],
        sel["accuracy"],
        where="post",
        color="tab:orange",
        lw=1,
        ls="--",
        label="predicted front (noisy metric)",
    )
    ax.scatter(sel["noisy_hardware"], sel["accuracy"], s=12, marker="x", c="tab:orange", zorder=3)
    ver = sel[sel["verified"]]
    ax.scatter(
        sel["hardware"],
        sel["accuracy"],
        s=22,
        facecolors="none",
        edgecolors="tab:blue",
        zorder=4,
        label="selected, true metric",
    )
    ax.scatter(
        ver["hardware"], ver["accuracy"], s=22, c="tab:blue", zorder=5, label="selected, kept after measuring"
    )
    ax.set_xlabel(f"{info.get('hardware', 'metric')} (standardised; lower is better)")
    ax.set_ylabel(f"{info.get('accuracy', 'accuracy')} accuracy (%)")
    lo = np.percentile(ex["accuracy"], 5)
    ax.set_ylim(lo, ex["accuracy"].max() + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(
        f"one selection: {info.get('subset_size')} candidates, noise std {info.get('noise_std')}, "
        f"tau {info.get('kendall_tau', float('nan')):.2f}\nMRA_all {info.get('mra_all', float('nan')):.2f} pp, "
        f"MRA_pareto {info.get('mra_pareto', float('nan')):.2f} pp, "
        f"HV {100 * info.get('hv_fraction', float('nan')):.1f}% of true",
        fontsize=9,
    )
    return save_figure(fig, stem, dpi=110, tight=True)


def make_report(
    store_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    predictors: pd.DataFrame | None = None,
    per_pair: bool = False,
    mapping_sizes=None,
    subset_sizes=None,
    train_size: int | None = None,
) -> Report:
    """Write figures, tables and summary.md/summary.html for a (possibly unfinished) store.

    ``subset_sizes`` (ints, or "all") limits the figures and tables to those subset sizes.
    Real predictors (``predictors``, the study's results) are drawn on a pair's curve only
    when they were fitted on that pair's hardware table, at ``train_size`` training
    architectures (default: the largest in the results). The per-cell summary
    (``cells.parquet`` + ``cells.json``) and, for several pairs, the pooled grid figures
    (:mod:`hwpred.simulation.figures`) are written too.
    """
    store = SimulationStore.open(store_dir)
    df = store.read()
    from .figures import write_grid_report
    from .summary import cell_summary, summary_meta, write_summary

    cells = cell_summary(df)
    cells_meta = summary_meta(store.read_meta() or {}, len(df), cells)
    if subset_sizes:
        want = {str(v) for v in subset_sizes}
        keep = df["subset_size"].astype(str).isin(want) | (df["subset_all"] & ("all" in want))
        if not keep.any():
            raise DataError(
                f"no results for subset sizes {sorted(want)}; the store has "
                f"{sorted(df['subset_size'].unique().tolist())}"
            )
        df = df[keep]
    meta = store.read_meta() or {}
    out = Path(out_dir) if out_dir else store.root / "report"
    out.mkdir(parents=True, exist_ok=True)
    rep = Report(out)
    rep.tables["cells"], _ = write_summary(cells, cells_meta, out / "cells.parquet")
    if cells["pair"].nunique() > 1:
        for key, path in write_grid_report(cells, cells_meta, out).items():
            (rep.figures if path.suffix == ".png" else rep.tables)[key] = path
    images: dict[str, str] = {}  # PNG name -> base64, embedded in summary.html

    def figure(key: str, saved: Figure) -> None:
        paths, png = saved
        rep.figures[key] = paths[0]
        images[paths[0].name] = png

    acc0 = df["acc_noise_std"].min()
    main = df[df["acc_noise_std"] == acc0]
    all_sizes = set(main.loc[main["subset_all"], "subset_size"].unique().tolist())
    pairs = sorted(main["pair"].unique())
    title = pairs[0] if len(pairs) == 1 else f"{len(pairs)} pairs pooled"

    by_noise = aggregate(main, ["subset_size", "noise_std"])
    hv_true = main.groupby(["subset_size", "noise_std"])["hv_true"].mean().reset_index(drop=True)
    by_noise["hv_true_mean"] = hv_true.to_numpy()
    rep.tables["by_noise"] = out / "by_noise.csv"
    write_csv(by_noise, rep.tables["by_noise"])
    per_pair_tbl = aggregate(df, ["pair", "subset_size", "noise_std", "acc_noise_std"])
    rep.tables["by_pair"] = out / "by_pair.csv"
    write_csv(per_pair_tbl, rep.tables["by_pair"])

    placed = None
    if predictors is not None:
        from .mapping import place_predictors

        placed = place_predictors(df, predictors, subset_sizes=mapping_sizes)
        rep.tables["predictors"] = out / "predictors_on_curves.csv"
        write_csv(placed, rep.tables["predictors"])

    figure("mra_vs_noise", fig_mra_vs_noise(by_noise, all_sizes, title, out / "mra_vs_noise"))
    marker_size = None
    if placed is not None and len(placed):
        marker_size = 1000 if (placed["subset_size"] == 1000).any() else int(placed["subset_size"].max())
        if train_size is None:
            train_size = int(placed["train_size"].max())
        elif not (placed["train_size"] == int(train_size)).any():
            raise DataError(
                f"the study results have no training-set size {train_size}; they have "
                f"{sorted(placed['train_size'].unique().tolist())}"
            )

    def markers(pair: str) -> pd.DataFrame | None:
        if marker_size is None:
            return None
        from .mapping import pair_markers

        return pair_markers(placed, pair, train_size, marker_size)

    figure(
        "mra_vs_tau",
        fig_mra_vs_tau(
            by_noise,
            all_sizes,
            title,
            out / "mra_vs_tau",
            markers(pairs[0]) if len(pairs) == 1 else None,
            marker_note=(marker_size, train_size),
        ),
    )
    figure("hv_vs_candidates", fig_hv_vs_candidates(by_noise, all_sizes, title, out / "hv_vs_candidates"))
    ex_info = {}
    if store.example_path.is_file():
        ex = pd.read_parquet(store.example_path)
        ex_info = json.loads(store.example_info_path.read_text()) if store.example_info_path.is_file() else {}
        write_csv(ex, out / "example_selection.csv")
        rep.tables["example"] = out / "example_selection.csv"
        figure("example", fig_example(ex, ex_info, out / "example_selection"))
    if per_pair and len(pairs) > 1:
        for p in pairs:
            sub = main[main["pair"] == p]
            agg = aggregate(sub, ["subset_size", "noise_std"])
            agg["hv_true_mean"] = sub.groupby(["subset_size", "noise_std"])["hv_true"].mean().to_numpy()
            d = out / "pairs" / _slug(p)
            d.mkdir(parents=True, exist_ok=True)
            write_csv(agg, d / "by_noise.csv")
            fig_mra_vs_noise(agg, all_sizes, p, d / "mra_vs_noise")
            fig_mra_vs_tau(
                agg, all_sizes, p, d / "mra_vs_tau", markers(p), marker_note=(marker_size, train_size)
            )
            fig_hv_vs_candidates(agg, all_sizes, p, d / "hv_vs_candidates")

    # ---- summary -----------------------------------------------------------------------------
    cfg = meta.get("config", {})
    lines = [
        f"# Simulation report: {meta.get('name', store.root.name)}",
        "",
        f"{len(pairs)} accuracy x hardware pair(s), subset sizes {sorted(main['subset_size'].unique().tolist())}, "
        f"noise std {sorted(main['noise_std'].unique().tolist())}, {int(main['trial'].max()) + 1} trial(s), "
        f"seed {cfg.get('seed')}, {len(df)} rows; accuracy noise std in figures: {acc0:g}.",
        "MRA in percentage points of accuracy; hypervolume in (accuracy fraction) x (standardised metric); "
        "spread = inter-quartile range over trials.",
        "",
    ]
    show_size = 1000 if 1000 in set(main["subset_size"]) else int(main["subset_size"].max())
    tbl = by_noise[by_noise["subset_size"] == show_size][
        [
            "noise_std",
            "kendall_tau_mean",
            "mra_all_mean",
            "mra_all_q25",
            "mra_all_q75",
            "mra_pareto_mean",
            "hv_fraction_mean",
            "n_selected_mean",
            "n_verified_mean",
        ]
    ]
    lines += [f"## At {_size_label(show_size, all_sizes)} candidates ({title})", "", markdown_table(tbl), ""]
    if len(pairs) > 1:
        mid = sorted(main["noise_std"].unique())[len(main["noise_std"].unique()) // 2]
        pt = per_pair_tbl[
            (per_pair_tbl["subset_size"] == show_size)
            & (per_pair_tbl["noise_std"] == mid)
            & (per_pair_tbl["acc_noise_std"] == acc0)
        ][["pair", "kendall_tau_mean", "mra_all_mean", "mra_pareto_mean", "hv_fraction_mean"]]
        lines += [f"## Per pair at {show_size} candidates, noise std {mid:g}", "", markdown_table(pt), ""]
    lines += ["## Figures", ""]
    for key, path in rep.figures.items():
        lines += [f"![{key}]({path.name})", ""]
    if ex_info:
        lines += [f"Example selection: {ex_info.get('pair')}, trial {ex_info.get('trial')}.", ""]
    if per_pair and len(pairs) > 1:
        lines += ["Per-pair figures and tables: " + ", ".join(f"`pairs/{_slug(p)}/`" for p in pairs), ""]
    if placed is not None:
        cols = [
            "dataset",
            "predictor",
            "train_size",
            "kendall_tau",
            "dev_std",
            "accuracy",
            "subset_size",
            "mra_all_at_std",
            "mra_pareto_at_std",
            "mra_all_at_tau",
            "mra_pareto_at_tau",
            "outside_range",
        ]
        pp = (
            placed[placed["subset_size"] == show_size]
            if (placed["subset_size"] == show_size).any()
            else placed
        )
        lines += ["## Real predictors on the curves", "", markdown_table(pp[cols]), ""]
    md = "\n".join(lines)
    rep.summary_md = out / "summary.md"
    write_text(rep.summary_md, md)
    rep.summary_html = write_text(
        out / "summary.html", markdown_to_html(md, f"Simulation report: {meta.get('name', '')}", images)
    )
    return rep
