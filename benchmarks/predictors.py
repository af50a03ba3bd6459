"""Predictor benchmark of issue 3: every family on HELP NB201 latency tables, default and Optuna-tuned.

For each (family, dataset, train size, seed, mode) cell: fit on a random training set of that
size (nested across sizes for a seed), predict a fixed 625-architecture test set, and record the
test Kendall tau, Spearman rho, the fit time (for ``tuned``: the Optuna search + refit) and the
query time for the 625 test architectures (best of 3 calls, encoding included). The Lookup
Table is fitted from its required architectures (baseline + one-edit neighbours, 25 for NB201)
whatever the train size; its ``n_fit`` column says so.

Rows are appended to a CSV as soon as each cell finishes; a rerun skips cells already there
(``--retry-errors`` redoes failed ones), so the benchmark can be run in parts and resumed.
At the end it prints a markdown table (mean +- sd over seeds) and checks the issue's targets.

    export HWPRED_DATA_MIRROR=/work/shared/datasets
    python benchmarks/predictors.py                                  # everything (heavy)
    python benchmarks/predictors.py --trials 0 --sizes 25,100,1000   # default hyper-parameters only
    python benchmarks/predictors.py --families gcn,xgb --datasets help:raspi4 --sizes 100 --seeds 0 --trials 30
    python benchmarks/predictors.py --report-only                   # table + targets from the CSV
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATASETS = ("help:raspi4", "help:pixel3", "help:gold_6226")
DEFAULT_SIZES = (25, 100, 1000)
DEFAULT_SEEDS = (0, 1, 2)
N_TEST = 625
TEST_SEED = 20240625  # the fixed test set does not depend on the run's seeds
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "predictors.csv"


@dataclass
class Row:
    family: str
    dataset: str
    n_train: int
    seed: int
    mode: str  # "default" or "tuned"
    n_trials: int  # Optuna trials actually completed (a --timeout can cut the requested budget)
    n_fit: int  # architectures the model was actually fitted on (the LUT: its required set)
    tau: float
    spearman: float
    fit_s: float
    query_ms: float
    best_params: str  # JSON
    note: str
    error: str
    finished: str
    # CPU seconds of this process (wall time above is inflated when other jobs share the cores)
    fit_cpu_s: float = float("nan")
    query_cpu_ms: float = float("nan")

    def key(self) -> tuple:
        return (self.family, self.dataset, int(self.n_train), int(self.seed), self.mode)


COLUMNS = [f.name for f in fields(Row)]


# ---- data ---------------------------------------------------------------------------------------

@dataclass
class Split:
    archs: np.ndarray
    y: np.ndarray
    test: np.ndarray  # row indices of the fixed test set
    pool: np.ndarray  # row indices training sets are drawn from
    index: dict  # op tuple -> row

    def train_rows(self, n: int, seed: int) -> np.ndarray:
        """First ``n`` of a seed's permutation of the pool: nested across sizes for one seed."""
        if n > len(self.pool):
            raise SystemExit(f"train size {n} exceeds the {len(self.pool)} architectures outside the test set")
        return np.random.default_rng(seed).permutation(self.pool)[:n]


def load_split(dataset: str) -> Split:
    from hwpred.data import load_dataset

    archs, y = load_dataset(dataset).arrays()
    archs = np.asarray(archs, dtype=np.int64)
    order = np.lexsort(archs.T[::-1])  # canonical row order, independent of the table's storage order
    archs, y = archs[order], np.asarray(y, dtype=np.float64)[order]
    perm = np.random.default_rng(TEST_SEED).permutation(len(y))
    return Split(archs, y, np.sort(perm[:N_TEST]), np.sort(perm[N_TEST:]),
                 {tuple(a): i for i, a in enumerate(archs.tolist())})


def training_rows(family: str, split: Split, n: int, seed: int) -> np.ndarray:
    """The rows a family is fitted on: the Lookup Table's required architectures, else the seed's first n."""
    if family == "lut":
        from hwpred.predictors import get_class

        return np.array([split.index[tuple(a)] for a in get_class("lut").required_archs("nb201")])
    return split.train_rows(n, seed)


# ---- one cell -----------------------------------------------------------------------------------

