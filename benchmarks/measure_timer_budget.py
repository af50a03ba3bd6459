"""Repeatability of ``torch.utils.benchmark.Timer`` at the harness's wall-time budget.

After ``benchmarks/measure.py`` has finished its two-pass table in ``--out-dir``: the same
``--n`` NAS-Bench-201 cells (same ``--seed``), in the same two interleaved pass orders, timed with
``blocked_autorange`` (batch 1, 1 thread) within the wall time the harness took; Kendall tau,
Spearman and median |p1-p2|/mean between the passes. Each job is journalled in ``--out-dir``, so a
stopped run resumes, the jobs left sharing what is left of the budget. ``measure.py --plot-only``
then draws the Timer's passes next to the harness's.

    python benchmarks/measure_timer_budget.py --n 500 --out-dir results/measure/bench
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from _common import OURS_TABLE, TIMER_JOURNAL, timer_results

from hwpred.data import MetricTable
from hwpred.experiment import progress_bar
from hwpred.measure import Journal, rank_agreement, schedule_rounds, select_archs
from hwpred.spaces import NB201


def torch_timer(args, budget_s: float, out_dir: Path) -> dict:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="cells, as given to measure.py")
    ap.add_argument("--seed", type=int, default=0, help="as given to measure.py")
    ap.add_argument("--out-dir", default="results/measure/bench", help="measure.py's --out-dir")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    table = out_dir / OURS_TABLE
    if not table.exists():
        raise SystemExit(f"no finished harness table at {table}; run benchmarks/measure.py first")
    torch.set_num_threads(1)
    b = torch_timer(args, MetricTable.read_parquet(table).meta["measure"]["wall_s"], out_dir)
    print(
        f"torch Timer: {b['rows']} archs x 2 passes, blocked_autorange at equal budget "
        f"({b['budget_s']:.0f} s, {b['wall_s']:.0f} s used): tau {b['tau']:.4f}, spearman "
        f"{b['spearman']:.4f}, median |p1-p2|/mean {b['median_rel_diff']:.4f}",
        flush=True,
    )
    (out_dir / "timer_summary.json").write_text(json.dumps(b, indent=2))
    print(f"wrote {out_dir / 'timer_summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
