"""What a hardware predictor of a given Kendall tau costs a Pareto selection: a lookup.

The published summary of the ``paper2022`` grid (shipped in the package) holds, per accuracy x
hardware pair, subset size and noise level, the mean and sd over 1,000 trials of the simulated
predictor's Kendall tau, MRA_all, MRA_pareto and hypervolume fraction. For one pair the
expectation at (tau, candidates) is interpolated linearly in tau along each subset size's
curve (the curves are monotone: more noise, lower tau) and then linearly in log(candidates)
between the two neighbouring subset sizes. Over several pairs it is the mean of the pairs'
expectations, with their range. A request beyond the grid is answered at the grid's edge and
says so.
"""

from __future__ import annotations

import fnmatch
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .figures import main_cells
from .summary import read_summary

#: the lookup's metrics: summary column prefix -> label
METRICS = {"mra_all": "MRA_all (pp)", "mra_pareto": "MRA_pareto (pp)", "hv_fraction": "HV fraction"}
PUBLISHED = "paper2022"


def published_summary(name: str = PUBLISHED) -> Path:
    """The summary shipped inside the package (``hwpred/resources/simulation/<name>.parquet``)."""
    return Path(str(resources.files("hwpred") / "resources" / "simulation" / f"{name}.parquet"))


@dataclass
class MetricExpectation:
    mean: float  # mean over the pairs of each pair's interpolated mean
    sd_trials: float  # root mean square of the pairs' interpolated sds over trials
    pair_min: float
    pair_max: float


@dataclass
class Expectation:
    """The lookup's answer; ``notes`` say where the request lies outside the grid."""

    tau: float
    candidates: int
    pairs: list[str]
    metrics: dict[str, MetricExpectation]
    notes: list[str] = field(default_factory=list)
    summary: str = ""

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "metric": METRICS[k],
                    "mean": v.mean,
                    "sd over trials": v.sd_trials,
                    "pairs min": v.pair_min,
                    "pairs max": v.pair_max,
                }
                for k, v in self.metrics.items()
            ]
        )


def _check(tau: float, candidates: int) -> tuple[float, int]:
    t = float(tau)
    if not math.isfinite(t) or not 0.0 <= t <= 1.0:
        raise ConfigError(f"--tau must lie in [0, 1] (a Kendall tau of a useful predictor), got {tau!r}")
    if isinstance(candidates, float) and not candidates.is_integer():
        raise ConfigError(f"--candidates must be a whole number of architectures, got {candidates!r}")
    c = int(candidates)
    if c < 1:
        raise ConfigError(f"--candidates must be a positive number of architectures, got {candidates!r}")
    return t, c


def _select(cells: pd.DataFrame, key: str, pattern: str | None, where: str) -> pd.DataFrame:
    if pattern is None:
        return cells
    names = sorted(cells[key].unique())
    hit = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if not hit:
        shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
        raise DataError(f"{where} has no {key} dataset {pattern!r}; it has {len(names)}: {shown}")
    return cells[cells[key].isin(hit)]


def _log_neighbours(sizes: np.ndarray, candidates: float) -> tuple[int, int, float]:
    """The subset sizes around ``candidates`` (indices, clamped to the grid) and its weight in log scale."""
    c = min(max(float(candidates), sizes[0]), sizes[-1])
    hi = int(np.searchsorted(sizes, c))  # first size >= c
    lo = hi if sizes[hi] == c else hi - 1
    w = 0.0 if lo == hi else (math.log(c) - math.log(sizes[lo])) / (math.log(sizes[hi]) - math.log(sizes[lo]))
    return lo, hi, w


@dataclass
class _Curves:
    """One pair's curves: per subset size, tau ascending and each metric's mean and sd along it."""

    sizes: np.ndarray
    tau: list[np.ndarray]
    values: list[dict[str, tuple[np.ndarray, np.ndarray]]]

    @classmethod
    def of(cls, cells: pd.DataFrame) -> _Curves:
        sizes, taus, values = [], [], []
        for size, c in cells.groupby("subset_size", sort=True):
            c = c[np.isfinite(c["kendall_tau_mean"])].sort_values("kendall_tau_mean")
            sizes.append(float(size))
            taus.append(c["kendall_tau_mean"].to_numpy(float))
            values.append(
                {
                    m: (c[f"{m}_mean"].to_numpy(float), c[f"{m}_sd"].fillna(0.0).to_numpy(float))
                    for m in METRICS
                }
            )
        return cls(np.array(sizes), taus, values)

    def at(self, tau: float, candidates: int) -> tuple[dict, set[str]]:
        notes: set[str] = set()
        sizes = self.sizes
        if candidates < sizes[0] or candidates > sizes[-1]:
            notes.add(("candidates", int(sizes[0]), int(sizes[-1])))
        lo, hi, w = _log_neighbours(sizes, candidates)
        out = {m: [0.0, 0.0] for m in METRICS}
        for i, wi in ((lo, 1.0 - w), (hi, w)):
            x = self.tau[i]
            if tau < x[0] or tau > x[-1]:
                notes.add(("tau", int(sizes[i]), round(float(x[0]), 2), round(float(x[-1]), 2)))
            for m, (mean, sd) in self.values[i].items():
                out[m][0] += wi * float(np.interp(tau, x, mean))
                out[m][1] += wi * float(np.interp(tau, x, sd))
        return {m: tuple(v) for m, v in out.items()}, notes


