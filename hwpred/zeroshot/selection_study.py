"""Selection when both objectives are estimated: a zero-shot score for accuracy, a noisy
hardware predictor for the metric.

The simulation core keeps the values selection sees apart from the values evaluation uses;
here the accuracy the selection sees is a zero-shot score column (only its ranking matters to
a Pareto selection), while MRA and hypervolume are computed with the benchmark's true
accuracy. To compare accuracy sources fairly, every source (and the true-accuracy reference)
is simulated on the same architectures: those with every requested score finite.

    hwpred zeroshot select --scores-table zs.parquet --accuracy nats:cifar10 --hardware help:raspi4 \
        --sources naswot/digits,synflow/digits,ensemble-naswot+synflow/digits --out results/zs-select
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.table import MetricTable
from ..errors import ConfigError, DataError
from ..experiment import float_list, int_list, pyplot, save_figure, write_csv
from ..metrics import kendall_tau
from ..simulation import parse_config, run_simulation

TRUE = "true accuracy"


@dataclass
class SelectionStudy:
    """What to simulate: accuracy sources x hardware noise std x subset size."""

    scores_table: Path  # MetricTable with the zero-shot score columns
    sources: tuple[str, ...]  # score columns of that table used as the selection-side accuracy
    accuracy: str = "nats:cifar10"  # dataset of the true (evaluation) accuracy
    hardware: tuple[str, ...] = ("help:raspi4",)
    subset_sizes: tuple[int | str, ...] = (50, 100, "all")
    noise_stds: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    trials: int = 200
    seed: int = 0
    output: Path = Path("results/zeroshot-selection")
    name: str = "zeroshot-selection"


def _load_accuracy(name: str) -> MetricTable:
    from ..data import load_dataset

    ds = load_dataset(name)
    return ds.table.select([ds.column])


def prepare_universe(study: SelectionStudy) -> tuple[Path, dict[str, str], pd.DataFrame]:
    """Write the shared-architecture table: the score columns and the true accuracy.

    Returns its path, {source label: column} and each source's Kendall tau with the true
    accuracy over the shared architectures (the quality of the accuracy estimate).
    """
    scores = MetricTable.read_parquet(study.scores_table)
    for s in study.sources:
        if s not in scores.columns:
            raise ConfigError(
                f"score column {s!r} is not in {study.scores_table}; columns: {', '.join(scores.columns)}"
            )
    acc = _load_accuracy(study.accuracy)
    acc_col = acc.column_names[0]
    true_col = f"true/{acc_col}"
    joined = scores.select(list(study.sources)).join(acc.rename({acc_col: true_col}))
    if len(joined) < 3:
        raise DataError(
            f"only {len(joined)} scored architectures have {study.accuracy} accuracy; score more cells"
        )
    out = Path(study.output) / study.name
    out.mkdir(parents=True, exist_ok=True)
    universe = out / "universe.parquet"
    units = {true_col: acc.units.get(acc_col, "%")}
    meta = {
        "source": "hwpred.zeroshot.selection_study",
        "scores_table": str(study.scores_table),
        "accuracy": study.accuracy,
    }
    MetricTable(joined.space, joined.archs, joined.columns, meta, units).to_parquet(universe)
    y = joined.column(true_col)
    quality = pd.DataFrame(
        [
            {"source": s, "kendall_tau_vs_true": kendall_tau(y, joined.column(s)), "n": len(joined)}
            for s in study.sources
        ]
        + [{"source": TRUE, "kendall_tau_vs_true": 1.0, "n": len(joined)}]
    )
    return universe, {**{s: s for s in study.sources}, TRUE: true_col}, quality


def make_config(study: SelectionStudy, universe: Path, columns: dict[str, str]):
    """The simulation-core grid: one pair per (source, hardware) on the shared architectures."""
    pairs = [
        {
            "accuracy": f"file:{universe}#{columns[TRUE]}",
            "hardware": list(study.hardware),
            "selection_accuracy": f"file:{universe}#{col}",
        }
        for col in columns.values()
    ]
    doc = {
        "name": study.name + "-grid",
        "pairs": pairs,
        "subset_sizes": list(study.subset_sizes),
        "noise_stds": list(study.noise_stds),
        "trials": int(study.trials),
        "seed": int(study.seed),
        "output": str(Path(study.output) / study.name),
        "accuracy_scale": "auto",
        "example": {"pair": 0, "subset_size": "all", "noise_std": float(max(study.noise_stds))},
    }
    return parse_config(doc, f"zero-shot selection study {study.name}")


def source_label(selection_accuracy: str, columns: dict[str, str]) -> str:
    col = str(selection_accuracy).rsplit("#", 1)[-1]
    for label, c in columns.items():
        if c == col:
            return label
    return col


def summarize(results: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Mean MRA_pareto, hypervolume fraction and hardware Kendall tau per source, size, noise."""
    df = results.copy()
    df["source"] = [source_label(s, columns) for s in df["selection_accuracy"]]
    g = df.groupby(["source", "hardware", "subset_size", "noise_std"], sort=True)
    out = g.agg(
        kendall_tau=("kendall_tau", "mean"),
        kendall_tau_acc=("kendall_tau_acc", "mean"),
        mra_pareto=("mra_pareto", "mean"),
        mra_pareto_q25=("mra_pareto", lambda x: np.nanquantile(x, 0.25)),
        mra_pareto_q75=("mra_pareto", lambda x: np.nanquantile(x, 0.75)),
        mra_all=("mra_all", "mean"),
        hv_fraction=("hv_fraction", "mean"),
        trials=("trial", "size"),
    ).reset_index()
    return out


