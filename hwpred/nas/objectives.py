"""Objectives of a NAS problem: each maps an (n, positions) int array of architectures to values.

Accuracy comes from a dataset view, one MetricTable column (benchmark ground truth or a
zero-shot score), or from a fitted accuracy predictor; hardware metrics from fitted predictors,
or from a measured dataset (the upper bound a perfect predictor would reach).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import Dataset
from ..errors import DataError, HwpredError
from ..predictors import Predictor
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
    """Values looked up in a dataset view; architectures missing from it cannot be scored."""

    dataset: Dataset = field(repr=False, default=None)

    def __post_init__(self):
        sp = get_space(self.space)
        if not isinstance(self.dataset, Dataset):
            raise NASError(
                f"objective {self.name!r} needs a hwpred.data.Dataset (e.g. load_dataset(name) or "
                f"Dataset.of(table, column)), got {type(self.dataset).__name__}"
            )
        if self.dataset.space != sp.name:
            raise NASError(
                f"objective {self.name!r}: dataset {self.dataset.name} is for space "
                f"{self.dataset.space}, problem is {sp.name}"
            )

    def evaluate(self, archs):
        try:
            return self.dataset.lookup(np.asarray(archs))
        except DataError as exc:
            raise NASError(f"objective {self.name!r}: {exc}; use a dataset that covers the space") from None

    def covers_space(self) -> bool:
        return len(self.dataset) == len(get_space(self.space).enumerate())


@dataclass
class PredictorObjective(Objective):
    predictor: Predictor = field(repr=False, default=None)

    def __post_init__(self):
        pspace = get_space(getattr(self.predictor, "space", "nb201")).name
        if pspace != get_space(self.space).name:
            raise NASError(
                f"predictor for {self.name!r} was trained on the {pspace} space but the problem is "
                f"over {get_space(self.space).name}"
            )

    def evaluate(self, archs):
        return self.predictor.predict(np.asarray(archs))
