"""The grid's figures and tables, from the per-cell summary alone (no trial rows needed).

Aggregation over pairs is done on each pair's own curve first, so a point of a pooled line is
the mean over pairs of (that pair's mean Kendall tau, that pair's mean MRA) at one noise level
and subset size: pairs are never mixed inside a mean over trials. The band is the spread across
pairs (10th-90th percentile of the pairs' means).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..experiment.report import markdown_table, markdown_to_html, pyplot, save_figure, write_csv, write_text

Figure = tuple[list[Path], str]
_LOW, _HIGH = 0.1, 0.9


def main_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells without accuracy noise, selected by the true accuracy (the seed study's grid), or
    by a proxy where the summary holds only proxy-selected cells (the zero-shot grid)."""
    sel = cells["selection_accuracy"].fillna("")
    c = cells[sel == ""] if (sel == "").any() else cells
    return c[c["acc_noise_std"] == c["acc_noise_std"].min()]


def across_pairs(
    cells: pd.DataFrame, metrics=("kendall_tau", "mra_all", "mra_pareto", "hv_fraction")
) -> pd.DataFrame:
    """Per (subset size, noise level): mean over pairs and the pairs' 10th/90th percentiles."""
    g = cells.groupby(["subset_all", "subset_size", "noise_std"], sort=True)
    parts = {"pairs": g["pair"].nunique()}
    for m in metrics:
        col = f"{m}_mean"
        parts[f"{m}"] = g[col].mean()
        parts[f"{m}_lo"] = g[col].quantile(_LOW)
        parts[f"{m}_hi"] = g[col].quantile(_HIGH)
    out = pd.DataFrame(parts).reset_index()
    # pairs may differ in their space's size; 'all' is one line whatever its size
    out.loc[out["subset_all"], "subset_size"] = cells.loc[cells["subset_all"], "subset_size"].median()
    return out.groupby(["subset_all", "subset_size", "noise_std"], as_index=False).mean(numeric_only=True)


def _label(row_all: bool, size: float) -> str:
    return f"all ({int(size)})" if row_all else str(int(size))


def fig_mra_vs_tau_pooled(agg: pd.DataFrame, title: str, stem: Path) -> Figure:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True)
    for ax, m, label in (
        (axes[0], "mra_all", "MRA_all: every selected architecture"),
        (axes[1], "mra_pareto", "MRA_pareto: after measuring the selection"),
    ):
        for (is_all, size), g in agg.groupby(["subset_all", "subset_size"]):
            g = g.sort_values("kendall_tau")
            (line,) = ax.plot(g["kendall_tau"], g[m], marker="o", ms=3, lw=1.3, label=_label(is_all, size))
            ax.fill_between(
                g["kendall_tau"], g[f"{m}_lo"], g[f"{m}_hi"], color=line.get_color(), alpha=0.12, lw=0
            )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("Kendall tau of the simulated predictor (mean over pairs)")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy lost (percentage points)")
    axes[1].legend(title="candidates", fontsize=8, title_fontsize=8)
    fig.suptitle(
        f"{title}: accuracy lost vs Kendall tau (mean over pairs; band: pairs' 10-90th pct.)", fontsize=10
    )
    return save_figure(fig, stem, dpi=110, tight=True)