def loss_comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """Which loses more: the zero-shot score alone or the hardware predictor alone?

    Score alone: the source with a perfect hardware metric (noise 0). Predictor alone: the
    true accuracy with hardware noise std s, for every simulated s > 0. Both on the same
    architectures and subsets; MRA in percentage points of accuracy, hypervolume as the
    fraction of the true front's.
    """
    rows = []
    for (hw, size), grp in summary.groupby(["hardware", "subset_size"]):
        ref = grp[grp["source"] == TRUE].set_index("noise_std")
        for src, sg in grp[grp["source"] != TRUE].groupby("source"):
            sg = sg.set_index("noise_std")
            if 0.0 not in sg.index:
                continue
            for noise in sorted(n for n in ref.index if n > 0):
                score_loss = float(sg.loc[0.0, "mra_pareto"])
                pred_loss = float(ref.loc[noise, "mra_pareto"])
                rows.append(
                    {
                        "hardware": hw,
                        "subset_size": int(size),
                        "source": src,
                        "predictor_noise_std": noise,
                        "predictor_kendall_tau": float(ref.loc[noise, "kendall_tau"]),
                        "score_alone_mra_pareto": score_loss,
                        "predictor_alone_mra_pareto": pred_loss,
                        "both_mra_pareto": float(sg.loc[noise, "mra_pareto"])
                        if noise in sg.index
                        else np.nan,
                        "score_alone_mra_all": float(sg.loc[0.0, "mra_all"]),
                        "predictor_alone_mra_all": float(ref.loc[noise, "mra_all"]),
                        "score_alone_hv_fraction": float(sg.loc[0.0, "hv_fraction"]),
                        "predictor_alone_hv_fraction": float(ref.loc[noise, "hv_fraction"]),
                        "larger_loss": "zero-shot score" if score_loss > pred_loss else "hardware predictor",
                    }
                )
    return pd.DataFrame(rows)


def plot(summary: pd.DataFrame, stem: Path) -> list[Path]:
    """MRA_pareto against the hardware predictor's Kendall tau, one line per accuracy source."""
    plt = pyplot()
    sizes = sorted(summary["subset_size"].unique())
    hws = sorted(summary["hardware"].unique())
    fig, axes = plt.subplots(len(hws), len(sizes), figsize=(4.2 * len(sizes), 3.4 * len(hws)), squeeze=False)
    for i, hw in enumerate(hws):
        for j, size in enumerate(sizes):
            ax = axes[i][j]
            part = summary[(summary["hardware"] == hw) & (summary["subset_size"] == size)]
            for src, sg in part.groupby("source"):
                sg = sg.sort_values("kendall_tau")
                style = dict(color="black", lw=2.2) if src == TRUE else {}
                (line,) = ax.plot(sg["kendall_tau"], sg["mra_pareto"], marker="o", ms=3, label=src, **style)
                ax.fill_between(
                    sg["kendall_tau"],
                    sg["mra_pareto_q25"],
                    sg["mra_pareto_q75"],
                    alpha=0.08,
                    color=line.get_color(),
                    lw=0,
                )
            ax.set_title(f"{hw}, {size} candidates", fontsize=9)
            ax.set_xlabel("hardware predictor Kendall tau")
            ax.set_ylabel("MRA_pareto (accuracy pp)")
            ax.invert_xaxis()
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, stem, dpi=110, tight=True)[0]


