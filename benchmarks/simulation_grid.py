"""Simulation grid speed: the exact Kendall tau, one selection, one full pair of the paper2022 grid.

[1] The old and the new Kendall tau on the same 11,000 simulated predictors (11 noise levels x
    1,000 trials of one subset size of one pair, the grid's own subsets and noise): scipy's
    ``kendalltau`` per predictor against :class:`hwpred.simulation.TauReference` batched over the
    trials; the values must be equal (==), then the speed-up.
[2] One ``simulate_selection`` call on 100 architectures against pymoo's non-dominated sorting
    (selected set and true front) + pymoo's hypervolume (selection and true front).
[3] One full pair of ``simulation/paper2022.yaml`` (6 subset sizes x 11 noise levels x 1,000
    trials) with ``--workers`` processes, start-up included; the workers' peak RSS and CPU time.

CPU times are printed beside wall times: on a shared machine the wall time grows with the load,
the CPU time much less.

    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/simulation_grid.py
    python benchmarks/simulation_grid.py --size all --trials 200 --skip-pair
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _pair():
    from hwpred.simulation import load_pair, make_pair

    if os.environ.get("HWPRED_DATA_MIRROR"):
        return load_pair("nats:cifar10", "help:raspi4"), "nats:cifar10 x help:raspi4 (real)"
    from hwpred.data import MetricTable
    from hwpred.spaces import NB201

    archs = np.array(NB201.enumerate())
    rng = np.random.default_rng(0)
    size = archs.sum(1).astype(float)
    acc = MetricTable("nb201", archs, {"a": np.clip(40 + 2 * size + rng.normal(0, 3, len(archs)), 1, 99)})
    lat = MetricTable("nb201", archs, {"ms": 1 + size + np.exp(rng.normal(0, 0.5, len(archs)))})
    return make_pair(acc, "a", lat, "ms", accuracy_name="toy:acc", hardware_name="toy:ms"), "synthetic"


def _clock():
    return time.perf_counter(), time.process_time()


def part_tau(size, trials: int) -> None:
    from scipy.stats import kendalltau

    from hwpred.simulation import TauReference, load_config
    from hwpred.simulation.unit import _noise, _subset, _true_front, unit_task

    pair, what = _pair()
    cfg = load_config(ROOT / "simulation" / "paper2022.yaml")
    task = unit_task(pair, cfg, size, 0, trials)
    n = task.size
    xs, ys = [], []
    for t in range(trials):
        idx = np.arange(len(pair)) if n >= len(pair) else _subset(task, t)
        front = _true_front(task, pair.acc[idx], pair.hw[idx])
        xs.append(front.hw_s[0])
        ys.append(np.stack([front.hw_s[0] + _noise(task, t, s, "hw", n) for s in cfg.noise_stds]))
    count = trials * len(cfg.noise_stds)
    w0, c0 = _clock()
    old = [float(kendalltau(x, y[k]).statistic) for x, y in zip(xs, ys) for k in range(len(y))]
    w1, c1 = _clock()
    new = np.concatenate([TauReference(x).tau(y) for x, y in zip(xs, ys)])
    w2, c2 = _clock()
    equal = int(sum(a == b or (np.isnan(a) and np.isnan(b)) for a, b in zip(old, new)))
    print(f"[1] Kendall tau: {what}, subset size {n}, {trials} trials x {len(cfg.noise_stds)} noise levels")
    print(f"    old (scipy, one call each) : wall {w1 - w0:7.2f} s, cpu {c1 - c0:7.2f} s")
    print(f"    new (TauReference, batched): wall {w2 - w1:7.2f} s, cpu {c2 - c1:7.2f} s")
    print(
        f"    speed-up {(w1 - w0) / (w2 - w1):.1f}x wall, {(c1 - c0) / (c2 - c1):.1f}x cpu; "
        f"equal values: {equal} of {count}"
    )
    if equal != count:
        raise SystemExit("the new Kendall tau differs from scipy's")


def part_selection(repeats: int) -> None:
    from pymoo.indicators.hv import HV
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    from hwpred.simulation import NoiseModel, simulate_selection

    rng = np.random.default_rng(0)
    acc = rng.uniform(0.5, 0.95, 100)
    hw = rng.normal(size=100) + 3 * acc
    noisy = hw + NoiseModel().sample(100, 0.5, rng)

    def pymoo_side():
        true = np.column_stack([-acc, hw])
        sel = NonDominatedSorting().do(np.column_stack([-acc, noisy]), only_non_dominated_front=True)
        front = NonDominatedSorting().do(true, only_non_dominated_front=True)
        hv = HV(ref_point=np.array([0.0, 1.1 * hw[front].max()]))
        return hv(true[sel]), hv(true[front])

    def ours():
        return simulate_selection(acc, noisy, acc, hw)

    times = {}
    for name, f in (("hwpred simulate_selection", ours), ("pymoo NDS x2 + HV x2", pymoo_side)):
        f()
        _, c0 = _clock()
        for _ in range(repeats):
            f()
        times[name] = (time.process_time() - c0) / repeats
    (a, ta), (b, tb) = times.items()
    print(f"[2] one selection of 100 architectures ({repeats} calls, cpu time per call)")
    print(f"    {a}: {1e6 * ta:7.1f} us;  {b}: {1e6 * tb:7.1f} us;  ratio {tb / ta:.2f}x")


def part_pair(workers: int, trials: int) -> None:
    from hwpred.simulation import load_config, run_simulation

    if not os.environ.get("HWPRED_DATA_MIRROR"):
        print("[3] skipped: set HWPRED_DATA_MIRROR to time a real pair of the paper2022 grid")
        return
    cfg = load_config(ROOT / "simulation" / "paper2022.yaml")
    spec = next(p for p in cfg.pairs if (p.accuracy, p.hardware) == ("nats:cifar10", "help:raspi4"))
    out = Path(tempfile.mkdtemp(prefix="hwpred-simgrid-"))
    cfg = dataclasses.replace(
        cfg,
        name="bench-pair",
        pairs=(spec,),
        trials=trials,
        output=out,
        example=dataclasses.replace(cfg.example, pair=0),
    )
    load = os.getloadavg()
    w0, _ = _clock()
    store = run_simulation(cfg, workers=workers, progress=False)
    wall = time.perf_counter() - w0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"[3] one pair (nats:cifar10 x help:raspi4), 6 sizes x 11 noise levels x {trials} trials = "
        f"{len(store.read())} rows, {workers} worker(s), load average before {load[0]:.1f}"
    )
    print(
        f"    wall {wall:.1f} s (start-up included); workers' cpu {ru.ru_utime + ru.ru_stime:.1f} s; "
        f"peak worker RSS {ru.ru_maxrss / 1024:.0f} MiB"
    )
    print(
        f"    whole grid of 144 pairs at this worker cpu time on {workers} idle cores: "
        f"{144 * (ru.ru_utime + ru.ru_stime) / workers / 60:.1f} min"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1000", help="subset size for [1] (an integer or 'all')")
    ap.add_argument("--trials", type=int, default=1000, help="trials for [1] and [3]")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2000, help="calls per side in [2]")
    ap.add_argument("--skip-pair", action="store_true", help="leave out [3]")
    args = ap.parse_args()
    import numba
    import scipy

    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, numba {numba.__version__}; load average {os.getloadavg()[0]:.1f}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    part_tau(args.size if args.size == "all" else int(args.size), args.trials)
    part_selection(args.repeats)
    if not args.skip_pair:
        part_pair(args.workers, args.trials)


if __name__ == "__main__":
    main()
