"""Repeatability and speed of the measurement harness on this CPU.

500 random NAS-Bench-201 cells (batch 1, 1 thread) measured in two interleaved, independent
passes by ``hwpred.measure``; Kendall tau between the passes (the measurement noise floor), the
median coefficient of variation of the repeats per architecture, and the throughput. Then the
same 500 cells, same two-pass interleaved order, timed with ``torch.utils.benchmark.Timer``
(``blocked_autorange``) at an equal wall-time budget, taus side by side.

    python benchmarks/measure.py --n 500 --repeats 10 --warmup 2

Both halves are resumable: the harness through its journal, the Timer through
``timer.journal.jsonl`` in ``--out-dir``. A long harness run made with ``--skip-timer`` gets its
Timer half later with ``--timer-only`` (same ``--n``/``--seed``/``--out-dir``). A run longer
than one machine's life carries on elsewhere: copy (or gzip) ``ours.parquet.journal.jsonl`` and
pass it as ``--journal-from`` with the same command there. ``--journal-reading`` reports an
unfinished ``--rounds`` run from its journal: the taus by the number of sweeps done.

Prints the figures and writes them as JSON next to the measured table (``--out-dir``).
"""
from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hwpred.measure import MeasureConfig, RepeatPolicy, measure_space
from hwpred.measure.device import describe_device
from hwpred.data import MetricTable
from hwpred.measure.harness import (Journal, _Progress, journal_path, journal_protocol, results_by_round, schedule,
                                    select_archs)
from hwpred.measure.timers import RATIO_QUANTILE
from hwpred.metrics import kendall_tau, spearman
from hwpred.spaces import NB201


def rel_diff(a, b) -> float:
    """Median over cells of |a - b| / mean(a, b): how far two passes are apart, relatively."""
    return float(np.median(np.abs(a - b) / ((a + b) / 2)))


#: the harness's table in --out-dir (its journal lies beside it)
OURS_TABLE = "ours.parquet"


def ours(args, out_dir: Path) -> dict:
    cfg = MeasureConfig(space="nb201", device="cpu", threads=1, batch_size=1, two_pass=True, seed=args.seed,
                        policy=RepeatPolicy(repeats=args.repeats, warmup=args.warmup), reference_every=50,
                        paired_reference=args.paired, rounds=args.rounds)
    out = out_dir / OURS_TABLE
    t0 = time.time()
    if args.timer_only:
        # the harness's run is finished: summarise its table without touching its journal
        if not out.exists():
            raise SystemExit(f"--timer-only: no finished table at {out}; run without it first")
        t = MetricTable.read_parquet(out)
    else:
        t = measure_space(cfg, limit=args.n, out=out, resume=True, progress=True).table
    tag = cfg.resolved().tag
    p1, p2 = t.column(f"{tag}/latency_ms"), t.column(f"{tag}/latency_pass2_ms")
    cv = t.column(f"{tag}/latency_std_ms") / t.column(f"{tag}/latency_mean_ms")
    wall = t.meta["measure"]["wall_s"]  # summed over sessions, in case the run was resumed
    ref = t.meta["reference"]
    c1, c2 = t.column(f"{tag}/cpu_time_ms"), t.column(f"{tag}/cpu_time_pass2_ms")
    paired = {}
    if args.paired:
        r1, r2 = t.column(f"{tag}/rel_latency"), t.column(f"{tag}/rel_latency_pass2")
        q1, q2 = t.column(f"{tag}/rel_latency_q10"), t.column(f"{tag}/rel_latency_q10_pass2")
        paired = {"tau_rel_latency": kendall_tau(r1, r2), "spearman_rel_latency": spearman(r1, r2),
                  "median_rel_diff_rel_latency": rel_diff(r1, r2),
                  "tau_rel_latency_q10": kendall_tau(q1, q2), "spearman_rel_latency_q10": spearman(q1, q2),
                  "median_rel_diff_rel_latency_q10": rel_diff(q1, q2)}
    classes = {"latency_ms": pair_classes(t.arch_tuples, p1, p2)}
    if args.paired:
        classes["rel_latency_q10"] = pair_classes(t.arch_tuples, q1, q2)
    return {**paired, "pair_classes": classes, "rows": len(t), "tau": kendall_tau(p1, p2), "spearman": spearman(p1, p2),
            "tau_cpu_time": kendall_tau(c1, c2), "spearman_cpu_time": spearman(c1, c2),
            "median_rel_diff_cpu_time": rel_diff(c1, c2),
            "median_cv_within_arch": float(np.median(cv)),
            "median_rel_diff_between_passes": rel_diff(p1, p2),
            "wall_s": wall, "wall_s_this_session": time.time() - t0, "jobs": 2 * args.rounds * len(t),
            "rounds": args.rounds, "archs_per_min_two_passes": len(t) / wall * 60 if wall else None,
            "jobs_per_min": 2 * args.rounds * len(t) / wall * 60 if wall else None,
            "latency_ms_median": float(np.median(p1)), "latency_ms_range": [float(p1.min()), float(p1.max())],
            "reference_drift_rel": ref.get("drift_rel"), "reference_range_rel": ref.get("range_rel"),
            "failed": len(t.meta["failed"]), "table": str(out)}