@dataclass
class SelectionReport:
    summary: pd.DataFrame
    losses: pd.DataFrame
    quality: pd.DataFrame
    files: list[Path]


def run_selection_study(study: SelectionStudy, progress: bool = True, workers: int = 1) -> SelectionReport:
    """Build the shared universe, run the simulation grid (resumable), summarise and plot."""
    if not study.sources:
        raise ConfigError("name at least one zero-shot score column as an accuracy source")
    universe, columns, quality = prepare_universe(study)
    cfg = make_config(study, universe, columns)
    store = run_simulation(cfg, workers=workers, progress=progress)
    results = store.read()
    summary = summarize(results, columns)
    losses = loss_comparison(summary)
    out = Path(study.output) / study.name
    files = []
    for name, df in (("summary", summary), ("losses", losses), ("source_quality", quality)):
        files.append(write_csv(df, out / f"{name}.csv"))
    files += plot(summary, out / "mra_pareto_vs_tau")
    return SelectionReport(summary, losses, quality, files)


def format_report(rep: SelectionReport) -> str:
    """Plain-text lines: per source, MRA_pareto at each hardware Kendall tau."""
    lines = ["accuracy source quality (Kendall tau with the true accuracy over the shared architectures):"]
    for r in rep.quality.itertuples(index=False):
        lines.append(f"  {r.source:40s} tau={r.kendall_tau_vs_true:.3f} (n={r.n})")
    for (hw, size), grp in rep.summary.groupby(["hardware", "subset_size"]):
        lines.append(f"\nMRA_pareto (pp) vs hardware predictor Kendall tau, {hw}, {size} candidates:")
        noises = sorted(grp["noise_std"].unique())
        taus = [grp[np.isclose(grp["noise_std"], s)]["kendall_tau"].mean() for s in noises]
        lines.append("  " + " " * 40 + " ".join(f"{t:6.3f}" for t in taus))
        for src, sg in grp.groupby("source"):
            vals = [sg[np.isclose(sg["noise_std"], s)]["mra_pareto"].mean() for s in noises]
            lines.append(f"  {src:40s}" + " ".join(f"{v:6.2f}" for v in vals))
    if len(rep.losses):
        lines.append("\nscore alone (hw noise 0) vs hardware predictor alone (true accuracy, noisy hw):")
        for (hw, size, src), g in rep.losses.groupby(["hardware", "subset_size", "source"]):
            g = g.sort_values("predictor_kendall_tau", ascending=False)
            worse = g[g["larger_loss"] == "hardware predictor"]
            even = (
                f"the predictor alone loses more from tau {worse['predictor_kendall_tau'].iloc[0]:.2f} down"
                if len(worse)
                else "the score loses more at every simulated tau"
            )
            r0 = g.iloc[0]
            lines.append(
                f"  {hw} n={size} {src}: score alone MRA_pareto {r0.score_alone_mra_pareto:.2f} pp, "
                f"MRA_all {r0.score_alone_mra_all:.2f} pp, HV {r0.score_alone_hv_fraction:.3f}; {even}"
            )
    return "\n".join(lines)


def _number(v):
    """``v`` as an int or a float when it is text that reads as one, else ``v`` itself."""
    if isinstance(v, str):
        v = v.strip()
        for number in (int, float):
            try:
                return number(v)
            except ValueError:
                pass
    return v


def _entries(text: str | Sequence) -> list:
    """Comma-separated text (or a list), numbers parsed, for the shared list validators."""
    return [_number(v) for v in (text.split(",") if isinstance(text, str) else list(text))]


def parse_sizes(
    text: str | Sequence, key: str = "subset_sizes", source: str = "<arguments>"
) -> tuple[int | str, ...]:
    """Subset sizes such as ``"50,100,all"``: integers >= 1 or ``all``, each once."""
    return int_list(_entries(text), key, source, minimum=1, words=("all",))


def parse_floats(text: str | Sequence, key: str, source: str = "<arguments>") -> tuple[float, ...]:
    """Noise standard deviations such as ``"0,0.1,0.5"``: numbers >= 0, each once."""
    return float_list(_entries(text), key, source, minimum=0.0)


def default_output() -> Path:
    return Path(os.environ.get("HWPRED_RESULTS", "results")) / "zeroshot-selection"
