"""Objectives of a NAS problem: each maps an (n, positions) int array of architectures to values.

Accuracy comes from a MetricTable column (benchmark ground truth or a zero-shot score) or from
a fitted accuracy predictor; hardware metrics from fitted predictors, or from a measured table
(the upper bound a perfect predictor would reach).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import MetricTable
from ..errors import HwpredError
from ..predictors.base import Predictor
from ..spaces import get_space


class NASError(HwpredError, ValueError):
    pass


@dataclass
class Objective:
    name: str
    maximize: bool
    space: str

    def evaluate(self, archs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass
class TableObjective(Objective):
    """Lookup in a table column; architectures missing from the table cannot be scored."""

    table: MetricTable = field(repr=False, default=None)
    column: str = ""

    def __post_init__(self):
        sp = get_space(self.space)
        if self.table.space != sp.name:
            raise NASError(f"objective {self.name!r}: table is for space {self.table.space}, problem is {sp.name}")
        self._values = dict(zip(self.table.arch_tuples, self.table.column(self.column)))

    def evaluate(self, archs):
        out = np.empty(len(archs))
        for i, a in enumerate(np.asarray(archs)):
            try:
                out[i] = self._values[tuple(int(v) for v in a)]
            except KeyError:
                raise NASError(f"objective {self.name!r}: architecture {tuple(int(v) for v in a)} is not in "
                               f"column {self.column!r}; use a table that covers the space") from None
        return out

    def covers_space(self) -> bool:
        return len(self._values) == len(get_space(self.space).enumerate())


@dataclass
class PredictorObjective(Objective):
    predictor: Predictor = field(repr=False, default=None)

    def __post_init__(self):
        pspace = get_space(getattr(self.predictor, "space", "nb201")).name
        if pspace != get_space(self.space).name:
            raise NASError(f"predictor for {self.name!r} was trained on the {pspace} space but the problem is "
                           f"over {get_space(self.space).name}")

    def evaluate(self, archs):
        return self.predictor.predict(np.asarray(archs))