def run_cell(family: str, dataset: str, split: Split, n: int, seed: int, trials: int, timeout: float | None,
             overrides: dict) -> Row:
    from hwpred.metrics import kendall_tau, spearman
    from hwpred.predictors import create
    from hwpred.tuning import tune

    mode = "tuned" if trials > 0 else "default"
    rows = training_rows(family, split, n, seed)
    a, y = split.archs[rows], split.y[rows]
    params = {"random_state": seed, **overrides.get(family, {})}
    note, best, done = "", {}, 0
    t0, c0 = time.perf_counter(), time.process_time()
    if trials > 0:
        res = tune(create(family, **params), a, y, n_trials=trials, timeout=timeout, seed=seed)
        pred_model, best, done = res.predictor, res.best_params, res.n_trials
        note = res.note or (f"{done} of {trials} trials (timeout {timeout:g} s), cv tau {res.cv_score:.3f}"
                            if done < trials and timeout else f"cv tau {res.cv_score:.3f}")
    else:
        pred_model = create(family, **params).fit(a, y)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    test = split.archs[split.test]
    times, cpu = [], []
    for _ in range(3):
        t1, c1 = time.perf_counter(), time.process_time()
        pred = pred_model.predict(test)
        times.append(time.perf_counter() - t1)
        cpu.append(time.process_time() - c1)
    yt = split.y[split.test]
    return Row(family, dataset, n, seed, mode, done, len(rows), float(kendall_tau(yt, pred)),
               float(spearman(yt, pred)), fit_s, 1000 * min(times), json.dumps(best, default=str), note, "",
               _now(), fit_cpu, 1000 * min(cpu))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- results file (append-only CSV, resumable) ----------------------------------------------------

def read_rows(path: Path) -> list[Row]:
    if not path.is_file():
        return []
    out = []
    with path.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            try:
                out.append(Row(rec["family"], rec["dataset"], int(rec["n_train"]), int(rec["seed"]), rec["mode"],
                               int(rec["n_trials"]), int(rec["n_fit"]), _f(rec["tau"]), _f(rec["spearman"]),
                               _f(rec["fit_s"]), _f(rec["query_ms"]), rec["best_params"], rec["note"], rec["error"],
                               rec["finished"], _f(rec.get("fit_cpu_s")), _f(rec.get("query_cpu_ms"))))
            except (KeyError, ValueError):
                continue  # a line cut short by an interrupted run: that cell is simply redone
    return out


def _f(v: str | None) -> float:
    return float(v) if v not in (None, "", "nan") else float("nan")


def append_row(path: Path, row: Row) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file() or path.stat().st_size == 0
    if not new:
        _upgrade_header(path)
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerow(asdict(row))
        fh.flush()
        os.fsync(fh.fileno())


