"""Where the noise of the harness's paired figure comes from; which statistic of paired samples repeats best.

``--estimators K``: K raw paired forwards (cell next to reference) per cell and pass, and the
pass-to-pass Kendall tau of several statistics on the first k of them. ``--job-noise K``: jobs of
K paired forwards, to tell the noise of the forwards of a job, of the job and of the build apart
(``--experiment builds``, ``rounds`` with ``--rounds`` R jobs per pass, ``both``, ``equal-time``).

    python benchmarks/measure_noise.py --n 60 --estimators 320 --warmup 3 --out-dir results/measure/est60
    python benchmarks/measure_noise.py --n 30 --job-noise 320 --rounds 3 --experiment rounds
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
    """Raw paired samples from the harness's own timer (each cell forward next to a reference
    forward, alternating which goes first) for ``--n`` cells in two shuffled passes; then the
    pass-to-pass Kendall tau of several statistics computed on the first k pairs. Same forwards
    for every statistic, so their differences are not load differences."""
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
            ls = timer.last_samples  # columns: cell wall, reference wall, cell CPU, reference CPU (ms)
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


def _q10_ratio(samples: dict) -> float:
    """The harness's paired statistic from one job's raw times: 10th percentile of the cell's
    forwards over that of the reference's."""
    return float(
        np.quantile(samples["wall_ms"], RATIO_QUANTILE) / np.quantile(samples["ref_wall_ms"], RATIO_QUANTILE)
    )


