"""The transfer contract: a :class:`~hwpred.predictors.base.Predictor` whose features are the
architecture's values on other devices (its sources), fitted on the target's few measurements.

What differs from a classic family, and why:

- ``sources`` is a hyper-parameter (names, a group or tables, see :mod:`.sources`); ``target``
  names the dataset being predicted, so that the group ``help-all`` can leave out the target's
  hardware and the target among its sources is refused.
- Latencies are positive and multiplicative across devices (a device twice as fast on every
  op), so both the sources and the target are modelled in log space (``log_target``).
- A family with a prior (``min_samples == 0``) predicts from the sources alone when no target
  measurement is given; its predictions then carry the ranking, not the unit.
- A fitted predictor keeps its source values (:class:`.sources.SourceBundle`) and saves them with
  their checksums, so a loaded one predicts without the mirror.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ..base import Predictor, PredictorError
from .sources import SourceBundle, SourceError, resolve_sources


def conv_cost(archs: np.ndarray, space: str) -> np.ndarray:
    """NAS-Bench-201 cell FLOPs and parameters up to a constant: every stage has the same
    channels^2 x resolution^2, so both are proportional to 9 x (3x3 convs) + (1x1 convs)."""
    if space != "nb201":
        raise PredictorError(f"the flops feature is defined for nb201 cells only, not for {space}")
    return 9.0 * (archs == 3).sum(axis=1) + (archs == 2).sum(axis=1)


def standardised_features(
    bundle: SourceBundle, log: bool = True, flops: bool = False, who: str = "transfer"
) -> np.ndarray:
    """The sources' values (log with ``log``), plus log conv cost with ``flops``, each column
    standardised over every architecture of the bundle: the input of every transfer family."""
    v = bundle.values
    if log:
        if (v <= 0).any():
            j = int(np.flatnonzero((v <= 0).any(axis=0))[0])
            raise SourceError(
                f"{who}: source {bundle.labels[j]} has values <= 0; log features need "
                "positive metrics (set log_target=False for other metrics)"
            )
        v = np.log(v)
    cols = [v]
    if flops:
        cols.append(np.log1p(conv_cost(bundle.archs, bundle.space))[:, None])
    f = np.concatenate(cols, axis=1)
    mu, sd = f.mean(axis=0), f.std(axis=0)
    sd[sd == 0] = 1.0
    return (f - mu) / sd


class TransferPredictor(Predictor):
    """Base of the transfer families; subclasses implement ``_fit_features``/``_predict_features``."""

    family: ClassVar[str] = "transfer"
    default_encoding: ClassVar[str] = "tuple"
    #: families with a prior can predict from the sources alone (0 target samples)
    min_samples: ClassVar[int] = 2
    #: marks the family as transfer for the study's report
    transfer: ClassVar[bool] = True

    # ---- features ------------------------------------------------------------------------------
    def _bundle_features(self, bundle: SourceBundle) -> np.ndarray:
        return standardised_features(
            bundle, log=getattr(self, "log_target", True), flops=getattr(self, "flops", False), who=self.name
        )

    def _features(self, archs: np.ndarray) -> np.ndarray:
        return self.features_[self.sources_.rows(archs, self.name)]

    def space_features(self) -> tuple[np.ndarray, np.ndarray]:
        """(archs, standardised features) of every architecture the sources cover."""
        self._check_fitted()
        return self.sources_.archs, self.features_

    def _set_sources(self, bundle: SourceBundle) -> None:
        if bundle.space != self._space().name:
            raise SourceError(
                f"{self.name}: sources are {bundle.space} tables, predictor space is {self.space}"
            )
        self.sources_ = bundle
        self.features_ = self._bundle_features(bundle)

    # ---- fit / predict --------------------------------------------------------------------------
    def _target_values(self, y: np.ndarray) -> np.ndarray:
        if getattr(self, "log_target", True):
            if (y <= 0).any():
                raise PredictorError(
                    f"{self.name}: targets must be positive for log_target=True "
                    f"(got {int((y <= 0).sum())} value(s) <= 0); set log_target=False"
                )
            return np.log(y)
        return y

    def check_training_data(self, archs, y) -> tuple[np.ndarray, np.ndarray]:
        if self.min_samples > 0 or len(np.asarray(y).ravel()) > 0:
            return super().check_training_data(archs, y)
        return self._archs(archs), np.zeros(0)

    def fit(self, archs, y) -> TransferPredictor:
        a, y = self.check_training_data(archs, y)
        self._set_sources(resolve_sources(self.sources, self._space().name, getattr(self, "target", None)))
        rows = self.sources_.rows(a, self.name)
        self._refuse_copied_target(rows, y)
        t = self._target_values(y)
        self.y_mean_, self.y_std_ = (float(t.mean()), float(t.std())) if len(t) > 1 else (0.0, 1.0)
        if self.y_std_ == 0.0:
            self.y_std_ = 1.0
        self.n_train_ = len(y)
        self.train_archs_ = a
        self._fit_features(self.features_[rows], (t - self.y_mean_) / self.y_std_, a)
        self.fitted_ = True
        return self

    def _refuse_copied_target(self, rows: np.ndarray, y: np.ndarray) -> None:
        """Leakage no name reveals (a table passed twice under two names): a source equal to the
        target on every training architecture."""
        if len(y) < 3:
            return
        same = np.all(np.isclose(self.sources_.values[rows], y[:, None], rtol=1e-9, atol=0.0), axis=0)
        if same.any():
            label = self.sources_.labels[int(np.flatnonzero(same)[0])]
            raise SourceError(
                f"{self.name}: source {label} equals the target on all {len(y)} training "
                "architectures: the target is among its sources (leakage); remove it"
            )

    def predict(self, archs) -> np.ndarray:
        self._check_fitted()
        a = self._archs(archs)
        if len(a) == 0:
            return np.zeros(0)
        z = np.asarray(self._predict_features(self._features(a)), dtype=np.float64).ravel()
        t = z * self.y_std_ + self.y_mean_
        return np.exp(t) if getattr(self, "log_target", True) else t

    # ---- to implement ---------------------------------------------------------------------------
    def _fit_features(self, F: np.ndarray, z: np.ndarray, archs: np.ndarray) -> None:
        raise NotImplementedError

    def _predict_features(self, F: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _family_state(self, folder: Path) -> dict:
        return {}

    def _load_family_state(self, folder: Path, state: dict) -> None:
        pass

    # ---- persistence: the family's state plus the source bundle ------------------------------------
    def save(self, folder, **provenance) -> Path:
        """Save with ``sources`` recorded as labels (tables given as objects become ``table:...``
        labels); the values themselves are in ``sources.parquet``, checksummed."""
        self._check_fitted()
        given = self.sources
        self.sources = list(self.sources_.labels)
        try:
            return super().save(folder, **provenance)
        finally:
            self.sources = given

    def _state(self, folder: Path) -> dict:
        return {
            "sources": self.sources_.save(folder),
            "train_archs": self.train_archs_,
            "family": self._family_state(folder),
        }

    def _load_state(self, folder: Path, state: dict) -> None:
        self._set_sources(SourceBundle.load(folder, state["sources"]))
        self.train_archs_ = np.asarray(state["train_archs"], dtype=np.int64).reshape(
            -1, self._space().num_positions
        )
        self._load_family_state(folder, state.get("family", {}))