def carry_journal(src: Path, out_dir: Path) -> bool:
    """Start ``out_dir``'s harness journal from ``src`` (plain or ``.gz``), when it has none yet.

    A run of many hours outlives one machine: its journal, carried to the next machine and
    resumed there with the same command, measures only the jobs still missing. Returns whether it
    copied; an existing journal is never overwritten."""
    dest = journal_path(out_dir / OURS_TABLE)
    if dest.exists():
        return False
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rb") as fh:
        dest.write_bytes(fh.read())
    return True


def journal_reading(out_dir: Path) -> dict:
    """An unfinished (or finished) --rounds run, read from its journal: for k = 1..R, the cells whose
    rounds 0..k-1 are done in both passes, and the Kendall tau between the passes of their paired q10
    ratio, from round 0 alone, from the median of the first k-1 rounds and from the median of the k
    rounds, on the same cells."""
    records = Journal(journal_path(out_dir / OURS_TABLE)).load()
    if not records:
        raise SystemExit(f"no harness journal in {out_dir}")
    rounds = (journal_protocol(records) or {}).get("rounds", 1)
    q10 = {a: {(p, q): st["ratio_q10"] for p, jobs in passes.items() for q, st in jobs.items()
               if q != "all" and st.get("ratio_q10") is not None}
           for a, passes in results_by_round(records).items()}
    jobs = sum(len(v) for v in q10.values())
    rows = []
    for k in range(1, rounds + 1):
        cells = sorted(a for a, v in q10.items() if all((p, q) in v for p in (0, 1) for q in range(k)))
        row = {"rounds": k, "cells": len(cells)}
        if len(cells) >= 3:
            def median_of(j: int) -> list[np.ndarray]:
                """Each pass's median over rounds 0..j-1, for these cells."""
                return [np.array([np.median([q10[a][(p, q)] for q in range(j)]) for a in cells]) for p in (0, 1)]

            first, med = median_of(1), median_of(k)
            row.update(tau_round0=kendall_tau(*first), rel_diff_round0=rel_diff(*first),
                       tau_median=kendall_tau(*med), rel_diff_median=rel_diff(*med),
                       pair_classes=pair_classes(cells, *med))
            if k > 1:  # what the last round added, on the same cells
                prev = median_of(k - 1)
                row.update(tau_previous=kendall_tau(*prev), rel_diff_previous=rel_diff(*prev))
        rows.append(row)
    return {"jobs": jobs, "rounds": rounds, "by_rounds_done": rows}


TIMER_JOURNAL = "timer.journal.jsonl"


def _timer_medians(records: list[dict]) -> dict[tuple, dict[int, float]]:
    res: dict[tuple, dict[int, float]] = {}
    for r in records:
        if r.get("kind") == "result":
            res.setdefault(tuple(r["arch"]), {})[int(r["pass"])] = r["median_ms"]
    return res


def timer_results(out_dir: Path) -> dict[tuple, dict[int, float]] | None:
    """Timer medians (ms) journalled in ``out_dir``, by cell and pass; None when there is no journal."""
    path = out_dir / TIMER_JOURNAL
    return _timer_medians(Journal(path).load()) if path.exists() else None


