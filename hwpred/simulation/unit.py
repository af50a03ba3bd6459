"""One unit of simulation work: a (pair, subset size, block of trials) with every noise level.

A unit carries plain arrays only, so it travels to any worker. Every trial's subset and each
of its two simulated predictors (metric and accuracy) have their own seed (from the config
seed, the pair, the size and the trial), so the numbers do not depend on the block size, the
worker count or the order work is resumed in. A trial's noise levels share its predictor's
random parts (:meth:`NoiseModel.draw`). :func:`example_selection` replays one trial in full with the same seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..kendall import TauReference
from ..metrics import kendall_tau
from .grid import ALL, SimulationConfig, resolve_size
from .noise import NoiseDraw, NoiseModel, rng_for
from .pairs import SimPair
from .selection import AccuracyOrder, TrueFront, pareto_mask, reference_metric

#: elements of a (trials x subset) batch array kept in memory at once
BATCH_ELEMENTS = 1 << 21

RESULT_COLUMNS = [
    "pair",
    "accuracy",
    "hardware",
    "selection_accuracy",
    "subset_size",
    "subset_all",
    "noise_std",
    "acc_noise_std",
    "trial",
    "mra_all",
    "mra_pareto",
    "hw_gap_all",
    "hw_gap_pareto",
    "hv",
    "hv_true",
    "hv_fraction",
    "kendall_tau",
    "kendall_tau_acc",
    "n_selected",
    "n_verified",
    "n_front",
]


@dataclass
class UnitTask:
    """Everything a worker needs for one (pair, size, block of trials): plain arrays only."""

    pair_key: str
    accuracy: str
    hardware: str
    selection_accuracy: str | None
    acc: np.ndarray
    select_acc: np.ndarray
    hw: np.ndarray
    hw_mean: float
    hw_std: float
    size: int
    size_all: bool
    t0: int
    t1: int
    noise_stds: tuple[float, ...]
    acc_noise_stds: tuple[float, ...]
    seed: int
    noise_model: NoiseModel
    hv_reference: str = "front-max"

    @property
    def part_id(self) -> str:
        return f"{self.pair_key}|n={'all' if self.size_all else self.size}|t={self.t0}-{self.t1}"

    @property
    def weight(self) -> int:
        """Progress steps: one per simulated selection, (trial, hardware noise, accuracy noise)."""
        return (self.t1 - self.t0) * len(self.noise_stds) * len(self.acc_noise_stds)

    @property
    def seed_key(self) -> str:
        """Seeds depend on accuracy x hardware only: a run that selects by a proxy accuracy
        draws the same subsets and metric noise as the run that selects by the true one."""
        return f"{self.accuracy} x {self.hardware}"


def _subset(task: UnitTask, trial: int) -> np.ndarray:
    n_total = len(task.acc)
    if task.size >= n_total:
        return np.arange(n_total)
    rng = rng_for(task.seed, task.seed_key, "subset", task.size, trial)
    return rng.choice(n_total, task.size, replace=False)


def _draw(task: UnitTask, trial: int, side: str, n: int) -> NoiseDraw:
    """The trial's simulated predictor on ``side`` ('hw' or 'acc'), shared by every noise level."""
    return task.noise_model.draw(n, rng_for(task.seed, task.seed_key, side, task.size, trial))


def _noise(task: UnitTask, trial: int, std: float, side: str, n: int) -> np.ndarray:
    """The noise one trial adds at one level (the grid's values, for replays and checks)."""
    return _draw(task, trial, side, n).at(std)


class _Rows:
    """The noise of a block of trials at any level, as a (trials x n) array."""

    def __init__(self, task: UnitTask, trials: np.ndarray, side: str, n: int, stds):
        self.shape = (len(trials), n)
        self.draws = [_draw(task, int(t), side, n) for t in trials] if any(s > 0 for s in stds) else []
        # fixed shape: every level is a multiple of the same standardised rows
        self.unit = (
            np.stack([d.at(1.0) for d in self.draws])
            if self.draws and task.noise_model.variant != "seed-code"
            else None
        )

    def at(self, std: float) -> np.ndarray:
        if std == 0.0:
            return np.zeros(self.shape)
        if self.unit is not None:
            return std * self.unit
        return np.stack([d.at(std) for d in self.draws])