def job_noise(args, out_dir: Path) -> dict:
    """Where does the noise of the paired q10 ratio come from: the forwards of a job, the job,
    or the built model?

    Two experiments on the first ``--n`` cells, each job timed by the harness's own paired timer
    with ``--job-noise`` pairs, in a seeded shuffled order:

    - ``builds``: every cell built twice, each build measured 3 times (the same module object
      re-timed); the spread between re-timings of one build against that between builds.
    - ``rounds``: ``--rounds`` R jobs per cell and pass, each on a fresh build; the pass-to-pass
      Kendall tau of one job per pass against the median and the mean of the R jobs of a pass.
    - ``equal-time`` (only when asked for): one job of ``--job-noise`` pairs against ``--rounds``
      jobs of a R-th of the pairs each, for every cell and pass, all jobs shuffled into one run, so
      the two arms share the machine's weather and spend the same number of forwards.
    """
    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    ref = NB201.build_model(REFERENCE).eval()
    timer = CPUTimer(RepeatPolicy(repeats=args.job_noise, warmup=args.warmup), threads=1)
    out: dict = {"cells": len(pool), "pairs_per_job": args.job_noise}

    if args.experiment in ("builds", "both"):
        models = {(i, b): NB201.build_model(a).eval() for i, a in enumerate(pool) for b in range(2)}
        jobs = [(i, b, r) for i in range(len(pool)) for b in range(2) for r in range(3)]
        np.random.default_rng(args.seed + 1).shuffle(jobs)
        q = {}
        t0 = time.time()
        with progress_bar("re-timed builds", len(jobs), unit_name="jobs") as bar:
            for i, b, r in jobs:
                timer.measure(models[(i, b)], x, reference=ref)
                q[(i, b, r)] = np.log(_q10_ratio(timer.last_samples))
                bar.advance()
        within = [
            q[(i, b, r)] - np.mean([q[(i, b, s)] for s in range(3)])
            for i in range(len(pool))
            for b in range(2)
            for r in range(3)
        ]
        sd_within = float(np.sqrt(np.sum(np.square(within)) / (len(within) - 2 * len(pool))))
        build_diff = [
            np.mean([q[(i, 0, r)] for r in range(3)]) - np.mean([q[(i, 1, r)] for r in range(3)])
            for i in range(len(pool))
        ]
        ms = float(np.mean(np.square(build_diff)))
        out["builds"] = {
            "wall_s": time.time() - t0,
            "sd_log_ratio_retimed_same_build": sd_within,
            "rms_difference_of_build_means": float(np.sqrt(ms)),
            # E[diff^2] = 2 sd_build^2 + 2 sd_within^2 / 3
            "sd_log_ratio_between_builds": float(np.sqrt(max(ms / 2 - sd_within**2 / 3, 0.0))),
            "values": {f"{i},{b},{r}": float(np.exp(v)) for (i, b, r), v in sorted(q.items())},
        }

    if args.experiment in ("rounds", "both"):
        R = args.rounds
        jobs = [(i, p, r) for i in range(len(pool)) for p in range(2) for r in range(R)]
        np.random.default_rng(args.seed + 2).shuffle(jobs)
        v = np.zeros((len(pool), 2, R))
        t0 = time.time()
        with progress_bar(f"{R} rounds per pass", len(jobs), unit_name="jobs") as bar:
            for i, p, r in jobs:
                timer.measure(NB201.build_model(pool[i]).eval(), x, reference=ref)
                v[i, p, r] = _q10_ratio(timer.last_samples)
                bar.advance()
        rows = {"one job per pass (round 1)": (v[:, 0, 0], v[:, 1, 0])}
        if R >= 2:
            rows["one job per pass, each round against each other"] = None
        rows[f"median of {R} jobs per pass"] = (np.median(v[:, 0], 1), np.median(v[:, 1], 1))
        rows[f"mean of {R} jobs per pass"] = (v[:, 0].mean(1), v[:, 1].mean(1))
        table = {}
        for name, ab in rows.items():
            if ab is None:  # average over all R x R pairings of single jobs: a steadier one-job figure
                taus = [kendall_tau(v[:, 0, r], v[:, 1, s]) for r in range(R) for s in range(R)]
                diffs = [median_rel_diff(v[:, 0, r], v[:, 1, s]) for r in range(R) for s in range(R)]
                table[name] = {"tau": float(np.mean(taus)), "median_rel_diff": float(np.mean(diffs))}
            else:
                table[name] = {"tau": kendall_tau(*ab), "median_rel_diff": median_rel_diff(*ab)}
        resid = np.log(v) - np.log(v).mean(2, keepdims=True)
        out["rounds"] = {
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
    if args.experiment == "equal-time":
        # one job of K pairs against R jobs of K // R pairs, for each cell and pass, all in one shuffled run
        R, k_split = args.rounds, args.job_noise // args.rounds
        split_timer = CPUTimer(RepeatPolicy(repeats=k_split, warmup=args.warmup), threads=1)
        jobs = [(i, p, "one", 0) for i in range(len(pool)) for p in range(2)]
        jobs += [(i, p, "split", r) for i in range(len(pool)) for p in range(2) for r in range(R)]
        np.random.default_rng(args.seed + 3).shuffle(jobs)
        one, split = np.zeros((len(pool), 2)), np.zeros((len(pool), 2, R))
        seconds = {"one": 0.0, "split": 0.0}
        with progress_bar(
            f"1 job of {args.job_noise} pairs vs {R} of {k_split}", len(jobs), unit_name="jobs"
        ) as bar:
            for i, p, arm, r in jobs:
                t = timer if arm == "one" else split_timer
                t0 = time.time()
                t.measure(NB201.build_model(pool[i]).eval(), x, reference=ref)
                seconds[arm] += time.time() - t0
                if arm == "one":
                    one[i, p] = _q10_ratio(t.last_samples)
                else:
                    split[i, p, r] = _q10_ratio(t.last_samples)
                bar.advance()
        table = {
            f"one job of {args.job_noise} pairs": (one[:, 0], one[:, 1]),
            f"median of {R} jobs of {k_split} pairs": (np.median(split[:, 0], 1), np.median(split[:, 1], 1)),
            f"mean of {R} jobs of {k_split} pairs": (split[:, 0].mean(1), split[:, 1].mean(1)),
        }
        out["equal_time"] = {
            "rounds": R,
            "pairs_split": k_split,
            "seconds": seconds,
            "ties": op_multiset_ties(pool),
            "table": {
                k: {"tau": kendall_tau(*ab), "median_rel_diff": median_rel_diff(*ab)}
                for k, ab in table.items()
            },
            "one": one.tolist(),
            "split": split.tolist(),
            "archs": [list(a) for a in pool],
        }
    (out_dir / "job_noise.json").write_text(json.dumps(out, indent=2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 500), ("--warmup", 2), ("--seed", 0), ("--rounds", 3)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out-dir", default="results/measure/noise")
    ap.add_argument(
        "--estimators",
        type=int,
        default=0,
        metavar="K",
        help="record K raw paired forwards per cell and pass, and compare statistics on them",
    )
    ap.add_argument(
        "--job-noise",
        type=int,
        default=0,
        metavar="K",
        help="jobs of K paired forwards: is the q10 ratio's noise per forward, job or build?",
    )
    ap.add_argument(
        "--experiment",
        choices=("builds", "rounds", "both", "equal-time"),
        default="both",
        help="--job-noise: which experiment to run",
    )
    args = ap.parse_args()
    if not (args.estimators or args.job_noise):
        ap.error("pass --estimators K or --job-noise K")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    if args.estimators:
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
    if args.job_noise:
        j = job_noise(args, out_dir)
        if "builds" in j:
            b = j["builds"]
            print(
                f"{j['cells']} cells, 2 builds x 3 re-timings, {j['pairs_per_job']} pairs per job "
                f"({b['wall_s']:.0f} s): "
                f"sd of log q10 ratio re-timing one build {b['sd_log_ratio_retimed_same_build']:.4f}, "
                f"between builds {b['sd_log_ratio_between_builds']:.4f}"
            )
        if "rounds" in j:
            r = j["rounds"]
            print(
                f"{j['cells']} cells x 2 passes x {r['rounds']} jobs of {j['pairs_per_job']} pairs "
                f"({r['wall_s']:.0f} s); sd of log q10 ratio between the jobs of a pass "
                f"{r['sd_log_ratio_between_jobs_of_a_pass']:.4f}, "
                f"{r['share_of_jobs_off_by_more_than_1pct']:.0%} of jobs more than 1 % off their pass's "
                "mean; "
                f"tau ceiling from same-work pairs {r['ties']['tau_ceiling']:.4f}"
            )
            for name, row in r["table"].items():
                print(f"  {name:50s}: tau {row['tau']:.3f}, median |p1-p2|/mean {row['median_rel_diff']:.4f}")
        if "equal_time" in j:
            e = j["equal_time"]
            print(
                f"{j['cells']} cells x 2 passes, in one shuffled run (seconds measuring: "
                + ", ".join(f"{k} {v:.0f}" for k, v in e["seconds"].items())
                + f"); tau ceiling from same-work pairs {e['ties']['tau_ceiling']:.4f}"
            )
            for name, row in e["table"].items():
                print(f"  {name:50s}: tau {row['tau']:.3f}, median |p1-p2|/mean {row['median_rel_diff']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
