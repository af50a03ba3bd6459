"""Repeatability and speed of the measurement harness on this CPU.

``--n`` random NAS-Bench-201 cells (batch 1, 1 thread) in two interleaved, independent passes:
Kendall tau between the passes (the noise floor), where they disagree, the spread of repeats and
the throughput, and a figure of pass 1 against pass 2 (with ``torch.utils.benchmark.Timer``'s
passes once ``measure_timer_budget.py`` has timed the same cells; ``--plot-only`` redraws it).
The run resumes from its journal in ``--out-dir``; a journal carried from another machine starts
it (``--journal-from``). How the agreement grows with ``--rounds`` is ``measure_sweeps.py``.

    python benchmarks/measure.py --n 500 --repeats 10 --warmup 2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import OURS_TABLE, pair_class_line, timer_results

from hwpred.data import MetricTable
from hwpred.measure import (
    MeasureConfig,
    RepeatPolicy,
    carry_journal,
    describe_device,
    measure_space,
    pair_classes,
    pass2_column,
    pass_agreement,
    rank_agreement,
)

FIGURES = {
    "latency_ms": "wall-clock latency (median)",
    "cpu_time_ms": "thread CPU time (median)",
    "rel_latency": "paired: median ratio to reference",
    "rel_latency_q10": "paired: ratio of 10th percentiles",
}


def ours(args, out_dir: Path) -> dict:
    cfg = MeasureConfig(
        space="nb201",
        device="cpu",
        threads=1,
        batch_size=1,
        two_pass=True,
        seed=args.seed,
        policy=RepeatPolicy(repeats=args.repeats, warmup=args.warmup),
        reference_every=50,
        paired_reference=args.paired,
        rounds=args.rounds,
    )
    out = out_dir / OURS_TABLE
    t = measure_space(cfg, limit=args.n, out=out, resume=True, progress=True).table
    tag = cfg.resolved().tag
    figures = [f for f in FIGURES if f"{tag}/{f}" in t.columns]
    col = {f: (t.column(f"{tag}/{f}"), t.column(f"{tag}/{pass2_column(f)}")) for f in figures}
    wall, ref, jobs = t.meta["measure"]["wall_s"], t.meta["reference"], 2 * args.rounds * len(t)
    cv = t.column(f"{tag}/latency_std_ms") / t.column(f"{tag}/latency_mean_ms")
    return {
        "rows": len(t),
        "agreement": {f: pass_agreement(t, f"{tag}/{f}") for f in figures},
        "pair_classes": {
            f: pair_classes(t.arch_tuples, *col[f]) for f in ("latency_ms", "rel_latency_q10") if f in col
        },
        "median_cv_within_arch": float(np.median(cv)),
        "wall_s": wall,
        "jobs": jobs,
        "rounds": args.rounds,
        "jobs_per_min": jobs / wall * 60 if wall else None,
        "latency_ms_median": float(np.median(col["latency_ms"][0])),
        "reference_drift_rel": ref.get("drift_rel"),
        "reference_range_rel": ref.get("range_rel"),
        "failed": len(t.meta["failed"]),
        "table": str(out),
    }


def plot(out_dir: Path) -> list[Path]:
    """Pass 1 against pass 2 of each figure (and of the Timer), PNG + SVG next to the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    t = MetricTable.read_parquet(out_dir / OURS_TABLE)
    tag = t.column_names[0].split("/")[0]
    data = {
        name: (t.column(f"{tag}/{f}"), t.column(f"{tag}/{pass2_column(f)}"))
        for f, name in FIGURES.items()
        if f"{tag}/{f}" in t.columns
    }
    timer = timer_results(out_dir)
    both = [a for a in t.arch_tuples if len(timer.get(a, {})) == 2]  # the Timer's cells done in both passes
    if len(both) >= 2:
        data[f"torch Timer, equal budget ({len(both)} cells)"] = tuple(
            np.array([timer[a][p] for a in both]) for p in (0, 1)
        )
    fig, axes = plt.subplots(1, len(data), figsize=(4.5 * len(data), 4.5))
    for ax, (name, (x, y)) in zip(np.atleast_1d(axes), data.items()):
        ax.scatter(x, y, s=6, alpha=0.6)
        ax.plot(*[[min(x.min(), y.min()), max(x.max(), y.max())]] * 2, color="grey", lw=0.8)
        unit = "" if name.startswith("paired") else " (ms)"
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="pass 1" + unit,
            ylabel="pass 2" + unit,
            title=f"{name}: tau {rank_agreement(x, y)['tau']:.3f}",
        )
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(NullFormatter())
            axis.set_major_formatter(ScalarFormatter())
    fig.suptitle(
        f"{len(t)} NAS-Bench-201 cells, two independent passes, {t.meta['device']['cpu_model']}, "
        "batch 1, 1 thread",
        fontsize=9,
    )
    fig.tight_layout()
    outs = [out_dir / "passes.png", out_dir / "passes.svg"]
    for o in outs:
        fig.savefig(o, dpi=130)
    plt.close(fig)
    return outs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 500), ("--repeats", 10), ("--warmup", 2), ("--seed", 0), ("--rounds", 1)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out-dir", default="results/measure/bench")
    for flag, what in (
        ("--paired", "the harness with paired_reference=True"),
        ("--plot-only", "only redraw the figure"),
    ):
        ap.add_argument(flag, action="store_true", help=what)
    ap.add_argument("--journal-from", metavar="FILE", help="start the harness's journal from FILE (.gz too)")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.journal_from and carry_journal(args.journal_from, out_dir / OURS_TABLE):
        print(f"journal started from {args.journal_from}")
    if args.plot_only:
        print("wrote", *plot(out_dir))
        return 0
    torch.set_num_threads(1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    a = ours(args, out_dir)
    print(
        f"hwpred.measure: {a['rows']} archs x 2 passes, repeats {args.repeats} (+{args.warmup} warm-up), "
        f"median CV within arch {a['median_cv_within_arch']:.4f}, {a['jobs_per_min']:.1f} jobs/min "
        f"({a['wall_s']:.0f} s), reference drift {a['reference_drift_rel']:+.3f} "
        f"(range {a['reference_range_rel']:.3f})",
        flush=True,
    )
    for f, g in a["agreement"].items():
        print(
            f"  {f:16s}: tau {g['tau']:.4f}, spearman {g['spearman']:.4f}, "
            f"median |p1-p2|/mean {g['median_rel_diff']:.4f}",
            flush=True,
        )
    for f, pc in a["pair_classes"].items():
        print(f"  where {f} disagrees: {pair_class_line(pc)}", flush=True)
    summary = {
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python"] + sys.argv),
        "python": platform.python_version(),
        "machine": describe_device("cpu", threads=1, batch_size=1, input_size=32),
        "ours": a,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out_dir / 'summary.json'}", *plot(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
