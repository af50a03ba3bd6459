"""Accuracy x hardware pairs: two dataset views joined on the op tuple, ready for simulation.

Accuracy becomes a fraction (maximised); the hardware metric is z-scored over the whole
joined space (minimised), so that a noise standard deviation means the same thing on every
device. The values selection sees for accuracy (``select_acc``) are kept apart from the
values evaluation uses (``acc``): a zero-shot score can stand in for accuracy during
selection while MRA and hypervolume are still computed with the true accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import Dataset, MetricTable, load_dataset
from ..errors import DataError

ACCURACY_SCALES = ("auto", "percent", "fraction")
_PERCENT_UNITS = {"%", "percent", "pct"}


@dataclass
class SimPair:
    """One accuracy x hardware pair over the architectures both tables share."""

    accuracy: str  # dataset name of the evaluation accuracy, e.g. "nats:cifar10"
    hardware: str  # dataset name of the hardware metric, e.g. "help:raspi4"
    space: str
    archs: np.ndarray  # (n, positions) op tuples, the join's row order
    acc: np.ndarray  # true accuracy as a fraction (evaluation)
    hw_raw: np.ndarray  # hardware metric in its own unit
    select_acc: np.ndarray  # what selection sees as accuracy (= acc unless a proxy is given)
    selection_accuracy: str | None = None
    hw_unit: str = ""
    acc_unit: str = "fraction"
    hw_mean: float = field(init=False)
    hw_std: float = field(init=False)
    hw: np.ndarray = field(init=False)  # z-scored metric (evaluation)

    def __post_init__(self):
        self.hw_mean = float(np.mean(self.hw_raw))
        self.hw_std = float(np.std(self.hw_raw))
        self.hw = (self.hw_raw - self.hw_mean) / self.hw_std

    @property
    def key(self) -> str:
        base = f"{self.accuracy} x {self.hardware}"
        return base if self.selection_accuracy is None else f"{base} (select by {self.selection_accuracy})"

    def __len__(self) -> int:
        return len(self.acc)

    def to_raw_hw(self, z) -> np.ndarray:
        return np.asarray(z) * self.hw_std + self.hw_mean

    def to_z_hw(self, raw) -> np.ndarray:
        return (np.asarray(raw) - self.hw_mean) / self.hw_std

    def info(self) -> dict:
        return {
            "key": self.key,
            "accuracy": self.accuracy,
            "hardware": self.hardware,
            "selection_accuracy": self.selection_accuracy,
            "space": self.space,
            "n": len(self),
            "hw_unit": self.hw_unit,
            "hw_mean": self.hw_mean,
            "hw_std": self.hw_std,
            "acc_min": float(self.acc.min()),
            "acc_max": float(self.acc.max()),
        }


def _to_fraction(values: np.ndarray, unit: str, scale: str, where: str) -> np.ndarray:
    if scale not in ACCURACY_SCALES:
        raise DataError(f"accuracy_scale must be one of {ACCURACY_SCALES}, got {scale!r}")
    if scale == "auto":
        scale = (
            "percent"
            if (unit.strip().lower() in _PERCENT_UNITS or float(np.max(values)) > 1.0)
            else "fraction"
        )
    out = values / 100.0 if scale == "percent" else values.astype(np.float64)
    if out.min() < 0 or out.max() > 1.0 + 1e-9:
        raise DataError(
            f"{where}: accuracy as a fraction must lie in [0, 1], got [{out.min():.4g}, {out.max():.4g}]; "
            "set accuracy_scale to 'percent' or 'fraction' to say how the column is stored"
        )
    return out


def _join(views: dict, where: str) -> MetricTable:
    """One table of the views' values under private names (same-named columns cannot clash),
    joined on the op tuple."""
    joined = None
    for key, view in views.items():
        archs, values = view.arrays()
        t = MetricTable(view.space, archs, {key: values})
        if joined is None:
            joined = t
            continue
        try:
            joined = joined.join(t)
        except DataError as exc:
            what = (
                "the two tables have no architecture in common"
                if key == "__hw"
                else "the selection-accuracy table shares no architecture with the pair"
            )
            raise DataError(f"{where}: {exc}; {what}") from None
    return joined


def join_pair(
    accuracy: Dataset, hardware: Dataset, selection: Dataset | None = None, *, accuracy_scale: str = "auto"
) -> SimPair:
    """The pair of two dataset views (and optionally a selection-side accuracy view), joined on
    the op tuple; the views' names become the pair's."""
    where = f"pair {accuracy.name} x {hardware.name}"
    if accuracy.space != hardware.space:
        raise DataError(
            f"{where}: the accuracy table is in search space {accuracy.space!r} but the hardware "
            f"table in {hardware.space!r}; pair tables of the same search space"
        )
    views = {"__acc": accuracy, "__hw": hardware}
    if selection is not None:
        if selection.space != accuracy.space:
            raise DataError(
                f"{where}: the selection-accuracy table is in search space {selection.space!r}, "
                f"not {accuracy.space!r}"
            )
        views["__sel"] = selection
    joined = _join(views, where)
    acc = _to_fraction(
        joined.column("__acc"), accuracy.unit, accuracy_scale, f"{where}, column {accuracy.column!r}"
    )
    hw = joined.column("__hw")
    for view, v in ((accuracy, acc), (hardware, hw)):
        if len(v) > 1 and np.ptp(v) == 0:
            raise DataError(
                f"{where}: column {view.column!r} of {view.name} is constant over the {len(v)} "
                "shared architectures (value {:.6g}); a constant objective has no Pareto "
                "trade-off, pick another column".format(float(v[0]))
            )
    if len(hw) < 2:
        raise DataError(f"{where}: only {len(hw)} shared architecture; a simulation needs at least 2")
    sel = joined.column("__sel") if selection is not None else acc
    if selection is not None and np.ptp(sel) == 0:
        raise DataError(
            f"{where}: selection-accuracy column {selection.column!r} is constant; pick another column"
        )
    return SimPair(
        accuracy=accuracy.name,
        hardware=hardware.name,
        space=joined.space,
        archs=joined.archs,
        acc=acc,
        hw_raw=hw.copy(),
        select_acc=np.asarray(sel, dtype=np.float64).copy(),
        selection_accuracy=selection.name if selection is not None else None,
        hw_unit=hardware.unit,
    )


def make_pair(
    acc_table: MetricTable,
    acc_column: str,
    hw_table: MetricTable,
    hw_column: str,
    *,
    accuracy_name: str | None = None,
    hardware_name: str | None = None,
    select_table: MetricTable | None = None,
    select_column: str | None = None,
    selection_name: str | None = None,
    accuracy_scale: str = "auto",
) -> SimPair:
    """The pair of two tables' columns (and optionally a selection-side accuracy column); a name
    defaults to its column's."""
    selection = None
    if select_table is not None:
        if select_column is None:
            raise DataError(
                f"pair {accuracy_name or acc_column} x {hardware_name or hw_column}: "
                "a selection table needs a column"
            )
        selection = Dataset(name=selection_name or select_column, table=select_table, column=select_column)
    return join_pair(
        Dataset(name=accuracy_name or acc_column, table=acc_table, column=acc_column),
        Dataset(name=hardware_name or hw_column, table=hw_table, column=hw_column),
        selection,
        accuracy_scale=accuracy_scale,
    )


def load_pair(
    accuracy: str,
    hardware: str,
    *,
    selection_accuracy: str | None = None,
    accuracy_scale: str = "auto",
    cache: dict | None = None,
) -> SimPair:
    """A pair from dataset names (``nats:cifar10``, ``help:raspi4``, ``file:x.parquet#col`` ...);
    ``cache`` (name -> dataset view) shares loaded tables between calls."""

    def get(name: str) -> Dataset:
        if cache is not None and name in cache:
            return cache[name]
        ds = load_dataset(name)
        if cache is not None:
            cache[name] = ds
        return ds

    return join_pair(
        get(accuracy),
        get(hardware),
        get(selection_accuracy) if selection_accuracy else None,
        accuracy_scale=accuracy_scale,
    )
