"""Study report: the seed study's figures, a mean +- std table, and one self-contained HTML page.

Figures (PNG + SVG, next to the tables):

- ``kendall_tau``: test Kendall tau against training-set size per predictor (mean over seeds,
  band = +- std when at most 6 predictors are drawn; the table has the std), one panel per
  dataset; the lookup table is a horizontal reference line.
- ``kendall_tau_centred``: the same minus the average over learning predictors at each size,
  which makes the ranking of families readable where all curves crowd near 1.
- ``spearman_unmeasured`` (studies with ``score_unmeasured: true``): Spearman over every
  architecture outside the training set, the few-shot transfer measure, against the size.
- ``fit_time``: fit time against training-set size (log-log).

Training-set size 0 (transfer families ranking from their sources alone) is in the tables only.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..experiment.report import (
    column_quantity,
    distinct_colours,
    figure_html,
    html_page,
    lines_block,
    markdown_table,
    plain_log_axis,
    pyplot,
    save_figure,
    writable_folder,
    write_csv,
    write_text,
)
from .answer import dataset_label, headline
from .store import ResultStore, open_store

log = logging.getLogger(__name__)

METRICS = [
    "kendall_tau",
    "spearman",
    "spearman_unmeasured",
    "pearson",
    "rmse",
    "dev_std",
    "fit_time_s",
    "tuning_time_s",
    "query_time_s",
]


@dataclass
class Report:
    out: Path
    html: Path
    figures: dict[str, list[Path]]
    table_csv: Path
    summary: pd.DataFrame
    health: object = None  # the store's Health: verified, damaged and missing cells
    cost: pd.DataFrame | None = None  # what each predictor's tau costs a selection (see predictor_costs)
    headline: tuple[str, ...] = ()  # what was studied and its answer (:mod:`.answer`), the report's opening


#: candidate counts at which the report states what a predictor's Kendall tau costs a selection
COST_CANDIDATES = (100, 1000, 10000)


def predictor_costs(summary: pd.DataFrame, candidates=COST_CANDIDATES, lookup=None) -> pd.DataFrame:
    """Expected MRA_all, MRA_pareto and HV fraction of a Pareto selection guided by each fitted
    predictor (its mean Kendall tau), from the published simulation summary.

    A predictor's own hardware table is looked up when the grid has it (over its accuracy
    datasets), otherwise every pair of the grid; ``lookup_pairs`` says which.
    """
    from ..simulation.expect import Lookup

    look = lookup or Lookup()
    rows = []
    for r in summary.itertuples(index=False):
        tau = float(r.kendall_tau_mean)
        if not math.isfinite(tau):
            continue
        hw = r.dataset if look.has_hardware(r.dataset) else None
        for c in candidates:
            e = look.expect(min(max(tau, 0.0), 1.0), c, hardware=hw)
            rows.append(
                {
                    "dataset": r.dataset,
                    "predictor": r.predictor,
                    "train_size": int(r.train_size),
                    "kendall_tau": tau,
                    "candidates": c,
                    **{f"{k}_expected": v.mean for k, v in e.metrics.items()},
                    "lookup_pairs": f"{len(e.pairs)} pair{'s' * (len(e.pairs) != 1)} of {r.dataset}"
                    if hw
                    else f"all {len(e.pairs)} pairs",
                    "outside_grid": bool(e.notes) or not 0.0 <= tau <= 1.0,
                }
            )
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (dataset, predictor, train size), with cell and failure counts."""
    ok = df[df["status"] == "ok"]
    keys = ["dataset", "predictor", "train_size"]
    if ok.empty:
        return pd.DataFrame(columns=keys + ["n_seeds"])
    g = ok.groupby(keys)
    mean = g[METRICS].mean().add_suffix("_mean")
    std = g[METRICS].std(ddof=1).fillna(0.0).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    out["n_seeds"] = g.size()
    failed = df[df["status"] != "ok"].groupby(keys).size()
    out["n_failed"] = failed.reindex(out.index).fillna(0).astype(int)
    ref = ok.groupby(keys)["reference"].first()
    out["reference"] = ref
    return out.reset_index()