def torch_timer(args, budget_s: float, out_dir: Path) -> dict:
    """Same archs, same interleaved two-pass order, ``blocked_autorange`` within the budget.

    Each finished job is journalled (``timer.journal.jsonl``), so a run of hours that is stopped
    resumes with the same command; the jobs left share what is left of the budget.
    """
    from torch.utils.benchmark import Timer

    torch.set_num_threads(1)
    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    jobs = schedule(pool, two_pass=True, seed=args.seed)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    journal = Journal(out_dir / TIMER_JOURNAL)
    header = {"kind": "header", "n": args.n, "seed": args.seed, "budget_s": budget_s}
    records = journal.load()
    if records and {k: records[0].get(k) for k in header} != header:
        raise SystemExit(f"{journal.path} was written for another run ({records[0]}); delete it to start over")
    if not records:
        journal.append(header)
    res = _timer_medians(records)
    spent_before = sum(r["seconds"] for r in records if r.get("kind") == "result")
    todo = [(a, p) for a, p in jobs if p not in res.get(a, {})]
    per_job = max(budget_s - spent_before, 0.0) / max(len(todo), 1)
    t0 = time.time()
    try:
        with _Progress(len(todo), "torch.utils.benchmark.Timer") as bar:
            for k, (arch, p) in enumerate(todo):
                tj = time.time()
                model = NB201.build_model(arch).eval()
                # what is left of this session's share of the budget, after building the model
                left = max(per_job * (k + 1) - (time.time() - t0), 0.0)
                with torch.inference_mode():
                    timer = Timer(stmt="m(x)", globals={"m": model, "x": x}, num_threads=1)
                    m = timer.blocked_autorange(min_run_time=max(left, 0.01))
                res.setdefault(arch, {})[p] = m.median * 1e3
                journal.append({"kind": "result", "arch": list(arch), "pass": p, "median_ms": m.median * 1e3,
                                "seconds": time.time() - tj})
                bar.advance()
    finally:
        journal.close()
    wall = spent_before + (time.time() - t0)
    archs = sorted(res)
    p1 = np.array([res[a][0] for a in archs])
    p2 = np.array([res[a][1] for a in archs])
    return {"rows": len(archs), "tau": kendall_tau(p1, p2), "spearman": spearman(p1, p2),
            "median_rel_diff_between_passes": rel_diff(p1, p2),
            "wall_s": wall, "budget_s": budget_s, "jobs_per_min": len(jobs) / wall * 60}


def head_to_head(args, out_dir: Path) -> dict:
    """Both timers on the same freshly built model, one right after the other (alternating which
    goes first), Timer given exactly the wall time ours took: load changes hit both alike."""
    from torch.utils.benchmark import Timer

    from hwpred.measure import CPUTimer

    torch.set_num_threads(1)
    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    jobs = schedule(pool, two_pass=True, seed=args.seed)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    timer = CPUTimer(RepeatPolicy(repeats=args.repeats, warmup=args.warmup), threads=1)
    res: dict[str, dict[tuple, dict[int, float]]] = {"ours": {}, "ours_cpu": {}, "timer": {}}
    t0 = time.time()
    spent = {"ours": 0.0, "timer": 0.0}
    with _Progress(len(jobs), "head to head") as bar:
        for k, (arch, p) in enumerate(jobs):
            model = NB201.build_model(arch).eval()
            budget = None
            for who in (("ours", "timer") if k % 2 == 0 else ("timer", "ours")):
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
                            min_run_time=max(b, 0.01))
                    spent["timer"] += time.perf_counter() - ts
                    res["timer"].setdefault(arch, {})[p] = m.median * 1e3
            bar.advance()
    out = {"rows": len(pool), "wall_s": time.time() - t0, "seconds_ours": spent["ours"], "seconds_timer": spent["timer"]}
    for name, d in res.items():
        archs = sorted(d)
        p1 = np.array([d[a][0] for a in archs])
        p2 = np.array([d[a][1] for a in archs])
        out[name] = {"tau": kendall_tau(p1, p2), "spearman": spearman(p1, p2),
                     "median_rel_diff_between_passes": rel_diff(p1, p2)}
    (out_dir / "head_to_head.json").write_text(json.dumps(out, indent=2))
    return out


def op_counts(archs) -> np.ndarray:
    """(cells, ops): how many of the six edges of each cell carry each op."""
    a = np.asarray(archs)
    return np.stack([(a == k).sum(1) for k in range(len(NB201.op_names))], 1)