def _to_z_reference(task: UnitTask):
    """1.1 x a metric value in the metric's own unit (:func:`reference_metric`), as a z value."""

    def ref(max_z: np.ndarray) -> np.ndarray:
        raw = np.asarray(max_z) * task.hw_std + task.hw_mean
        return (reference_metric(raw) - task.hw_mean) / task.hw_std

    return ref


def _true_front(task: UnitTask, acc: np.ndarray, hw: np.ndarray) -> TrueFront:
    """The subsets' true fronts, with the hypervolume reference the config names."""
    ref = _to_z_reference(task)
    if task.hv_reference == "subset-max":  # the seed code: from the largest metric in the subset
        return TrueFront(acc, hw, ref_hw=ref(np.max(np.atleast_2d(hw), axis=1)))
    return TrueFront(acc, hw, ref_from_front_max=ref)


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b, the same definition the predictor study scores real predictors with."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return kendall_tau(x, y)


def run_unit(task: UnitTask) -> pd.DataFrame:
    """All noise levels for one block of trials, batched over trials.

    The accuracy order of each subset is sorted once and shared by every noise level; when
    the subset is the whole space it is the same for every trial and is sorted only once.
    """
    n = task.size
    whole = n >= len(task.acc)
    batch = max(1, min(task.t1 - task.t0, BATCH_ELEMENTS // max(n, 1)))
    acc_sd = float(np.std(task.select_acc))
    out: dict[str, list] = {c: [] for c in RESULT_COLUMNS}
    proxy = task.selection_accuracy is not None
    whole_front = _true_front(task, task.acc[None, :], task.hw[None, :]) if whole else None
    whole_hw_ref = TauReference(whole_front.hw_s) if whole else None
    for b0 in range(task.t0, task.t1, batch):
        trials = np.arange(b0, min(b0 + batch, task.t1))
        if whole:
            idx = np.arange(n)[None, :]
            front = whole_front
        else:
            idx = np.stack([_subset(task, int(t)) for t in trials])
            front = _true_front(task, task.acc[idx], task.hw[idx])
        eval_acc, sel_acc0 = task.acc[idx], task.select_acc[idx]
        proxy_order = AccuracyOrder(sel_acc0) if proxy else None
        # the reference rows' sorts and ties are shared by every noise level of these trials
        hw_ref = whole_hw_ref if whole else TauReference(front.hw_s)
        acc_ref = TauReference(eval_acc) if (proxy or any(s > 0 for s in task.acc_noise_stds)) else None
        if proxy:  # the proxy's tau does not change with the metric's noise
            proxy_tau = acc_ref.tau(np.broadcast_to(sel_acc0, (len(trials), n))).tolist()
        hw_noise = _Rows(task, trials, "hw", n, task.noise_stds)
        acc_noise = _Rows(task, trials, "acc", n, task.acc_noise_stds)
        for s_hw in task.noise_stds:
            # the noise vector is exchangeable (its repeats are shuffled), so it is laid out in
            # the subset's accuracy order directly: no gather needed on the fast path
            noisy_s = front.hw_s + hw_noise.at(s_hw)
            for s_acc in task.acc_noise_stds:
                if s_acc > 0 or proxy:
                    sel_hw = front.order.sweep.unsort(noisy_s)
                    if s_acc > 0:
                        sel_acc = sel_acc0 + acc_sd * acc_noise.at(s_acc)
                        order = AccuracyOrder(sel_acc)
                    else:
                        sel_acc, order = sel_acc0, proxy_order
                    met = front.evaluate(order.sweep.unsort(order.select(sel_hw)))
                else:
                    sel_acc = sel_acc0
                    met = front.evaluate_compact(front.select_sorted(noisy_s))
                if s_hw > 0:
                    tau = hw_ref.tau(noisy_s).tolist()
                else:
                    tau = [1.0 if n > 1 else float("nan")] * len(trials)
                if s_acc > 0:
                    tau_acc = acc_ref.tau(np.broadcast_to(sel_acc, noisy_s.shape)).tolist()
                elif proxy:
                    tau_acc = proxy_tau
                else:
                    tau_acc = [1.0 if n > 1 else float("nan")] * len(trials)
                k = len(trials)
                out["pair"] += [task.pair_key] * k
                out["accuracy"] += [task.accuracy] * k
                out["hardware"] += [task.hardware] * k
                out["selection_accuracy"] += [task.selection_accuracy] * k
                out["subset_size"] += [n] * k
                out["subset_all"] += [task.size_all] * k
                out["noise_std"] += [s_hw] * k
                out["acc_noise_std"] += [s_acc] * k
                out["trial"] += trials.tolist()
                out["mra_all"] += (100.0 * met.mra_all).tolist()
                out["mra_pareto"] += (100.0 * met.mra_pareto).tolist()
                out["hw_gap_all"] += met.hw_gap_all.tolist()
                out["hw_gap_pareto"] += met.hw_gap_pareto.tolist()
                out["hv"] += met.hv.tolist()
                out["hv_true"] += met.hv_true.tolist()
                out["hv_fraction"] += met.hv_fraction.tolist()
                out["kendall_tau"] += tau
                out["kendall_tau_acc"] += tau_acc
                out["n_selected"] += met.n_selected.tolist()
                out["n_verified"] += met.n_verified.tolist()
                out["n_front"] += met.n_front.tolist()
    df = pd.DataFrame(out, columns=RESULT_COLUMNS)
    for c in ("subset_size", "trial", "n_selected", "n_verified", "n_front"):
        df[c] = df[c].astype("int64")
    df["selection_accuracy"] = df["selection_accuracy"].astype("string")
    return df


def example_selection(pair: SimPair, cfg: SimulationConfig) -> tuple[pd.DataFrame, dict]:
    """One selection in full (the example picture), with the exact seeds the grid uses."""
    ex = cfg.example
    size = ex.subset_size
    if size != ALL:
        size = min(int(size), len(pair))
    n = resolve_size(size, len(pair), pair.key, cfg.source)
    task = unit_task(pair, cfg, size, ex.trial, ex.trial + 1)
    idx = _subset(task, ex.trial)
    acc, hw = pair.acc[idx], pair.hw[idx]
    front = _true_front(task, acc, hw)
    # the same layout as the grid: noise listed in the subset's accuracy order
    noisy_s = front.hw_s + _noise(task, ex.trial, ex.noise_std, "hw", n)[None, :]
    noisy_hw = front.order.sweep.unsort(noisy_s)[0]
    sel = pareto_mask(pair.select_acc[idx], noisy_hw)
    met = front.evaluate(sel)
    verified = sel & pareto_mask(np.where(sel, acc, -np.inf), hw)
    from ..spaces import get_space

    sp = get_space(pair.space)
    df = pd.DataFrame(
        {
            "arch": [sp.to_string(a) for a in pair.archs[idx]],
            "accuracy": 100.0 * acc,
            "hardware": hw,
            "hardware_raw": pair.hw_raw[idx],
            "noisy_hardware": noisy_hw,
            "true_front": front.front,
            "selected": sel,
            "verified": verified,
        }
    )
    info = {
        "pair": pair.key,
        "accuracy": pair.accuracy,
        "hardware": pair.hardware,
        "hw_unit": pair.hw_unit,
        "subset_size": n,
        "noise_std": ex.noise_std,
        "trial": ex.trial,
        "kendall_tau": _tau(hw, noisy_hw) if ex.noise_std > 0 else 1.0,
        "mra_all": float(100 * met.mra_all[0]),
        "mra_pareto": float(100 * met.mra_pareto[0]),
        "hv_fraction": float(met.hv_fraction[0]),
        "ref_hw": float(front.ref_hw[0]),
    }
    return df, info


def unit_task(pair: SimPair, cfg: SimulationConfig, size: int | str, t0: int, t1: int) -> UnitTask:
    """The unit of ``pair`` at subset size ``size`` (an integer or 'all') for trials ``t0 .. t1 - 1``."""
    n = resolve_size(size, len(pair), pair.key, cfg.source)
    return UnitTask(
        pair_key=pair.key,
        accuracy=pair.accuracy,
        hardware=pair.hardware,
        selection_accuracy=pair.selection_accuracy,
        acc=pair.acc,
        select_acc=pair.select_acc,
        hw=pair.hw,
        hw_mean=pair.hw_mean,
        hw_std=pair.hw_std,
        size=n,
        size_all=(size == ALL),
        t0=t0,
        t1=t1,
        noise_stds=cfg.noise_stds,
        acc_noise_stds=cfg.accuracy_noise_stds,
        seed=cfg.seed,
        noise_model=cfg.noise_model,
        hv_reference=cfg.hv_reference,
    )