def _colours(predictors: list[str]) -> dict[str, str]:
    from ..predictors import available

    order = [p for p in available() if p in predictors] + sorted(
        p for p in predictors if p not in available()
    )
    return distinct_colours(order)


_MARKERS = "osD^v<>pP*Xhd"


def _transfer_names() -> set[str]:
    from ..predictors import available_transfer

    return set(available_transfer())


def _panels(n: int):
    plt = pyplot()
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols + 2.2, 3.9 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _plot_metric(
    summary: pd.DataFrame, value: str, ylabel: str, title: str, centred: bool = False, logy: bool = False
):
    summary = summary[summary["train_size"] > 0]  # sources-only cells are in the tables, not on a log axis
    datasets = list(dict.fromkeys(summary["dataset"]))
    preds = list(dict.fromkeys(summary["predictor"]))
    colours = _colours(preds)
    fig, axes = _panels(len(datasets))
    handles = {}
    for ax, ds in zip(axes, datasets):
        sub = summary[summary["dataset"] == ds]
        learn = sub[~sub["reference"].astype(bool)]
        avg = learn.groupby("train_size")[f"{value}_mean"].mean() if centred else None
        for i, p in enumerate(preds):
            s = learn[learn["predictor"] == p].sort_values("train_size")
            if s.empty:
                continue
            x = s["train_size"].to_numpy(float)
            y = s[f"{value}_mean"].to_numpy(float)
            sd = s[f"{value}_std"].to_numpy(float)
            if centred:
                y = y - avg.reindex(s["train_size"]).to_numpy(float)
            transfer = p in _transfer_names()
            (ln,) = ax.plot(
                x,
                y,
                marker=_MARKERS[i % len(_MARKERS)],
                ms=3.5,
                lw=1.8 if transfer else 1.3,
                ls="--" if transfer else "-",  # transfer families (sources = other devices) dashed
                color=colours[p],
                label=p,
            )
            if len(s) > 1 and not logy and len(preds) <= 6:  # bands of many families hide the lines
                ax.fill_between(x, y - sd, y + sd, color=colours[p], alpha=0.10, lw=0)
            handles[f"{p} (transfer)" if transfer else p] = ln
        refs = sub[sub["reference"].astype(bool)]
        xs = sorted(learn["train_size"].unique()) if not learn.empty else sorted(sub["train_size"].unique())
        for p, r in refs.groupby("predictor"):
            level = float(r[f"{value}_mean"].mean())
            if centred and avg is not None and len(avg):
                ax.plot(
                    avg.index,
                    level - avg.to_numpy(float),
                    ls="--",
                    color="k",
                    lw=1.2,
                    label=f"{p} (reference)",
                )
                handles[f"{p} (reference)"] = ax.lines[-1]
            else:
                ln = ax.axhline(level, ls="--", color="k", lw=1.2, label=f"{p} (reference)")
                handles[f"{p} (reference, {int(r['train_size'].iloc[0])} archs)"] = ln
        if centred:
            ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        plain_log_axis(ax.xaxis, xs or None)  # the sizes themselves, no stray minor labels
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        if logy:
            plain_log_axis(ax.yaxis)
        ax.set_title(ds, fontsize=10)
        ax.set_xlabel("training-set size (architectures)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.legend(list(handles.values()), list(handles.keys()), loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 2.0 / fig.get_figwidth(), 0.96))
    return fig


def dataset_units(names) -> dict[str, str]:
    """Each study dataset's unit (e.g. ``ms``), "" where the dataset cannot be read here (a store
    copied from another machine still reports, with the unit left unnamed)."""
    from .cells import study_dataset

    units = {}
    for name in names:
        try:
            ds = study_dataset(name)
        except Exception:  # a missing or unreadable table only costs the unit label
            units[name] = ""
            continue
        units[name] = ds.unit or (column_quantity(ds.column) or ("", ""))[1]
    return units


def _fmt_table(summary: pd.DataFrame, units: dict[str, str] | None = None) -> pd.DataFrame:
    """The Markdown/HTML table: RMSE in the datasets' unit (in the header when they share one)."""

    def pm(m, s, nd=3):
        return f"{m:.{nd}f} ± {s:.{nd}f}"

    units = units or {}
    shared = set(units.get(d, "") for d in summary["dataset"])
    one_unit = shared.pop() if len(shared) == 1 else None
    rmse_header = f"RMSE ({one_unit})" if one_unit else "RMSE (dataset unit)"
    unmeasured = bool(summary["spearman_unmeasured_mean"].notna().any())
    rows = []
    for _, r in summary.iterrows():
        unit_col = {} if one_unit is not None else {"unit": units.get(r["dataset"], "") or "?"}
        extra = (
            {"Spearman, unmeasured": pm(r["spearman_unmeasured_mean"], r["spearman_unmeasured_std"])}
            if unmeasured
            else {}
        )
        rows.append(
            {
                "dataset": r["dataset"],
                **unit_col,
                "predictor": r["predictor"] + (" (ref)" if r["reference"] else ""),
                "train size": int(r["train_size"]),
                "seeds": int(r["n_seeds"]),
                "Kendall tau": pm(r["kendall_tau_mean"], r["kendall_tau_std"]),
                "Spearman": pm(r["spearman_mean"], r["spearman_std"]),
                **extra,
                rmse_header: pm(r["rmse_mean"], r["rmse_std"], 4),
                "dev std": pm(r["dev_std_mean"], r["dev_std_std"]),
                "fit (s)": pm(r["fit_time_s_mean"], r["fit_time_s_std"], 3),
                "tuning (s)": f"{r['tuning_time_s_mean']:.2f}",
                "query (ms)": f"{1000 * r['query_time_s_mean']:.2f}",
                "failed": int(r["n_failed"]),
            }
        )
    return pd.DataFrame(rows)


def write_report(store_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Report:
    """Figures (PNG+SVG), ``summary.csv``, ``summary.md`` and a self-contained ``report.html``.

    Parameters
    ----------
    store_dir : path
        A study store (``<output>/<name>``) or an output folder holding exactly one.
    out : path, optional
        Where to write the report; ``<store>/report`` by default.

    Returns
    -------
    Report
        The paths written and the mean +- std summary over seeds.
    """
    store: ResultStore = open_store(store_dir)
    found = store.scan()  # each cell file is read and verified once, for both
    health = store.health(found)
    df = store.read(found=found)
    if df.empty:
        raise DataError(
            f"{store.root} holds no finished cells yet; run the study first (hwpred study run CONFIG)"
        )
    meta = store.read_meta() or {}
    out = Path(out) if out else store.root / "report"
    writable_folder(out, "--out")
    summary = summarise(df)
    if summary.empty:
        raise DataError(
            f"every cell in {store.root} failed; nothing to plot (see the 'error' column: "
            f"{df['error'].iloc[0]})"
        )
    table_csv = write_csv(summary, out / "summary.csv")
    order = [d["name"] if isinstance(d, dict) else str(d) for d in meta.get("config", {}).get("datasets", [])]
    lines = tuple(headline(df, summary, order=order))
    units = dataset_units(summary["dataset"].unique())
    # shown under short labels (a file: table by its file name, not its possibly temporary path)
    shown = summary.assign(dataset=summary["dataset"].map(dataset_label))
    pretty = _fmt_table(shown, {dataset_label(k): v for k, v in units.items()})
    write_text(out / "summary.md", "\n\n".join(lines) + "\n\n" + markdown_table(pretty) + "\n")

    figures, embedded = {}, {}
    specs = [
        (
            "kendall_tau",
            dict(
                value="kendall_tau",
                ylabel="Kendall tau on the test set (dimensionless)",
                title="Kendall tau vs training-set size",
            ),
        ),
        (
            "kendall_tau_centred",
            dict(
                value="kendall_tau",
                ylabel="Kendall tau - predictor average (dimensionless)",
                title="Kendall tau centred on the average of the predictors",
                centred=True,
            ),
        ),
        (
            "fit_time",
            dict(value="fit_time_s", ylabel="fit time (s)", title="Fit time vs training-set size", logy=True),
        ),
    ]
    if summary["spearman_unmeasured_mean"].notna().any():
        specs.insert(
            1,
            (
                "spearman_unmeasured",
                dict(
                    value="spearman_unmeasured",
                    ylabel="Spearman over the unmeasured architectures",
                    title="Spearman over every architecture not measured vs training-set size",
                ),
            ),
        )
    for stem, kw in specs:
        fig = _plot_metric(shown, **kw)
        figures[stem], embedded[stem] = save_figure(fig, out / stem)

    cost = None
    try:
        cost = predictor_costs(summary)
        write_csv(cost, out / "cost.csv")
    except DataError as exc:  # no published simulation summary: the report is complete without it
        log.info("no selection cost in the report: %s", exc)
    failed = df[df["status"] != "ok"]
    html_path = write_text(
        out / "report.html", _html(meta, df, pretty, embedded, failed, health, cost, lines)
    )
    return Report(out, html_path, figures, table_csv, summary, health, cost, lines)


def _html(
    meta: dict,
    df: pd.DataFrame,
    pretty: pd.DataFrame,
    images: dict[str, str],
    failed: pd.DataFrame,
    health,
    cost: pd.DataFrame | None = None,
    lines: tuple[str, ...] = (),
) -> str:
    esc = html.escape
    name = meta.get("name", "study")
    versions = df["versions"].dropna().iloc[0] if df["versions"].notna().any() else "{}"
    hosts = ", ".join(sorted(df["host"].dropna().unique()))
    fail_html = ""
    if len(failed):
        fr = failed[["cell_id", "error"]].head(50)
        fail_html = f"<h2>Failed cells ({len(failed)})</h2>" + fr.to_html(index=False, escape=True, border=0)
    cfg = json.dumps(meta.get("config", {}), indent=1)
    body = (
        f"<h1>Predictor study <code>{esc(name)}</code></h1>\n"
        + "".join(f"<p><b>{esc(ln)}</b></p>\n" if i else f"<p>{esc(ln)}</p>\n" for i, ln in enumerate(lines))
        + f"<p>{len(df)} cells ({int((df['status'] == 'ok').sum())} ok, {len(failed)} failed) on "
        f"{df['dataset'].nunique()} dataset(s), {df['predictor'].nunique()} predictor(s), "
        f"{df['seed'].nunique()} seed(s). Config hash <code>{esc(str(meta.get('config_hash')))}</code>; "
        f"hosts: {esc(hosts)}.</p>\n<p>Store: {esc(health.summary('cells'))}.</p>\n"
        f"{figure_html(images)}\n"
        f"<h2>Mean ± std over seeds</h2>\n{pretty.to_html(index=False, escape=True, border=0)}\n"
        f"{_cost_html(cost)}{fail_html}\n{lines_block('Library versions', [versions])}\n"
        f"{lines_block('Config', cfg.splitlines())}"
    )
    return html_page(f"hwpred study {name}", body)


def _cost_html(cost: pd.DataFrame | None) -> str:
    if cost is None or cost.empty:
        return ""
    return (
        "<h2>What each predictor's Kendall tau costs a Pareto selection</h2>\n"
        "<p>Expected accuracy lost (MRA, percentage points) and hypervolume fraction, interpolated "
        "from the published simulation grid (<code>hwpred simulate expect</code>).</p>\n"
        + cost.round(3).to_html(index=False, escape=True, border=0)
        + "\n"
    )


def format_costs(cost: pd.DataFrame) -> str:
    """One line per fitted predictor: MRA_pareto and HV fraction at each candidate count."""
    lines = []
    for (ds, pred, n), g in cost.groupby(["dataset", "predictor", "train_size"], sort=False):
        parts = ", ".join(
            f"{int(r.candidates)}: MRA_pareto {r.mra_pareto_expected:.2f} pp, HV {r.hv_fraction_expected:.3f}"
            for r in g.itertuples(index=False)
        )
        flag = " (tau outside the grid: at its edge)" if g["outside_grid"].any() else ""
        lines.append(f"{ds} {pred} n={n} tau {g['kendall_tau'].iloc[0]:.3f} -> {parts}{flag}")
    return "\n".join(lines)
