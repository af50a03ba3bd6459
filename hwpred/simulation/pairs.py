"""Accuracy x hardware pairs: two MetricTables joined on the op tuple, ready for simulation.

Accuracy becomes a fraction (maximised); the hardware metric is z-scored over the whole
joined space (minimised), so that a noise standard deviation means the same thing on every
device. The values selection sees for accuracy (``select_acc``) are kept apart from the
values evaluation uses (``acc``): a zero-shot score can stand in for accuracy during
selection while MRA and hypervolume are still computed with the true accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.table import MetricTable
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
        return {"key": self.key, "accuracy": self.accuracy, "hardware": self.hardware,
                "selection_accuracy": self.selection_accuracy, "space": self.space, "n": len(self),
                "hw_unit": self.hw_unit, "hw_mean": self.hw_mean, "hw_std": self.hw_std,
                "acc_min": float(self.acc.min()), "acc_max": float(self.acc.max())}


def _to_fraction(values: np.ndarray, unit: str, scale: str, where: str) -> np.ndarray:
    if scale not in ACCURACY_SCALES:
        raise DataError(f"accuracy_scale must be one of {ACCURACY_SCALES}, got {scale!r}")
    if scale == "auto":
        scale = "percent" if (unit.strip().lower() in _PERCENT_UNITS or float(np.max(values)) > 1.0) else "fraction"
    out = values / 100.0 if scale == "percent" else values.astype(np.float64)
    if out.min() < 0 or out.max() > 1.0 + 1e-9:
        raise DataError(f"{where}: accuracy as a fraction must lie in [0, 1], got [{out.min():.4g}, {out.max():.4g}]; "
                        "set accuracy_scale to 'percent' or 'fraction' to say how the column is stored")
    return out


def make_pair(acc_table: MetricTable, acc_column: str, hw_table: MetricTable, hw_column: str, *,
              accuracy_name: str | None = None, hardware_name: str | None = None,
              select_table: MetricTable | None = None, select_column: str | None = None,
              selection_name: str | None = None, accuracy_scale: str = "auto") -> SimPair:
    """Join accuracy and hardware (and optionally a selection-side accuracy) on the op tuple."""
    acc_name = accuracy_name or acc_column
    hw_name = hardware_name or hw_column
    where = f"pair {acc_name} x {hw_name}"
    if acc_table.space != hw_table.space:
        raise DataError(f"{where}: the accuracy table is in search space {acc_table.space!r} but the hardware "
                        f"table in {hw_table.space!r}; pair tables of the same search space")
    # one-column copies under private names, so same-named columns of the two sides cannot clash
    a = MetricTable(acc_table.space, acc_table.archs, {"__acc": acc_table.column(acc_column)})
    h = MetricTable(hw_table.space, hw_table.archs, {"__hw": hw_table.column(hw_column)})
    try:
        joined = a.join(h)
    except DataError as exc:
        raise DataError(f"{where}: {exc}; the two tables have no architecture in common") from None
    if select_table is not None:
        if select_column is None:
            raise DataError(f"{where}: a selection table needs a column")
        if select_table.space != acc_table.space:
            raise DataError(f"{where}: the selection-accuracy table is in search space {select_table.space!r}, "
                            f"not {acc_table.space!r}")
        s = MetricTable(select_table.space, select_table.archs, {"__sel": select_table.column(select_column)})
        try:
            joined = joined.join(s)
        except DataError as exc:
            raise DataError(f"{where}: {exc}; the selection-accuracy table shares no architecture with the pair") from None
    acc_unit = acc_table.units.get(acc_column, "")
    acc = _to_fraction(joined.column("__acc"), acc_unit, accuracy_scale, f"{where}, column {acc_column!r}")
    hw = joined.column("__hw")
    for name, col, v in ((acc_name, acc_column, acc), (hw_name, hw_column, hw)):
        if len(v) > 1 and np.ptp(v) == 0:
            raise DataError(f"{where}: column {col!r} of {name} is constant over the {len(v)} shared architectures "
                            "(value {:.6g}); a constant objective has no Pareto trade-off, pick another column"
                            .format(float(v[0])))
    if len(hw) < 2:
        raise DataError(f"{where}: only {len(hw)} shared architecture; a simulation needs at least 2")
    sel = joined.column("__sel") if select_table is not None else acc
    if select_table is not None and np.ptp(sel) == 0:
        raise DataError(f"{where}: selection-accuracy column {select_column!r} is constant; pick another column")
    return SimPair(accuracy=acc_name, hardware=hw_name, space=joined.space, archs=joined.archs, acc=acc,
                   hw_raw=hw.copy(), select_acc=np.asarray(sel, dtype=np.float64).copy(),
                   selection_accuracy=selection_name if select_table is not None else None,
                   hw_unit=hw_table.units.get(hw_column, ""))


def _dataset(name: str):
    try:
        from ..data import load_dataset
    except ImportError as exc:  # the registry is a separate module; say so instead of a traceback
        raise DataError(f"cannot load dataset {name!r}: the dataset registry is unavailable ({exc})") from None
    return load_dataset(name)


def load_pair(accuracy: str, hardware: str, *, selection_accuracy: str | None = None,
              accuracy_scale: str = "auto", cache: dict | None = None) -> SimPair:
    """A pair from registry names (``nats:cifar10``, ``help:raspi4``, ``file:x.parquet#col`` ...)."""
    def get(name: str):
        if cache is not None and name in cache:
            return cache[name]
        ds = _dataset(name)
        if cache is not None:
            cache[name] = ds
        return ds

    a, h = get(accuracy), get(hardware)
    s = get(selection_accuracy) if selection_accuracy else None
    return make_pair(a.table, a.column, h.table, h.column, accuracy_name=accuracy, hardware_name=hardware,
                     select_table=s.table if s else None, select_column=s.column if s else None,
                     selection_name=selection_accuracy, accuracy_scale=accuracy_scale)
