"""Simulation speed: fast selection core vs the plain reference, and the grid's wall time per pair.

Part 1 (side by side, one run): the same 200 simulated selections on all 15,625 NAS-Bench-201
architectures (real nats:cifar10 x help:raspi4 when the data mirror is set, else synthetic),
noise std 0.5. Both sides get the same noisy values and compute the selected set, the true
front, MRA_all, MRA_pareto, the hardware gaps and both hypervolumes; the fast side is the grid's code path
(`TrueFront.select_sorted` + `evaluate_compact`, one accuracy order for all selections), the
reference follows the definitions (pymoo non-dominated sorting and hypervolume, explicit MRA
loops). Noise generation and Kendall tau are left out.

Part 2: wall time of the simulation/paper2022.yaml grid (6 subset sizes x 11 noise levels x
--trials trials, all stored) for --pairs accuracy x hardware pairs, one process.

    HWPRED_DATA_MIRROR=/work/shared/datasets python benchmarks/simulation.py
    python benchmarks/simulation.py --reference-selections 200 --trials 1000 --pairs 1
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _data():
    from hwpred.simulation import load_pair

    if os.environ.get("HWPRED_DATA_MIRROR"):
        p = load_pair("nats:cifar10", "help:raspi4")
        return p.acc, p.hw, "nats:cifar10 x help:raspi4 (real)"
    from hwpred.spaces import NB201

    archs = np.array(NB201.enumerate())
    rng = np.random.default_rng(0)
    acc = np.clip(0.4 + 0.02 * archs.sum(1) + rng.normal(0, 0.03, len(archs)), 0.05, 0.99)
    hw = archs.sum(1) + np.exp(rng.normal(0, 0.5, len(archs)))
    return acc, (hw - hw.mean()) / hw.std(), "synthetic (no HWPRED_DATA_MIRROR)"


def _front(acc: np.ndarray, hw: np.ndarray) -> np.ndarray:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    if len(acc) == 1:
        return np.array([0])
    return np.sort(NonDominatedSorting().do(np.column_stack([-acc, hw]), only_non_dominated_front=True))


def reference(acc: np.ndarray, hw: np.ndarray, hw_seen: np.ndarray, ref_hw: float) -> dict:
    """What the fast side computes for the selection under hw_seen, by the definitions."""
    from pymoo.indicators.hv import HV

    front, sel = _front(acc, hw), _front(acc, hw_seen)
    acc_gap, hw_gap = {}, {}
    for s in sel:  # gaps to the front members that weakly dominate s: best accuracy, lowest metric
        dominating = [f for f in front if acc[f] >= acc[s] and hw[f] <= hw[s]]
        acc_gap[s] = max(acc[f] for f in dominating) - acc[s]
        hw_gap[s] = hw[s] - min(hw[f] for f in dominating)
    verified = sel[_front(acc[sel], hw[sel])]
    hv = HV(ref_point=np.array([0.0, ref_hw]))
    return {
        "mra_all": np.mean([acc_gap[s] for s in sel]),
        "mra_pareto": np.mean([acc_gap[s] for s in verified]),
        "hw_gap_all": np.mean([hw_gap[s] for s in sel]),
        "hw_gap_pareto": np.mean([hw_gap[s] for s in verified]),
        "hv": float(hv(np.column_stack([-acc[sel], hw[sel]]))),
        "hv_true": float(hv(np.column_stack([-acc[front], hw[front]]))),
    }


def part1(n_sel: int, n_ref: int, noise_std: float) -> float:
    from hwpred.simulation import NoiseModel, TrueFront

    acc, hw, what = _data()
    n = len(acc)
    noise = np.stack([NoiseModel().sample(n, noise_std, np.random.default_rng(i)) for i in range(n_sel)])
    # i.i.d. noise per architecture, laid out in the front's accuracy order as the grid does; the
    # reference takes the same values in that order (its definitions do not depend on the order)
    layout = TrueFront(acc[None, :], hw[None, :])
    acc_s, hw_s = layout.acc_s[0], layout.hw_s[0]
    noisy_s = hw_s + noise
    t = time.perf_counter()
    front = TrueFront(acc[None, :], hw[None, :])
    met = front.evaluate_compact(front.select_sorted(noisy_s))
    fast = time.perf_counter() - t

    t = time.perf_counter()
    ref_rows = [reference(acc_s, hw_s, noisy_s[i], float(front.ref_hw[0])) for i in range(n_ref)]
    ref = time.perf_counter() - t
    for i, r in enumerate(ref_rows):  # same numbers, or the timing means nothing
        for k, v in r.items():
            if abs(v - getattr(met, k)[i]) > 1e-12 * max(1.0, abs(v)):
                raise SystemExit(
                    f"selection {i}: {k} is {getattr(met, k)[i]} on the fast side, {v} by the reference"
                )
    fast_per, ref_per = fast / n_sel, ref / n_ref
    print(f"[1] data: {what}; {n_sel} selections of {n} architectures, noise std {noise_std}")
    print(f"    fast      : {fast:8.3f} s total, {1e3 * fast_per:8.3f} ms per selection")
    print(
        f"    reference : {ref:8.3f} s for {n_ref}, {1e3 * ref_per:8.3f} ms per selection "
        f"(pymoo NDS + pymoo HV + loops)"
    )
    print(f"    speed-up  : {ref_per / fast_per:8.1f}x   (results equal on all {n_ref} compared selections)")
    print(
        f"    mean MRA_all {100 * met.mra_all.mean():.3f} pp, MRA_pareto {100 * met.mra_pareto.mean():.3f} pp, "
        f"HV fraction {met.hv_fraction.mean():.4f}"
    )
    return ref_per / fast_per


def part2(trials: int, n_pairs: int, workers: int, out: Path | None) -> None:
    from hwpred.simulation import load_config, run_simulation

    if not os.environ.get("HWPRED_DATA_MIRROR"):
        print("[2] skipped: set HWPRED_DATA_MIRROR to time the paper2022 grid on real pairs")
        return
    cfg = load_config(ROOT / "simulation" / "paper2022.yaml")
    n_all = len(cfg.pairs)
    # pair order: put the README pair (nats:cifar10 x help:raspi4) first
    pairs = sorted(cfg.pairs, key=lambda p: (p.accuracy, p.hardware) != ("nats:cifar10", "help:raspi4"))[
        :n_pairs
    ]
    out = out or Path(tempfile.mkdtemp(prefix="hwpred-sim-bench-"))
    cfg = dataclasses.replace(
        cfg,
        name=f"bench-{trials}-{n_pairs}",
        pairs=tuple(pairs),
        trials=trials,
        output=out,
        example=dataclasses.replace(cfg.example, pair=0),
    )
    t = time.perf_counter()
    store = run_simulation(cfg, workers=workers, progress=sys.stderr.isatty())
    wall = time.perf_counter() - t
    rows = len(store.read())
    print(
        f"[2] paper2022 grid: {n_pairs} pair(s) x 6 subset sizes x 11 noise levels x {trials} trials "
        f"= {rows} rows, {workers} worker(s)"
    )
    print(
        f"    wall {wall:.1f} s total, {wall / n_pairs:.1f} s per pair "
        f"(whole grid of {n_all} pairs at this rate: {wall / n_pairs * n_all / 3600:.2f} h with {workers} worker(s))"
    )
    print(f"    store: {store.root}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selections", type=int, default=200)
    ap.add_argument(
        "--reference-selections",
        type=int,
        default=200,
        help="how many of the selections the reference also runs (default: all 200)",
    )
    ap.add_argument("--noise-std", type=float, default=0.5)
    ap.add_argument("--trials", type=int, default=1000, help="trials per cell for part 2 (0 skips it)")
    ap.add_argument("--pairs", type=int, default=1, help="pairs of the paper2022 grid to time")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep part 2's store here")
    args = ap.parse_args()
    import scipy
    import torch

    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, torch {torch.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    part1(args.selections, min(args.reference_selections, args.selections), args.noise_std)
    if args.trials > 0:
        part2(args.trials, args.pairs, args.workers, args.out)


if __name__ == "__main__":
    main()
