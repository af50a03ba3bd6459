"""Repeatability and speed of the measurement harness on this CPU.

``--n`` random NAS-Bench-201 cells (batch 1, 1 thread) in two interleaved, independent passes:
Kendall tau between the passes (the noise floor), where they disagree, the spread of repeats and
the throughput; then the same cells in the same order timed with ``torch.utils.benchmark.Timer``
at an equal wall-time budget. Both halves resume from their journals in ``--out-dir``; a journal
carried from another machine starts the harness's (``--journal-from``).

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

from hwpred.data import MetricTable
from hwpred.experiment import progress_bar
from hwpred.measure import (
    Journal,
    MeasureConfig,
    RepeatPolicy,
    carry_journal,
    describe_device,
    journal_path,
    measure_space,
    pair_classes,
    pass2_column,
    pass_agreement,
    rank_agreement,
    schedule_rounds,
    select_archs,
    sweep_readings,
)
from hwpred.measure.repeatability import PAIR_CLASSES
from hwpred.spaces import NB201

OURS_TABLE = "ours.parquet"  # the harness's table in --out-dir (its journal lies beside it)
TIMER_JOURNAL = "timer.journal.jsonl"
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
    if args.timer_only:  # the harness's run is finished: summarise its table without touching its journal
        if not out.exists():
            raise SystemExit(f"--timer-only: no finished table at {out}; run without it first")
        t = MetricTable.read_parquet(out)
    else:
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


def timer_results(out_dir: Path) -> dict[tuple, dict[int, float]]:
    """Timer medians (ms) journalled in ``out_dir``, by cell and pass."""
    res: dict[tuple, dict[int, float]] = {}
    for r in Journal(out_dir / TIMER_JOURNAL).load():
        if r.get("kind") == "result":
            res.setdefault(tuple(r["arch"]), {})[int(r["pass"])] = r["median_ms"]
    return res


def torch_timer(args, budget_s: float, out_dir: Path) -> dict:
    """Same cells and order, ``blocked_autorange`` within the budget; each job journalled, and the
    jobs left after a stop share what is left of the budget."""
    from torch.utils.benchmark import Timer

    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    jobs = [(a, p) for a, p, _ in schedule_rounds(pool, two_pass=True, seed=args.seed)]
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    journal = Journal(out_dir / TIMER_JOURNAL)
    header = {"kind": "header", "n": args.n, "seed": args.seed, "budget_s": budget_s}
    records = journal.load()
    if records and {k: records[0].get(k) for k in header} != header:
        raise SystemExit(f"{journal.path} was written for another run ({records[0]}); delete it to start")
    if not records:
        journal.append(header)
    res = timer_results(out_dir)
    spent_before = sum(r["seconds"] for r in records if r.get("kind") == "result")
    todo = [(a, p) for a, p in jobs if p not in res.get(a, {})]
    per_job = max(budget_s - spent_before, 0.0) / max(len(todo), 1)
    t0 = time.time()
    try:
        with progress_bar("torch.utils.benchmark.Timer", len(todo), unit_name="jobs") as bar:
            for k, (arch, p) in enumerate(todo):
                tj = time.time()
                model = NB201.build_model(arch).eval()
                left = max(per_job * (k + 1) - (time.time() - t0), 0.0)  # this session's share, built
                with torch.inference_mode():
                    m = Timer(stmt="m(x)", globals={"m": model, "x": x}, num_threads=1).blocked_autorange(
                        min_run_time=max(left, 0.01)
                    )
                res.setdefault(arch, {})[p] = m.median * 1e3
                journal.append(
                    {
                        "kind": "result",
                        "arch": list(arch),
                        "pass": p,
                        "median_ms": m.median * 1e3,
                        "seconds": time.time() - tj,
                    }
                )
                bar.advance()
    finally:
        journal.close()
    wall = spent_before + (time.time() - t0)
    archs = sorted(res)
    return {
        "rows": len(archs),
        **rank_agreement([res[a][0] for a in archs], [res[a][1] for a in archs]),
        "wall_s": wall,
        "budget_s": budget_s,
        "jobs_per_min": len(jobs) / wall * 60,
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


def classes(pc: dict) -> str:
    return "; ".join(
        f"{c} {pc[c]['pairs']} pairs ({pc[c]['fraction']:.4f}), tau {pc[c]['tau']:.3f}, "
        f"{pc[c]['share_of_discordant']:.0%} of the discordant"
        for c in PAIR_CLASSES
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 500), ("--repeats", 10), ("--warmup", 2), ("--seed", 0), ("--rounds", 1)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out-dir", default="results/measure/bench")
    for flag, what in (
        ("--paired", "the harness with paired_reference=True"),
        ("--skip-timer", "only the harness"),
        ("--plot-only", "only redraw the figure"),
        ("--timer-only", "summarise the finished harness table, run (or resume) the Timer"),
        ("--journal-reading", "taus by sweeps done, read from the journal"),
    ):
        ap.add_argument(flag, action="store_true", help=what)
    ap.add_argument("--journal-from", metavar="FILE", help="start the harness's journal from FILE (.gz too)")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.journal_from and carry_journal(args.journal_from, out_dir / OURS_TABLE):
        print(f"journal started from {args.journal_from}")
    if args.journal_reading:
        j = sweep_readings(journal_path(out_dir / OURS_TABLE))
        print(f"{j['jobs']} jobs in the journal, {j['rounds']} rounds per cell and pass; q10 ratio, passes:")
        for r in j["by_rounds_done"]:
            k, enough = r["rounds"], "tau_median" in r
            print(f"  rounds 0..{k - 1} done: {r['cells']} cells" + ("" if enough else ", too few"))
            if enough:
                prev = (
                    f"median of {k - 1} tau {r['tau_previous']:.4f} ({r['rel_diff_previous']:.4f}), "
                    if k > 1
                    else ""
                )
                print(
                    f"    round 0 alone tau {r['tau_round0']:.4f} ({r['rel_diff_round0']:.4f}), "
                    + prev
                    + f"median of {k} tau {r['tau_median']:.4f} "
                    f"({r['rel_diff_median']:.4f})\n    within classes: {classes(r['pair_classes'])}"
                )
        (out_dir / "journal_reading.json").write_text(json.dumps(j, indent=2))
        return 0
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
        print(f"  where {f} disagrees: {classes(pc)}", flush=True)
    b = None
    if not args.skip_timer:
        b = torch_timer(args, a["wall_s"], out_dir)
        print(
            f"torch Timer: {b['rows']} archs x 2 passes, blocked_autorange at equal budget "
            f"({b['budget_s']:.0f} s, {b['wall_s']:.0f} s used): tau {b['tau']:.4f}, spearman "
            f"{b['spearman']:.4f}, median |p1-p2|/mean {b['median_rel_diff']:.4f}",
            flush=True,
        )
    summary = {
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python"] + sys.argv),
        "python": platform.python_version(),
        "machine": describe_device("cpu", threads=1, batch_size=1, input_size=32),
        "ours": a,
        "torch_timer": b,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out_dir / 'summary.json'}", *plot(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