def fig_hv_vs_candidates_pooled(agg: pd.DataFrame, title: str, stem: Path) -> Figure:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    levels = sorted(agg["noise_std"].unique())
    cmap = plt.get_cmap("viridis")
    for i, s in enumerate(levels):
        g = agg[agg["noise_std"] == s].sort_values("subset_size")
        c = cmap(i / max(1, len(levels) - 1))
        tau = g["kendall_tau"].mean()
        ax.plot(g["subset_size"], g["hv_fraction"], marker="o", ms=3, color=c, label=f"{s:g} (tau {tau:.2f})")
        if s in (levels[len(levels) // 2], levels[-1]):
            ax.fill_between(
                g["subset_size"], g["hv_fraction_lo"], g["hv_fraction_hi"], color=c, alpha=0.15, lw=0
            )
    ax.set_xscale("log")
    ax.set_xlabel("candidates (subset size)")
    ax.set_ylabel("hypervolume / the subset's true front's")
    ax.grid(alpha=0.3)
    ax.legend(title="noise std (tau at all sizes)", fontsize=7, title_fontsize=7, ncol=2)
    ax.set_title(
        f"{title}: hypervolume vs candidates\n(mean over pairs; bands: pairs' 10-90th pct.)", fontsize=9
    )
    return save_figure(fig, stem, dpi=110, tight=True)


def fig_equivalent_candidates(eq: pd.DataFrame, title: str, stem: Path) -> Figure:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    e = eq.sort_values("kendall_tau")
    ax.plot(
        e["kendall_tau"],
        e["candidates_median"],
        marker="o",
        ms=3,
        color="tab:blue",
        label="median over pairs",
    )
    ax.fill_between(
        e["kendall_tau"],
        e["candidates_p10"],
        e["candidates_p90"],
        color="tab:blue",
        alpha=0.15,
        lw=0,
        label="pairs' 10-90th pct.",
    )
    ax.axhline(
        float(e["n_all"].iloc[0]),
        color="k",
        ls="--",
        lw=1,
        label=f"all candidates ({int(e['n_all'].iloc[0])})",
    )
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("Kendall tau of the predictor used on all candidates")
    ax.set_ylabel("perfectly measured candidates, same hypervolume")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(f"{title}: measured candidates worth a predictor on all", fontsize=9)
    return save_figure(fig, stem, dpi=110, tight=True)


def write_grid_report(
    cells: pd.DataFrame, meta: dict, out: Path, exact: pd.DataFrame | None = None
) -> dict[str, Path]:
    """The pooled figures, their tables and ``grid.md``/``grid.html`` of a per-cell summary;
    with ``exact`` (:func:`~.equivalence.exact_subsets` of its pairs), the measured candidates
    worth a predictor on all."""
    from .equivalence import equivalent_candidates

    out.mkdir(parents=True, exist_ok=True)
    main = main_cells(cells)
    n_pairs = main["pair"].nunique()
    title = f"{n_pairs} pairs" if n_pairs > 1 else str(main["pair"].iloc[0])
    agg = across_pairs(main)
    written: dict[str, Path] = {"grid_by_tau": write_csv(agg, out / "grid_by_tau.csv")}
    images: dict[str, str] = {}
    for key, saved in (
        ("grid_mra_vs_tau", fig_mra_vs_tau_pooled(agg, title, out / "grid_mra_vs_tau")),
        ("grid_hv_vs_candidates", fig_hv_vs_candidates_pooled(agg, title, out / "grid_hv_vs_candidates")),
    ):
        written[key] = saved[0][0]
        images[saved[0][0].name] = saved[1]
    eq = equivalent_candidates(cells, exact) if exact is not None else pd.DataFrame()
    if not eq.empty:
        written["equivalent_candidates"] = write_csv(eq, out / "equivalent_candidates.csv")
        saved = fig_equivalent_candidates(eq, title, out / "equivalent_candidates")
        written["equivalent_candidates_fig"] = saved[0][0]
        images[saved[0][0].name] = saved[1]
    sw = meta.get("software", {})
    lines = [
        f"# Simulation grid: {meta.get('name', '')} ({title})",
        "",
        f"Config hash {meta.get('config_hash', '?')}; {meta.get('rows_summarised', '?')} trial rows in "
        f"{len(cells)} cells; software: " + ", ".join(f"{k} {v}" for k, v in sorted(sw.items())) + ".",
        "Each point: the mean over pairs of each pair's mean over trials; spread: the pairs' 10th-90th percentile.",
        "",
    ]
    for (is_all, size), g in agg.groupby(["subset_all", "subset_size"]):
        tbl = g[
            ["noise_std", "kendall_tau", "mra_all", "mra_all_lo", "mra_all_hi", "mra_pareto", "hv_fraction"]
        ]
        lines += [f"## {_label(is_all, size)} candidates", "", markdown_table(tbl), ""]
    if not eq.empty:
        lines += [
            "## Perfectly measured candidates worth a predictor on all candidates",
            "",
            markdown_table(eq, floatfmt="{:.4g}"),
            "",
        ]
    lines += ["## Figures", ""] + [f"![{k}]({p.name})" for k, p in written.items() if p.suffix == ".png"]
    md = "\n".join(lines) + "\n"
    written["grid_md"] = write_text(out / "grid.md", md)
    written["grid_html"] = write_text(out / "grid.html", markdown_to_html(md, "Simulation grid", images))
    return written