def _notes(raw: set, tau: float, candidates: int) -> list[str]:
    """One line per kind of request beyond the grid, over all the pairs it concerns."""
    out = []
    sizes = [n for n in raw if n[0] == "candidates"]
    if sizes:
        lo, hi = min(n[1] for n in sizes), max(n[2] for n in sizes)
        out.append(f"candidates {candidates} outside the grid's {lo}-{hi}: values at the nearest size")
    for size in sorted({n[1] for n in raw if n[0] == "tau"}):
        ends = [n for n in raw if n[0] == "tau" and n[1] == size]
        lows = sorted({n[2] for n in ends})
        low = f"{lows[0]:.2f}" if len(lows) == 1 else f"{lows[0]:.2f}-{lows[-1]:.2f}"
        out.append(
            f"tau {tau:g} outside the simulated taus at {size} candidates (lowest {low}, highest 1.00): "
            "values at the nearest end"
        )
    return out


class Lookup:
    """A loaded summary, answering many requests (see :func:`expected_cost`)."""

    def __init__(self, summary: str | os.PathLike | None = None):
        path = Path(summary) if summary is not None else published_summary()
        if summary is None and not path.is_file():
            raise DataError(
                f"no published simulation summary at {path}; pass --summary with a cells.parquet "
                "written by `hwpred simulate report`"
            )
        cells, meta = read_summary(path)
        self.cells = main_cells(cells)
        self.where = f"simulation summary {path.name}"
        self.curves = {pair: _Curves.of(c) for pair, c in self.cells.groupby("pair")}
        self.label = f"{meta.get('name', path.stem)} (config {meta.get('config_hash', '?')})"

    def has_hardware(self, name: str) -> bool:
        return bool((self.cells["hardware"] == name).any())

    def expect(
        self, tau: float, candidates: int, hardware: str | None = None, accuracy: str | None = None
    ) -> Expectation:
        tau, candidates = _check(tau, candidates)
        cells = _select(
            _select(self.cells, "hardware", hardware, self.where), "accuracy", accuracy, self.where
        )
        per_pair, notes = {}, set()
        for pair in cells["pair"].unique():
            per_pair[pair], n = self.curves[pair].at(tau, candidates)
            notes |= n
        metrics = {}
        for m in METRICS:
            means = np.array([v[m][0] for v in per_pair.values()])
            sds = np.array([v[m][1] for v in per_pair.values()])
            metrics[m] = MetricExpectation(
                float(means.mean()), float(np.sqrt(np.mean(sds**2))), float(means.min()), float(means.max())
            )
        return Expectation(
            tau, candidates, sorted(per_pair), metrics, _notes(notes, tau, candidates), self.label
        )


def expected_cost(
    tau: float,
    candidates: int,
    *,
    hardware: str | None = None,
    accuracy: str | None = None,
    summary: str | os.PathLike | None = None,
) -> Expectation:
    """Expected MRA_all, MRA_pareto and HV fraction of a selection among ``candidates``
    architectures with a hardware predictor of Kendall tau ``tau``.

    Parameters
    ----------
    tau : float
        The predictor's Kendall tau on the hardware metric, in [0, 1].
    candidates : int
        How many architectures the selection chooses from.
    hardware, accuracy : str, optional
        Dataset names (or shell patterns such as ``help:*``) of the pairs to use; by default
        every pair of the summary.
    summary : path, optional
        A ``cells.parquet`` written by ``hwpred simulate report``; by default the published one.

    Returns
    -------
    Expectation
        Per metric the mean over the pairs, the sd over trials and the pairs' range; the pairs
        used; notes where the request lies outside the grid.
    """
    _check(tau, candidates)
    return Lookup(summary).expect(tau, candidates, hardware, accuracy)


def format_expectation(e: Expectation) -> str:
    accs = sorted({p.split(" x ")[0] for p in e.pairs})
    hws = sorted({p.split(" x ")[1] for p in e.pairs})
    what = (
        e.pairs[0]
        if len(e.pairs) == 1
        else f"over {len(e.pairs)} pairs ({len(accs)} accuracy x {len(hws)} hardware datasets)"
    )
    lines = [
        f"hardware predictor with Kendall tau {e.tau:g}, {e.candidates} candidates, {what}",
        f"from the simulation summary {e.summary}:",
        "",
        f"  {'metric':<16}{'mean':>9}{'sd over trials':>16}{'pairs min':>11}{'pairs max':>11}",
    ]
    for k, v in e.metrics.items():
        lines.append(
            f"  {METRICS[k]:<16}{v.mean:>9.3f}{v.sd_trials:>16.3f}{v.pair_min:>11.3f}{v.pair_max:>11.3f}"
        )
    lines += [f"note: {n}" for n in e.notes]
    return "\n".join(lines)
