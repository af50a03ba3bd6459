"""Head to head: the harness's CPU timer against ``torch.utils.benchmark.Timer`` on the same models.

For ``--n`` NAS-Bench-201 cells in two interleaved passes, both timers measure each freshly built
model one right after the other (alternating which goes first), Timer given exactly the wall time
ours took, so load changes hit both alike; Kendall tau between the passes of each, side by side.

    python benchmarks/measure_timers.py --n 200 --repeats 10 --warmup 2 --out-dir results/measure/h2h200
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hwpred.experiment import progress_bar
from hwpred.measure import CPUTimer, RepeatPolicy, rank_agreement, schedule_rounds, select_archs
from hwpred.spaces import NB201


def head_to_head(args, out_dir: Path) -> dict:
    from torch.utils.benchmark import Timer

    torch.set_num_threads(1)
    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    jobs = [(a, p) for a, p, _ in schedule_rounds(pool, two_pass=True, seed=args.seed)]
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    timer = CPUTimer(RepeatPolicy(repeats=args.repeats, warmup=args.warmup), threads=1)
    res: dict[str, dict[tuple, dict[int, float]]] = {"ours": {}, "ours_cpu": {}, "timer": {}}
    t0 = time.time()
    spent = {"ours": 0.0, "timer": 0.0}
    with progress_bar("head to head", len(jobs), unit_name="jobs") as bar:
        for k, (arch, p) in enumerate(jobs):
            model = NB201.build_model(arch).eval()
            budget = None
            for who in ("ours", "timer") if k % 2 == 0 else ("timer", "ours"):
                if who == "ours":
                    ts = time.perf_counter()
                    st = timer.measure(model, x)
                    took = time.perf_counter() - ts
                    res["ours"].setdefault(arch, {})[p] = st.median_ms
                    res["ours_cpu"].setdefault(arch, {})[p] = st.cpu_median_ms
                    spent["ours"] += took
                    budget = took
                else:
                    # when Timer goes first it gets what ours took on the previous job (same protocol)
                    b = budget if budget is not None else spent["ours"] / max(k, 1) if k else 0.2
                    if args.equal_total and spent["timer"] > 0:
                        # blocked_autorange adds calibration on top of min_run_time: scale it so
                        # that the two totals stay equal
                        b *= spent["ours"] / spent["timer"]
                    ts = time.perf_counter()
                    with torch.inference_mode():
                        m = Timer(stmt="m(x)", globals={"m": model, "x": x}, num_threads=1).blocked_autorange(
                            min_run_time=max(b, 0.01)
                        )
                    spent["timer"] += time.perf_counter() - ts
                    res["timer"].setdefault(arch, {})[p] = m.median * 1e3
            bar.advance()
    out = {
        "rows": len(pool),
        "wall_s": time.time() - t0,
        "seconds_ours": spent["ours"],
        "seconds_timer": spent["timer"],
    }
    for name, d in res.items():
        archs = sorted(d)
        out[name] = rank_agreement(np.array([d[a][0] for a in archs]), np.array([d[a][1] for a in archs]))
    (out_dir / "head_to_head.json").write_text(json.dumps(out, indent=2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 500), ("--repeats", 10), ("--warmup", 2), ("--seed", 0)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out-dir", default="results/measure/h2h")
    ap.add_argument(
        "--equal-total",
        action="store_true",
        help="shrink Timer's min_run_time so that its total time equals ours",
    )
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    h = head_to_head(args, out_dir)
    print(
        f"head to head, {h['rows']} archs x 2 passes, same models back to back, equal time "
        f"(ours {h['seconds_ours']:.0f} s, Timer {h['seconds_timer']:.0f} s):"
    )
    for name, label in (
        ("ours", "hwpred.measure median wall clock"),
        ("timer", "torch.utils.benchmark.Timer"),
        ("ours_cpu", "hwpred.measure thread CPU time"),
    ):
        r = h[name]
        print(
            f"  {label:34s}: tau {r['tau']:.4f}, spearman {r['spearman']:.4f}, "
            f"median |p1-p2|/mean {r['median_rel_diff']:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