def _upgrade_header(path: Path) -> None:
    """A CSV written before columns were added: rewrite its header (old rows just lack the new fields)."""
    with path.open(newline="") as fh:
        head = next(csv.reader(fh), [])
    if head == COLUMNS or head[:len(COLUMNS)] == COLUMNS:
        return
    if COLUMNS[:len(head)] != head:
        raise SystemExit(f"{path} has columns {head}, not this benchmark's; use another --out")
    lines = path.read_text().splitlines(keepends=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(",".join(COLUMNS) + "\n" + "".join(lines[1:]))
    os.replace(tmp, path)


def latest(rows: list[Row]) -> dict[tuple, Row]:
    """Last record per cell (a retried cell's newer row wins)."""
    return {r.key(): r for r in rows}


# ---- report -------------------------------------------------------------------------------------

def summarise(rows: list[Row]):
    import pandas as pd

    ok = [asdict(r) for r in latest(rows).values() if not r.error]
    if not ok:
        return pd.DataFrame()
    df = pd.DataFrame(ok)
    g = df.groupby(["dataset", "mode", "n_train", "family"])
    return g.agg(tau=("tau", "mean"), tau_sd=("tau", "std"), seeds=("seed", "nunique"), fit_s=("fit_s", "mean"),
                 fit_cpu_s=("fit_cpu_s", "mean"), query_ms=("query_ms", "mean"),
                 query_cpu_ms=("query_cpu_ms", "mean")).reset_index()


def markdown(summary) -> str:
    if summary.empty:
        return "(no results yet)\n"
    lines = []
    for (dataset, mode), part in summary.groupby(["dataset", "mode"], sort=True):
        sizes = sorted(part["n_train"].unique())
        lines.append(f"\n**{dataset}, {mode} hyper-parameters** — test Kendall tau (mean ± sd over seeds), "
                     "fit s / query ms for 625 archs (means)\n")
        head = "| family | " + " | ".join(f"tau @{n}" for n in sizes) + " | " + \
            " | ".join(f"fit s @{n}" for n in sizes) + " | query ms wall / CPU | seeds |"
        lines += [head, "|" + "---|" * (2 + 2 * len(sizes) + 1)]
        fams = part.groupby("family")["tau"].mean().sort_values(ascending=False).index
        for fam in fams:
            sub = part[part["family"] == fam].set_index("n_train")
            taus, fits = [], []
            for n in sizes:
                if n in sub.index:
                    r = sub.loc[n]
                    sd = "" if np.isnan(r["tau_sd"]) else f" ± {r['tau_sd']:.3f}"
                    taus.append(f"{r['tau']:.3f}{sd}")
                    fits.append(f"{r['fit_s']:.2f}")
                else:
                    taus.append("–")
                    fits.append("–")
            seeds = "/".join(str(int(s)) for s in sub["seeds"])
            lines.append(f"| {fam} | " + " | ".join(taus) + " | " + " | ".join(fits) +
                         f" | {sub['query_ms'].max():.1f} / {sub['query_cpu_ms'].max():.1f} | {seeds} |")
    return "\n".join(lines) + "\n"


def check_targets(summary) -> list[str]:
    """The issue's targets, each with PASS/FAIL/NOT MEASURED and the numbers behind it."""
    out = []
    if summary.empty:
        return ["no results"]
    d = summary[(summary["mode"] == "default")]
    r = d[(d["dataset"] == "help:raspi4") & (d["n_train"] == 1000)]
    if r.empty or "lut" not in set(r["family"]):
        out.append("NOT MEASURED: every learning family beats the LUT on help:raspi4 at 1,000")
    else:
        lut = float(r[r["family"] == "lut"]["tau"].iloc[0])
        losers = r[(r["family"] != "lut") & (r["tau"] <= lut)]
        status = "PASS" if losers.empty else "FAIL"
        detail = ", ".join(f"{f} {t:.3f}" for f, t in zip(losers["family"], losers["tau"])) or "none"
        out.append(f"{status}: every learning family beats the LUT (tau {lut:.3f}) on help:raspi4 at 1,000 "
                   f"(default hyper-parameters; {len(r) - 1} families measured; at or below the LUT: {detail})")
    for ds in ("help:raspi4", "help:pixel3"):
        s = summary[(summary["dataset"] == ds) & (summary["n_train"] == 1000)]
        if s.empty:
            out.append(f"NOT MEASURED: best tau >= 0.90 on {ds} at 1,000")
            continue
        best = s.loc[s["tau"].idxmax()]
        status = "PASS" if best["tau"] >= 0.90 else "FAIL"
        out.append(f"{status}: best tau on {ds} at 1,000 = {best['tau']:.3f} ({best['family']}, {best['mode']})")
    for col, what in (("query_ms", "wall-clock"), ("query_cpu_ms", "CPU time")):
        known = summary.dropna(subset=[col])
        if known.empty:
            out.append(f"NOT MEASURED: query < 50 ms for 625 archs ({what})")
            continue
        slow = known[known[col] >= 50]
        status = "PASS" if slow.empty else "FAIL"
        worst = known.loc[known[col].idxmax()]
        out.append(f"{status}: query < 50 ms for 625 archs, {what} (slowest: {worst['family']} {worst[col]:.1f} ms"
                   + (f"; at or over 50 ms: {sorted(set(slow['family']))}" if not slow.empty else "") + ")")
    return out


def plot(summary, out_dir: Path) -> list[Path]:
    """Tau vs train size per dataset (default hyper-parameters), PNG + SVG next to the CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = summary[summary["mode"] == "default"]
    if d.empty:
        return []
    datasets = sorted(d["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False, sharey=True)
    for ax, ds in zip(axes[0], datasets):
        part = d[d["dataset"] == ds]
        for fam, sub in part.groupby("family"):
            sub = sub.sort_values("n_train")
            style = dict(color="black", linestyle="--", linewidth=2) if fam == "lut" else {}
            ax.plot(sub["n_train"], sub["tau"], marker="o", label=fam, **style)
        ax.set_xscale("log")
        ax.set_title(ds)
        ax.set_xlabel("training architectures")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test Kendall tau (625 archs)")
    axes[0][-1].legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        p = out_dir / f"predictors_tau.{ext}"
        fig.savefig(p, dpi=120)
        paths.append(p)
    plt.close(fig)
    return paths


# ---- main ---------------------------------------------------------------------------------------

def _csv_list(text: str, cast=str) -> list:
    return [cast(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    from hwpred.predictors import available

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", default=",".join(available()), help="comma-separated family names")
    ap.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    ap.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)))
    ap.add_argument("--trials", default="0,30",
                    help="comma-separated Optuna budgets; 0 = default hyper-parameters (default: 0,30)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per tuning search (default: none)")
    ap.add_argument("--params", default="{}",
                    help='JSON {family: {param: value}} overrides, e.g. \'{"gcn": {"epochs": 50}}\'')
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results CSV (appended to, resumable)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: shared machines)")
    ap.add_argument("--retry-errors", action="store_true", help="redo cells whose previous run failed")
    ap.add_argument("--report-only", action="store_true", help="print the table and targets from --out")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)

    families = _csv_list(args.families)
    unknown = sorted(set(families) - set(available()))
    if unknown:
        ap.error(f"unknown families {unknown}; available: {available()}")
    overrides = json.loads(args.params)
    done = latest(read_rows(args.out))
    if not args.report_only:
        import torch
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        torch.set_num_threads(args.threads)
        cells = [(ds, t, n, s, f) for ds in _csv_list(args.datasets) for t in _csv_list(args.trials, int)
                 for n in _csv_list(args.sizes, int) for s in _csv_list(args.seeds, int) for f in families]

        def pending(c) -> bool:
            ds, t, n, s, f = c
            prev = done.get((f, ds, n, s, "tuned" if t > 0 else "default"))
            return prev is None or (args.retry_errors and bool(prev.error))

        todo = [c for c in cells if pending(c)]
        print(f"{len(cells)} cells, {len(cells) - len(todo)} already in {args.out}, {len(todo)} to run")
        splits: dict[str, Split] = {}
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
            task = bar.add_task("predictors", total=len(todo))
            for ds, t, n, s, f in todo:
                bar.update(task, description=f"{f} {ds} n={n} seed={s} trials={t}")
                if ds not in splits:
                    splits[ds] = load_split(ds)
                try:
                    row = run_cell(f, ds, splits[ds], n, s, t, args.timeout, overrides)
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # record and go on: one broken family must not stop the grid
                    row = Row(f, ds, n, s, "tuned" if t > 0 else "default", t, 0, float("nan"), float("nan"),
                              float("nan"), float("nan"), "{}", "", f"{type(exc).__name__}: {exc}", _now())
                    bar.console.print(f"[red]{f} {ds} n={n} seed={s}: {row.error}[/red]")
                    if os.environ.get("HWPRED_BENCH_TRACEBACK"):
                        traceback.print_exc()
                append_row(args.out, row)
                if not row.error:
                    bar.console.print(f"{f:10s} {ds:16s} n={n:<5d} seed={s} {row.mode:7s} tau={row.tau:.3f} "
                                      f"fit={row.fit_s:.2f}s query={row.query_ms:.1f}ms (cpu {row.query_cpu_ms:.1f})")
                bar.advance(task)
    rows = read_rows(args.out)
    summary = summarise(rows)
    print(markdown(summary))
    errors = [r for r in latest(rows).values() if r.error]
    if errors:
        print(f"{len(errors)} failed cells, e.g. {errors[0].family} {errors[0].dataset} n={errors[0].n_train}: "
              f"{errors[0].error}")
    print("Targets:")
    for line in check_targets(summary):
        print("  " + line)
    if not args.no_plot and not summary.empty:
        for p in plot(summary, args.out.parent):
            print(f"figure: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
