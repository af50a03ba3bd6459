"""Which statistic of the harness's paired samples repeats best between two passes.

For ``--n`` NAS-Bench-201 cells in two shuffled passes, the harness's own CPU timer records
``--estimators`` K raw paired forwards per cell and pass (each cell forward next to a forward of
the harness's reference cell, alternating which goes first); then the pass-to-pass Kendall tau
(and median |p1-p2|/mean) of several statistics computed on the first k pairs. Every statistic
reads the same forwards, so their differences are not load differences.

    python benchmarks/measure_estimators.py --n 60 --estimators 320 --warmup 3 --out-dir results/measure/est60
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
from hwpred.measure import (
    CPUTimer,
    MeasureConfig,
    RepeatPolicy,
    median_rel_diff,
    op_multiset_ties,
    schedule_rounds,
    select_archs,
)
from hwpred.measure.timers import RATIO_QUANTILE
from hwpred.metrics import kendall_tau
from hwpred.spaces import NB201

REFERENCE = MeasureConfig(space="nb201").resolved().reference  # the harness's reference cell

#: statistics of the paired samples (columns: cell wall, reference wall, cell CPU, reference CPU; ms)
ESTIMATORS = {
    "median of ratios (harness)": lambda s: np.median(s[:, 0] / s[:, 1]),
    "ratio of medians": lambda s: np.median(s[:, 0]) / np.median(s[:, 1]),
    "ratio of 10th percentiles": lambda s: (
        np.quantile(s[:, 0], RATIO_QUANTILE) / np.quantile(s[:, 1], RATIO_QUANTILE)
    ),
    "ratio of minima": lambda s: s[:, 0].min() / s[:, 1].min(),
    "median of CPU-time ratios": lambda s: np.median(s[:, 2] / s[:, 3]),
    "unpaired median wall": lambda s: np.median(s[:, 0]),
    "unpaired minimum wall": lambda s: s[:, 0].min(),
    "unpaired median CPU": lambda s: np.median(s[:, 2]),
}


def estimators(args, out_dir: Path) -> dict:
    """Record the raw paired samples (kept in ``paired_samples.npz``) and tabulate the statistics."""
    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    jobs = [(a, p) for a, p, _ in schedule_rounds(pool, two_pass=True, seed=args.seed)]
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    ref = NB201.build_model(REFERENCE).eval()
    timer = CPUTimer(RepeatPolicy(repeats=args.estimators, warmup=args.warmup), threads=1)
    raw: dict[tuple, dict[int, np.ndarray]] = {}
    t0 = time.time()
    with progress_bar("paired raw samples", len(jobs), unit_name="jobs") as bar:
        for arch, p in jobs:
            timer.measure(NB201.build_model(arch).eval(), x, reference=ref)
            ls = timer.last_samples
            raw.setdefault(arch, {})[p] = np.column_stack(
                [ls["wall_ms"], ls["ref_wall_ms"], ls["cpu_ms"], ls["ref_cpu_ms"]]
            )
            bar.advance()
    wall = time.time() - t0
    np.savez_compressed(
        out_dir / "paired_samples.npz",
        archs=np.array(sorted(raw)),
        pass1=np.stack([raw[a][0] for a in sorted(raw)]),
        pass2=np.stack([raw[a][1] for a in sorted(raw)]),
    )
    ks = [k for k in (10, 20, 40, 80, 160, 320, 640, 1280, 2560) if k <= args.estimators]
    table = {}
    for name, f in ESTIMATORS.items():
        table[name] = {}
        for k in ks:
            a = np.array([f(raw[c][0][:k]) for c in sorted(raw)])
            b = np.array([f(raw[c][1][:k]) for c in sorted(raw)])
            table[name][k] = {"tau": kendall_tau(a, b), "median_rel_diff": median_rel_diff(a, b)}
    out = {
        "rows": len(raw),
        "pairs_per_measurement": args.estimators,
        "wall_s": wall,
        "table": table,
        "ties": op_multiset_ties(sorted(raw)),
    }
    (out_dir / "estimators.json").write_text(json.dumps(out, indent=2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 500), ("--warmup", 2), ("--seed", 0)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out-dir", default="results/measure/noise")
    ap.add_argument(
        "--estimators",
        type=int,
        required=True,
        metavar="K",
        help="record K raw paired forwards per cell and pass, and compare statistics on them",
    )
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    e = estimators(args, out_dir)
    print(
        f"{e['rows']} archs x 2 passes, {e['pairs_per_measurement']} paired forwards each "
        f"({e['wall_s']:.0f} s); "
        "Kendall tau pass 1 vs 2 (median |p1-p2|/mean) on the first k pairs:"
    )
    ks = list(next(iter(e["table"].values())))
    print("| statistic | " + " | ".join(f"k={k}" for k in ks) + " |")
    print("|---|" + "---|" * len(ks))
    for name, row in e["table"].items():
        print(
            f"| {name} | "
            + " | ".join(f"{v['tau']:.3f} ({v['median_rel_diff']:.4f})" for v in row.values())
            + " |"
        )
    t = e["ties"]
    print(
        f"pairs with the same op multiset: {t['same_op_multiset']} of {t['pairs']} "
        f"({t['fraction']:.4f}); expected tau ceiling {t['tau_ceiling']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