def op_multiset_ties(archs) -> dict:
    """Pairs of cells with the same multiset of ops. All NAS-Bench-201 edges run on tensors of one
    shape, so such cells do the same work and their latency order is a coin toss in each pass:
    with a fraction f of such pairs, two passes cannot agree beyond tau = 1 - f on average."""
    from collections import Counter

    groups = Counter(tuple(row) for row in op_counts(archs))
    pairs = len(archs) * (len(archs) - 1) // 2
    tied = sum(v * (v - 1) // 2 for v in groups.values())
    return {"pairs": pairs, "same_op_multiset": tied, "fraction": tied / pairs, "tau_ceiling": 1 - tied / pairs}


#: the two NAS-Bench-201 ops without weights: ``none`` is ``x.mul(0)``, ``skip_connect`` the identity
WEIGHTLESS_OPS = ("none", "skip_connect")


def pair_classes(archs, p1, p2) -> dict:
    """Where do two passes disagree? Every pair of cells falls in one class:

    - ``same_ops``: the same multiset of ops (the same work: a coin toss in each pass);
    - ``none_vs_skip``: the same number of each conv and pool op, differing only in how many edges
      are ``none`` rather than ``skip_connect`` (one elementwise kernel per edge and stacked cell
      apart: the closest pairs that do differ in work);
    - ``rest``: cells that differ in a conv or pool op.

    For each class: its pairs, Kendall tau between the passes within it ((concordant -
    discordant) / pairs, exact ties counted as half), and its share of all discordant pairs.
    """
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    counts = op_counts(archs)
    weighted = [k for k, name in enumerate(NB201.op_names) if name not in WEIGHTLESS_OPS]
    i, j = np.triu_indices(len(counts), 1)
    same_ops = (counts[i] == counts[j]).all(1)
    same_weighted = (counts[i][:, weighted] == counts[j][:, weighted]).all(1)
    cls = np.where(same_ops, "same_ops", np.where(same_weighted, "none_vs_skip", "rest"))
    agree = np.sign(p1[i] - p1[j]) * np.sign(p2[i] - p2[j])  # +1 concordant, -1 discordant, 0 tie
    discordant = agree < 0
    out = {"pairs": len(i), "discordant": int(discordant.sum()), "tau_pairs": float(agree.mean())}
    for name in ("same_ops", "none_vs_skip", "rest"):
        m = cls == name
        out[name] = {"pairs": int(m.sum()), "fraction": float(m.mean()),
                     "tau": float(agree[m].mean()) if m.any() else float("nan"),
                     "share_of_discordant": float(discordant[m].sum() / max(discordant.sum(), 1))}
    return out


#: statistics of the paired samples (columns: cell wall, reference wall, cell CPU, reference CPU; ms)
ESTIMATORS = {
    "median of ratios (harness)": lambda s: np.median(s[:, 0] / s[:, 1]),
    "ratio of medians": lambda s: np.median(s[:, 0]) / np.median(s[:, 1]),
    "ratio of 10th percentiles": lambda s: np.quantile(s[:, 0], RATIO_QUANTILE) / np.quantile(s[:, 1], RATIO_QUANTILE),
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
    from hwpred.measure import CPUTimer
    from hwpred.measure.harness import SPACE_DEFAULTS

    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    jobs = schedule(pool, two_pass=True, seed=args.seed)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    ref = NB201.build_model(SPACE_DEFAULTS["nb201"][2]).eval()
    timer = CPUTimer(RepeatPolicy(repeats=args.estimators, warmup=args.warmup), threads=1)
    raw: dict[tuple, dict[int, np.ndarray]] = {}
    t0 = time.time()
    with _Progress(len(jobs), "paired raw samples") as bar:
        for arch, p in jobs:
            timer.measure(NB201.build_model(arch).eval(), x, reference=ref)
            ls = timer.last_samples  # columns: cell wall, reference wall, cell CPU, reference CPU (ms)
            raw.setdefault(arch, {})[p] = np.column_stack([ls["wall_ms"], ls["ref_wall_ms"], ls["cpu_ms"],
                                                           ls["ref_cpu_ms"]])
            bar.advance()
    wall = time.time() - t0
    np.savez_compressed(out_dir / "paired_samples.npz", archs=np.array(sorted(raw)),
                        pass1=np.stack([raw[a][0] for a in sorted(raw)]), pass2=np.stack([raw[a][1] for a in sorted(raw)]))
    ks = [k for k in (10, 20, 40, 80, 160, 320, 640, 1280, 2560) if k <= args.estimators]
    table = {}
    for name, f in ESTIMATORS.items():
        table[name] = {}
        for k in ks:
            a = np.array([f(raw[c][0][:k]) for c in sorted(raw)])
            b = np.array([f(raw[c][1][:k]) for c in sorted(raw)])
            table[name][k] = {"tau": kendall_tau(a, b), "median_rel_diff": rel_diff(a, b)}
    out = {"rows": len(raw), "pairs_per_measurement": args.estimators, "wall_s": wall, "table": table,
           "ties": op_multiset_ties(sorted(raw))}
    (out_dir / "estimators.json").write_text(json.dumps(out, indent=2))
    return out


def _q10_ratio(samples: dict) -> float:
    """The harness's paired statistic from one job's raw times: 10th percentile of the cell's
    forwards over that of the reference's."""
    return float(np.quantile(samples["wall_ms"], RATIO_QUANTILE) / np.quantile(samples["ref_wall_ms"], RATIO_QUANTILE))


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
    from hwpred.measure import CPUTimer
    from hwpred.measure.harness import SPACE_DEFAULTS

    pool = select_archs(NB201, limit=args.n, seed=args.seed)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(args.seed))
    ref = NB201.build_model(SPACE_DEFAULTS["nb201"][2]).eval()
    timer = CPUTimer(RepeatPolicy(repeats=args.job_noise, warmup=args.warmup), threads=1)
    out: dict = {"cells": len(pool), "pairs_per_job": args.job_noise}

    if args.experiment in ("builds", "both"):
        models = {(i, b): NB201.build_model(a).eval() for i, a in enumerate(pool) for b in range(2)}
        jobs = [(i, b, r) for i in range(len(pool)) for b in range(2) for r in range(3)]
        np.random.default_rng(args.seed + 1).shuffle(jobs)
        q = {}
        t0 = time.time()
        with _Progress(len(jobs), "re-timed builds") as bar:
            for i, b, r in jobs:
                timer.measure(models[(i, b)], x, reference=ref)
                q[(i, b, r)] = np.log(_q10_ratio(timer.last_samples))
                bar.advance()
        within = [q[(i, b, r)] - np.mean([q[(i, b, s)] for s in range(3)])
                  for i in range(len(pool)) for b in range(2) for r in range(3)]
        sd_within = float(np.sqrt(np.sum(np.square(within)) / (len(within) - 2 * len(pool))))
        build_diff = [np.mean([q[(i, 0, r)] for r in range(3)]) - np.mean([q[(i, 1, r)] for r in range(3)])
                      for i in range(len(pool))]
        ms = float(np.mean(np.square(build_diff)))
        out["builds"] = {"wall_s": time.time() - t0, "sd_log_ratio_retimed_same_build": sd_within,
                         "rms_difference_of_build_means": float(np.sqrt(ms)),
                         # E[diff^2] = 2 sd_build^2 + 2 sd_within^2 / 3
                         "sd_log_ratio_between_builds": float(np.sqrt(max(ms / 2 - sd_within ** 2 / 3, 0.0))),
                         "values": {f"{i},{b},{r}": float(np.exp(v)) for (i, b, r), v in sorted(q.items())}}

    if args.experiment in ("rounds", "both"):
        R = args.rounds
        jobs = [(i, p, r) for i in range(len(pool)) for p in range(2) for r in range(R)]
        np.random.default_rng(args.seed + 2).shuffle(jobs)
        v = np.zeros((len(pool), 2, R))
        t0 = time.time()
        with _Progress(len(jobs), f"{R} rounds per pass") as bar:
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
                diffs = [rel_diff(v[:, 0, r], v[:, 1, s]) for r in range(R) for s in range(R)]
                table[name] = {"tau": float(np.mean(taus)), "median_rel_diff": float(np.mean(diffs))}
            else:
                table[name] = {"tau": kendall_tau(*ab), "median_rel_diff": rel_diff(*ab)}
        resid = np.log(v) - np.log(v).mean(2, keepdims=True)
        out["rounds"] = {"rounds": R, "wall_s": time.time() - t0, "table": table,
                         "sd_log_ratio_between_jobs_of_a_pass": float(np.sqrt(np.sum(resid ** 2) / (resid.size - v[..., 0].size))),
                         "share_of_jobs_off_by_more_than_1pct": float(np.mean(np.abs(resid) > 0.01)),
                         "ties": op_multiset_ties(pool), "values": v.tolist(), "archs": [list(a) for a in pool]}
    if args.experiment == "equal-time":
        # one job of K pairs against R jobs of K // R pairs, for each cell and pass, all in one shuffled run
        R, k_split = args.rounds, args.job_noise // args.rounds
        split_timer = CPUTimer(RepeatPolicy(repeats=k_split, warmup=args.warmup), threads=1)
        jobs = [(i, p, "one", 0) for i in range(len(pool)) for p in range(2)]
        jobs += [(i, p, "split", r) for i in range(len(pool)) for p in range(2) for r in range(R)]
        np.random.default_rng(args.seed + 3).shuffle(jobs)
        one, split = np.zeros((len(pool), 2)), np.zeros((len(pool), 2, R))
        seconds = {"one": 0.0, "split": 0.0}
        with _Progress(len(jobs), f"1 job of {args.job_noise} pairs vs {R} of {k_split}") as bar:
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
        table = {f"one job of {args.job_noise} pairs": (one[:, 0], one[:, 1]),
                 f"median of {R} jobs of {k_split} pairs": (np.median(split[:, 0], 1), np.median(split[:, 1], 1)),
                 f"mean of {R} jobs of {k_split} pairs": (split[:, 0].mean(1), split[:, 1].mean(1))}
        out["equal_time"] = {"rounds": R, "pairs_split": k_split, "seconds": seconds, "ties": op_multiset_ties(pool),
                             "table": {k: {"tau": kendall_tau(*ab), "median_rel_diff": rel_diff(*ab)} for k, ab in table.items()},
                             "one": one.tolist(), "split": split.tolist(), "archs": [list(a) for a in pool]}
    (out_dir / "job_noise.json").write_text(json.dumps(out, indent=2))
    return out


def plot(out_dir: Path) -> list[Path]:
    """Pass 1 against pass 2 (wall-clock latency and thread CPU time), PNG + SVG next to the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    from hwpred.data.table import MetricTable

    t = MetricTable.read_parquet(out_dir / OURS_TABLE)
    tag = t.column_names[0].split("/")[0]
    panels = [("wall-clock latency (median)", "latency_ms", "latency_pass2_ms"),
              ("thread CPU time (median)", "cpu_time_ms", "cpu_time_pass2_ms")]
    if f"{tag}/rel_latency" in t.columns:
        panels.append(("paired: median ratio to reference", "rel_latency", "rel_latency_pass2"))
    if f"{tag}/rel_latency_q10" in t.columns:
        panels.append(("paired: ratio of 10th percentiles", "rel_latency_q10", "rel_latency_q10_pass2"))
    data = {a: (t.column(f"{tag}/{a}"), t.column(f"{tag}/{b}")) for _, a, b in panels}
    timer = timer_results(out_dir)
    if timer is not None:  # Timer's own journal, on the cells both have in both passes
        both = [a for a in t.arch_tuples if len(timer.get(a, {})) == 2]
        if len(both) >= 2:
            panels.append((f"torch Timer, equal budget ({len(both)} cells)", "timer_ms", ""))
            data["timer_ms"] = (np.array([timer[a][0] for a in both]), np.array([timer[a][1] for a in both]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.5))
    for ax, (name, a, _) in zip(axes, panels):
        x, y = data[a]
        ax.scatter(x, y, s=6, alpha=0.6)
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(NullFormatter())
            axis.set_major_formatter(ScalarFormatter())
        unit = "" if a.startswith("rel") else " (ms)"
        ax.set_xlabel("pass 1" + unit)
        ax.set_ylabel("pass 2" + unit)
        ax.set_title(f"{name}: tau {kendall_tau(x, y):.3f}")
    fig.suptitle(f"{len(t)} NAS-Bench-201 cells, two independent passes, {t.meta['device']['cpu_model']}, "
                 "batch 1, 1 thread", fontsize=9)
    fig.tight_layout()
    outs = [out_dir / "passes.png", out_dir / "passes.svg"]
    for o in outs:
        fig.savefig(o, dpi=130)
    plt.close(fig)
    return outs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", default="results/measure/bench")
    ap.add_argument("--skip-timer", action="store_true", help="only our harness")
    ap.add_argument("--timer-only", action="store_true",
                    help="the harness's table in --out-dir is finished: summarise it and run (or resume) only "
                         "the Timer at its budget")
    ap.add_argument("--paired", action="store_true", help="our harness with --paired-reference")
    ap.add_argument("--head-to-head", action="store_true",
                    help="both timers on each freshly built model back to back, equal time")
    ap.add_argument("--equal-total", action="store_true",
                    help="head to head: shrink Timer's min_run_time so its total time equals ours")
    ap.add_argument("--plot-only", action="store_true", help="only redraw the figure from the measured table")
    ap.add_argument("--estimators", type=int, default=0, metavar="K",
                    help="record K raw paired forwards per cell and pass, and compare statistics on them")
    ap.add_argument("--job-noise", type=int, default=0, metavar="K",
                    help="jobs of K paired forwards: is the q10 ratio's noise per forward, per job or per build?")
    ap.add_argument("--experiment", choices=("builds", "rounds", "both", "equal-time"), default="both",
                    help="--job-noise: which experiment to run")
    ap.add_argument("--journal-from", metavar="FILE",
                    help="start the harness's journal in --out-dir from FILE (.jsonl or .jsonl.gz) if it has none: "
                         "continue a run begun on another machine")
    ap.add_argument("--journal-reading", action="store_true",
                    help="read the harness's journal in --out-dir (finished or not) and report the taus by rounds done")
    ap.add_argument("--rounds", type=int, default=None,
                    help="jobs per cell and pass: for the harness (its --rounds, default 1) or --job-noise (default 3)")
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.job_noise else 1
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.journal_from and carry_journal(Path(args.journal_from), out_dir):
        print(f"journal started from {args.journal_from}")
    if args.journal_reading:
        j = journal_reading(out_dir)
        print(f"{j['jobs']} jobs in the journal, {j['rounds']} rounds per cell and pass; paired q10 ratio, pass 1 vs 2:")
        for row in j["by_rounds_done"]:
            if "tau_median" not in row:
                print(f"  rounds 0..{row['rounds'] - 1} done: {row['cells']} cells, too few")
                continue
            pc = row["pair_classes"]
            print(f"  rounds 0..{row['rounds'] - 1} done: {row['cells']} cells; round 0 alone tau {row['tau_round0']:.4f} "
                  f"({row['rel_diff_round0']:.4f}), "
                  + (f"median of {row['rounds'] - 1} tau {row['tau_previous']:.4f} ({row['rel_diff_previous']:.4f}), "
                     if "tau_previous" in row else "")
                  + f"median of {row['rounds']} tau {row['tau_median']:.4f} "
                  f"({row['rel_diff_median']:.4f}); within classes: "
                  + ", ".join(f"{c} {pc[c]['pairs']} pairs tau {pc[c]['tau']:.3f}" for c in ("same_ops", "none_vs_skip", "rest")))
        (out_dir / "journal_reading.json").write_text(json.dumps(j, indent=2))
        return 0
    if args.plot_only:
        print("wrote", *plot(out_dir))
        return 0
    if args.estimators:
        e = estimators(args, out_dir)
        print(f"{e['rows']} archs x 2 passes, {e['pairs_per_measurement']} paired forwards each ({e['wall_s']:.0f} s); "
              "Kendall tau pass 1 vs 2 (median |p1-p2|/mean) on the first k pairs:")
        ks = list(next(iter(e["table"].values())))
        print("| statistic | " + " | ".join(f"k={k}" for k in ks) + " |")
        print("|---|" + "---|" * len(ks))
        for name, row in e["table"].items():
            print(f"| {name} | " + " | ".join(f"{v['tau']:.3f} ({v['median_rel_diff']:.4f})" for v in row.values()) + " |")
        t = e["ties"]
        print(f"pairs with the same op multiset: {t['same_op_multiset']} of {t['pairs']} "
              f"({t['fraction']:.4f}); expected tau ceiling {t['tau_ceiling']:.4f}")
        return 0
    if args.job_noise:
        j = job_noise(args, out_dir)
        if "builds" in j:
            b = j["builds"]
            print(f"{j['cells']} cells, 2 builds x 3 re-timings, {j['pairs_per_job']} pairs per job ({b['wall_s']:.0f} s): "
                  f"sd of log q10 ratio re-timing one build {b['sd_log_ratio_retimed_same_build']:.4f}, "
                  f"between builds {b['sd_log_ratio_between_builds']:.4f}")
        if "rounds" in j:
            r = j["rounds"]
            print(f"{j['cells']} cells x 2 passes x {r['rounds']} jobs of {j['pairs_per_job']} pairs ({r['wall_s']:.0f} s); "
                  f"sd of log q10 ratio between the jobs of a pass {r['sd_log_ratio_between_jobs_of_a_pass']:.4f}, "
                  f"{r['share_of_jobs_off_by_more_than_1pct']:.0%} of jobs more than 1 % off their pass's mean; "
                  f"tau ceiling from same-work pairs {r['ties']['tau_ceiling']:.4f}")
            for name, row in r["table"].items():
                print(f"  {name:50s}: tau {row['tau']:.3f}, median |p1-p2|/mean {row['median_rel_diff']:.4f}")
        if "equal_time" in j:
            e = j["equal_time"]
            print(f"{j['cells']} cells x 2 passes, in one shuffled run (seconds measuring: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in e["seconds"].items())
                  + f"); tau ceiling from same-work pairs {e['ties']['tau_ceiling']:.4f}")
            for name, row in e["table"].items():
                print(f"  {name:50s}: tau {row['tau']:.3f}, median |p1-p2|/mean {row['median_rel_diff']:.4f}")
        return 0
    if args.head_to_head:
        h = head_to_head(args, out_dir)
        print(f"head to head, {h['rows']} archs x 2 passes, same models back to back, equal time "
              f"(ours {h['seconds_ours']:.0f} s, Timer {h['seconds_timer']:.0f} s):")
        for name, label in (("ours", "hwpred.measure median wall clock"), ("timer", "torch.utils.benchmark.Timer"),
                            ("ours_cpu", "hwpred.measure thread CPU time")):
            r = h[name]
            print(f"  {label:34s}: tau {r['tau']:.4f}, spearman {r['spearman']:.4f}, "
                  f"median |p1-p2|/mean {r['median_rel_diff_between_passes']:.4f}")
        return 0
    torch.set_num_threads(1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    a = ours(args, out_dir)
    print(f"hwpred.measure   : {a['rows']} archs x 2 passes, repeats {args.repeats} (+{args.warmup} warm-up): "
          f"tau {a['tau']:.4f}, spearman {a['spearman']:.4f}, median CV within arch {a['median_cv_within_arch']:.4f}, "
          f"median |p1-p2|/mean {a['median_rel_diff_between_passes']:.4f}, {a['jobs_per_min']:.1f} measurements/min "
          f"({a['wall_s']:.0f} s), reference drift {a['reference_drift_rel']:+.3f} (range {a['reference_range_rel']:.3f})",
          flush=True)
    if args.paired:
        print(f"  same run, paired rel_latency column: tau {a['tau_rel_latency']:.4f}, spearman "
              f"{a['spearman_rel_latency']:.4f}, median |p1-p2|/mean {a['median_rel_diff_rel_latency']:.4f}", flush=True)
        print(f"  same run, paired rel_latency_q10 column: tau {a['tau_rel_latency_q10']:.4f}, spearman "
              f"{a['spearman_rel_latency_q10']:.4f}, median |p1-p2|/mean {a['median_rel_diff_rel_latency_q10']:.4f}",
              flush=True)
    for col, pc in a["pair_classes"].items():
        print(f"  where {col} disagrees: " + "; ".join(
            f"{k} {pc[k]['pairs']} pairs ({pc[k]['fraction']:.4f}), tau {pc[k]['tau']:.3f}, "
            f"{pc[k]['share_of_discordant']:.0%} of the discordant" for k in ("same_ops", "none_vs_skip", "rest")), flush=True)
    print(f"  same run, thread CPU time column: tau {a['tau_cpu_time']:.4f}, spearman {a['spearman_cpu_time']:.4f}, "
          f"median |p1-p2|/mean {a['median_rel_diff_cpu_time']:.4f}", flush=True)
    b = None
    if not args.skip_timer:
        b = torch_timer(args, a["wall_s"], out_dir)
        print(f"torch Timer      : {b['rows']} archs x 2 passes, blocked_autorange at equal budget "
              f"({b['budget_s']:.0f} s budget, {b['wall_s']:.0f} s used): tau {b['tau']:.4f}, spearman {b['spearman']:.4f}, "
              f"median |p1-p2|/mean {b['median_rel_diff_between_passes']:.4f}", flush=True)
        ours_best = f", paired rel_latency_q10 {a['tau_rel_latency_q10']:.4f}" if args.paired else ""
        print(f"tau side by side : hwpred.measure latency_ms {a['tau']:.4f}{ours_best} vs "
              f"torch.utils.benchmark.Timer {b['tau']:.4f}")
    summary = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "command": " ".join(["python"] + sys.argv), "machine": describe_device("cpu", threads=1, batch_size=1,
                                                                                         input_size=32),
               "python": platform.python_version(), "ours": a, "torch_timer": b}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out_dir / 'summary.json'}", *plot(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
