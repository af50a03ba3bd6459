"""Where the noise of the harness's paired q10 ratio comes from: the forwards of a job, the job, or the build.

On the first ``--n`` NAS-Bench-201 cells, each job timed by the harness's own paired timer with
``--job-noise`` K pairs (the ratio of the cell's 10th-percentile forward to the reference's), jobs
in a seeded shuffled order:

- ``--experiment builds``: every cell built twice, each build measured 3 times (the same module
  object re-timed); the spread between re-timings of one build against that between builds.
- ``--experiment rounds``: ``--rounds`` R jobs per cell and pass, each on a fresh build; the
  pass-to-pass Kendall tau of one job per pass against the median and the mean of the R jobs.
- ``--experiment both`` (default): the two above, in turn.
- ``--experiment equal-time``: one job of K pairs against R jobs of K // R pairs each, for every cell
  and pass, all shuffled into one run, so the two arms share the machine's weather and spend the
  same number of forwards.

    python benchmarks/measure_job_noise.py --n 30 --job-noise 320 --rounds 3 --experiment rounds
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
    select_archs,
)
from hwpred.metrics import kendall_tau
from hwpred.spaces import NB201

REFERENCE = MeasureConfig(space="nb201").resolved().reference  # the harness's reference cell


def agreement(a, b) -> dict:
    return {"tau": kendall_tau(a, b), "median_rel_diff": median_rel_diff(a, b)}


def builds(pool, timer, x, ref, seed: int) -> dict:
    models = {(i, b): NB201.build_model(a).eval() for i, a in enumerate(pool) for b in range(2)}
    jobs = [(i, b, r) for i in range(len(pool)) for b in range(2) for r in range(3)]
    np.random.default_rng(seed + 1).shuffle(jobs)
    q = np.zeros((len(pool), 2, 3))  # log q10 ratio by cell, build, re-timing
    t0 = time.time()
    with progress_bar("re-timed builds", len(jobs), unit_name="jobs") as bar:
        for i, b, r in jobs:
            q[i, b, r] = np.log(timer.measure(models[(i, b)], x, reference=ref).ratio_q10)
            bar.advance()
    within = q - q.mean(2, keepdims=True)
    sd_within = float(np.sqrt(np.sum(np.square(within)) / (within.size - 2 * len(pool))))
    ms = float(np.mean(np.square(q[:, 0].mean(1) - q[:, 1].mean(1))))
    return {
        "wall_s": time.time() - t0,
        "sd_log_ratio_retimed_same_build": sd_within,
        "rms_difference_of_build_means": float(np.sqrt(ms)),
        # E[diff^2] = 2 sd_build^2 + 2 sd_within^2 / 3
        "sd_log_ratio_between_builds": float(np.sqrt(max(ms / 2 - sd_within**2 / 3, 0.0))),
        "values": {f"{i},{b},{r}": float(np.exp(q[i, b, r])) for i, b, r in sorted(jobs)},
    }


def rounds(pool, timer, x, ref, seed: int, R: int) -> dict:
    jobs = [(i, p, r) for i in range(len(pool)) for p in range(2) for r in range(R)]
    np.random.default_rng(seed + 2).shuffle(jobs)
    v = np.zeros((len(pool), 2, R))
    t0 = time.time()
    with progress_bar(f"{R} rounds per pass", len(jobs), unit_name="jobs") as bar:
        for i, p, r in jobs:
            v[i, p, r] = timer.measure(NB201.build_model(pool[i]).eval(), x, reference=ref).ratio_q10
            bar.advance()
    table = {"one job per pass (round 1)": agreement(v[:, 0, 0], v[:, 1, 0])}
    if R >= 2:  # averaged over all R x R pairings of single jobs: a steadier one-job figure
        pairs = [agreement(v[:, 0, r], v[:, 1, s]) for r in range(R) for s in range(R)]
        table["one job per pass, each round against each other"] = {
            k: float(np.mean([g[k] for g in pairs])) for k in ("tau", "median_rel_diff")
        }
    table[f"median of {R} jobs per pass"] = agreement(np.median(v[:, 0], 1), np.median(v[:, 1], 1))
    table[f"mean of {R} jobs per pass"] = agreement(v[:, 0].mean(1), v[:, 1].mean(1))
    resid = np.log(v) - np.log(v).mean(2, keepdims=True)
    return {
        "rounds": R,
        "wall_s": time.time() - t0,
        "table": table,
        "sd_log_ratio_between_jobs_of_a_pass": float(
            np.sqrt(np.sum(resid**2) / (resid.size - v[..., 0].size))
        ),
        "share_of_jobs_off_by_more_than_1pct": float(np.mean(np.abs(resid) > 0.01)),
        "ties": op_multiset_ties(pool),
        "values": v.tolist(),
        "archs": [list(a) for a in pool],
    }


def equal_time(pool, timer, x, ref, seed: int, R: int, warmup: int) -> dict:
    K, k_split = timer.policy.repeats, timer.policy.repeats // R
    split_timer = CPUTimer(RepeatPolicy(repeats=k_split, warmup=warmup), threads=1)
    jobs = [(i, p, "one", 0) for i in range(len(pool)) for p in range(2)]
    jobs += [(i, p, "split", r) for i in range(len(pool)) for p in range(2) for r in range(R)]
    np.random.default_rng(seed + 3).shuffle(jobs)
    one, split = np.zeros((len(pool), 2)), np.zeros((len(pool), 2, R))
    seconds = {"one": 0.0, "split": 0.0}
    with progress_bar(f"1 job of {K} pairs vs {R} of {k_split}", len(jobs), unit_name="jobs") as bar:
        for i, p, arm, r in jobs:
            t0 = time.time()
            st = (timer if arm == "one" else split_timer).measure(
                NB201.build_model(pool[i]).eval(), x, reference=ref
            )
            seconds[arm] += time.time() - t0
            if arm == "one":
                one[i, p] = st.ratio_q10
            else:
                split[i, p, r] = st.ratio_q10
            bar.advance()
    return {
        "rounds": R,
        "pairs_split": k_split,
        "seconds": seconds,
        "ties": op_multiset_ties(pool),
        "table": {
            f"one job of {K} pairs": agreement(one[:, 0], one[:, 1]),
            f"median of {R} jobs of {k_split} pairs": agreement(
                np.median(split[:, 0], 1), np.median(split[:, 1], 1)
            ),
            f"mean of {R} jobs of {k_split} pairs": agreement(split[:, 0].mean(1), split[:, 1].mean(1)),
        },
        "one": one.tolist(),
        "split": split.tolist(),
        "archs": [list(a) for a in pool],
    }


def print_table(table: dict) -> None:
    for name, row in table.items():
        print(f"  {name:50s}: tau {row['tau']:.3f}, median |p1-p2|/mean {row['median_rel_diff']:.4f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 500), ("--warmup", 2), ("--seed", 0), ("--rounds", 3)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out-dir", default="results/measure/noise")
    ap.add_argument("--job-noise", type=int, required=True, metavar="K", help="paired forwards per job")
    ap.add_argument("--experiment", choices=("builds", "rounds", "both", "equal-time"), default="both")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    ref = NB201.build_model(REFERENCE).eval()
    timer = CPUTimer(RepeatPolicy(repeats=args.job_noise, warmup=args.warmup), threads=1)
    j: dict = {"cells": len(pool), "pairs_per_job": args.job_noise}
    if args.experiment in ("builds", "both"):
        j["builds"] = b = builds(pool, timer, x, ref, args.seed)
        print(
            f"{j['cells']} cells, 2 builds x 3 re-timings, {j['pairs_per_job']} pairs per job "
            f"({b['wall_s']:.0f} s): "
            f"sd of log q10 ratio re-timing one build {b['sd_log_ratio_retimed_same_build']:.4f}, "
            f"between builds {b['sd_log_ratio_between_builds']:.4f}"
        )
    if args.experiment in ("rounds", "both"):
        j["rounds"] = r = rounds(pool, timer, x, ref, args.seed, args.rounds)
        print(
            f"{j['cells']} cells x 2 passes x {r['rounds']} jobs of {j['pairs_per_job']} pairs "
            f"({r['wall_s']:.0f} s); sd of log q10 ratio between the jobs of a pass "
            f"{r['sd_log_ratio_between_jobs_of_a_pass']:.4f}, "
            f"{r['share_of_jobs_off_by_more_than_1pct']:.0%} of jobs more than 1 % off their pass's "
            "mean; "
            f"tau ceiling from same-work pairs {r['ties']['tau_ceiling']:.4f}"
        )
        print_table(r["table"])
    if args.experiment == "equal-time":
        j["equal_time"] = e = equal_time(pool, timer, x, ref, args.seed, args.rounds, args.warmup)
        print(
            f"{j['cells']} cells x 2 passes, in one shuffled run (seconds measuring: "
            + ", ".join(f"{k} {v:.0f}" for k, v in e["seconds"].items())
            + f"); tau ceiling from same-work pairs {e['ties']['tau_ceiling']:.4f}"
        )
        print_table(e["table"])
    (out_dir / "job_noise.json").write_text(json.dumps(j, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
