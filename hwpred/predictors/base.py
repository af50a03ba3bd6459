"""The predictor contract (scikit-learn's estimator contract, plus encoding and tuning facts).

:class:`Predictor` is a scikit-learn regressor (``RegressorMixin``, ``BaseEstimator``): ``clone``,
``Pipeline``, ``cross_val_score`` and ``GridSearchCV`` work on it, and its default ``score`` is
R² (``hwpred.metrics.kendall_tau_scorer`` ranks instead). Its inputs are architectures (an
(n, positions) int array of op indices, op tuples or arch strings), not arbitrary feature
matrices; ``docs/predictors.md`` lists which of scikit-learn's estimator checks apply.

A family subclasses :class:`Predictor`, lists its hyper-parameters as keyword arguments of
``__init__`` (stored unchanged, nothing else done there), and implements ``_fit(X, z)`` and
``_predict(X) -> z`` on the *encoded* architectures and *standardised* targets. The base class
validates input, encodes, standardises y, restores the unit, and saves/loads.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFitted

from .._io import atomic_folder
from ..encoders import encode
from ..errors import HwpredError
from ..spaces import SpaceError, as_arch_array, get_space


class PredictorError(HwpredError, ValueError):
    """Bad input to a predictor (empty/degenerate training data, predict before fit...)."""


class NotDifferentiableError(PredictorError):
    pass


class PredictorNotFittedError(PredictorError, _SklearnNotFitted):
    """``predict`` before ``fit``; also scikit-learn's ``NotFittedError``, which its tools expect."""


FORMAT_VERSION = 1


@functools.cache
def _init_param_names(cls: type) -> tuple[str, ...]:
    # inspect.signature costs ~40 us; a study cell asks several times
    sig = inspect.signature(cls.__init__)
    return tuple(
        p.name
        for p in sig.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    )


class Predictor(RegressorMixin, BaseEstimator):
    #: registry short name, e.g. "xgb"
    name: ClassVar[str] = ""
    #: human-readable family name
    family: ClassVar[str] = ""
    #: default encoding: "onehot", "path", "graph" or "tuple" (raw op tuples)
    default_encoding: ClassVar[str] = "onehot"
    #: differentiable with respect to its input encoding (usable as a DARTS-style latency term)
    differentiable: ClassVar[bool] = False
    #: encoding ``torch_forward`` takes when it differs from the fitting encoding (e.g. "onehot" for
    #: families fitted on raw op tuples)
    torch_encoding: ClassVar[str | None] = None
    #: fewest training samples the family can fit on
    min_samples: ClassVar[int] = 2

    # ---- scikit-learn style parameters --------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """The hyper-parameters: the keyword arguments of ``__init__`` (read once per class)."""
        return list(_init_param_names(cls))

    _param_names = param_names  # the private spelling hwpred.study still calls

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_names()}

    def set_params(self, **params) -> Predictor:
        valid = set(self.param_names())
        for k, v in params.items():
            if k not in valid:
                raise PredictorError(f"{self.name}: unknown hyper-parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # arch strings are accepted beside op-index arrays
        tags.target_tags.single_output = True
        return tags

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        """Optuna define-by-run search space: suggest values on ``trial`` and return them."""
        return {}

    # ---- encoding -----------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        return getattr(self, "encoding_override", None) or self.default_encoding

    def _space(self):
        return get_space(getattr(self, "space", "nb201"))

    def _archs(self, archs) -> np.ndarray:
        try:
            return as_arch_array(archs, self._space())
        except SpaceError as exc:
            raise PredictorError(f"{self.name}: {exc}") from None

    def _encode(self, archs: np.ndarray):
        if self.encoding == "tuple":
            return archs
        return encode(archs, self._space(), self.encoding)

    # ---- fit / predict ------------------------------------------------------------------------
    def check_training_data(self, archs, y) -> tuple[np.ndarray, np.ndarray]:
        """(archs as an (n, positions) int array, y as floats), or a PredictorError saying why
        :meth:`fit` cannot learn from them: a length mismatch, too few samples, NaN/inf, constant y."""
        if y is None:
            raise PredictorError(f"{self.name} requires y to be passed, but the target y is None")
        a = self._archs(archs)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is flattened",
                DataConversionWarning,
                stacklevel=3,
            )
        y = y.ravel()
        if len(a) != len(y):
            raise PredictorError(f"{self.name}: {len(a)} architectures but {len(y)} targets")
        if len(y) < self.min_samples:
            raise PredictorError(
                f"{self.name}: needs at least {self.min_samples} training samples, got {len(y)} sample(s)"
            )
        if not np.all(np.isfinite(y)):
            raise PredictorError(
                f"{self.name}: targets contain {int((~np.isfinite(y)).sum())} NaN/inf value(s)"
            )
        if float(np.std(y)) == 0.0:
            raise PredictorError(f"{self.name}: all {len(y)} targets are equal ({y[0]}); nothing to learn")
        return a, y

    def fit(self, archs, y) -> Predictor:
        a, y = self.check_training_data(archs, y)
        self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y))
        self.n_train_ = len(y)
        self.n_features_in_ = int(a.shape[1])  # positions of the space (scikit-learn's convention)
        self._fit(self._encode(a), (y - self.y_mean_) / self.y_std_, a)
        self.fitted_ = True
        return self

    def predict(self, archs) -> np.ndarray:
        self._check_fitted()
        a = self._archs(archs)
        if len(a) == 0:
            return np.zeros(0)
        z = np.asarray(self._predict(self._encode(a), a), dtype=np.float64).ravel()
        return z * self.y_std_ + self.y_mean_

    def _check_fitted(self):
        if not getattr(self, "fitted_", False):
            raise PredictorNotFittedError(f"{self.name}: predict called before fit")

    # ---- to implement ------------------------------------------------------------------------
    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def torch_forward(self, x):
        """Standardised prediction as a differentiable function of a (batch, dim) torch encoding."""
        raise NotDifferentiableError(
            f"{self.name} ({self.family}) is not differentiable with respect to its encoding; "
            "use a linear, ridge, Bayesian linear, GP, MLP, BANANAS, GCN, NAO or lookup-table predictor"
        )

    # ---- what a loaded predictor knows about itself ----------------------------------------------
    @property
    def provenance(self) -> dict:
        """Training provenance given to :meth:`save` (dataset, metric, unit, train size, seed...)."""
        return dict(getattr(self, "provenance_", {}) or {})

    @property
    def metric(self) -> str | None:
        return self.provenance.get("metric")

    @property
    def unit(self) -> str | None:
        return self.provenance.get("unit")

    # ---- persistence (JSON + native formats, no pickle) -------------------------------------------
    def _state(self, folder: Path) -> dict:
        """Write native files into ``folder`` and return JSON-able extra state."""
        raise NotImplementedError

    def _load_state(self, folder: Path, state: dict) -> None:
        raise NotImplementedError

    def save(self, folder: str | os.PathLike, **provenance) -> Path:
        self._check_fitted()
        provenance = {**self.provenance, **provenance}
        folder = Path(folder)
        with atomic_folder(folder) as tmp:
            extra = self._state(tmp)
            doc = {
                "format": FORMAT_VERSION,
                "name": self.name,
                "params": _jsonable(self.get_params()),
                "y_mean": self.y_mean_,
                "y_std": self.y_std_,
                "n_train": self.n_train_,
                "state": _jsonable(extra),
                "provenance": _jsonable(provenance),
            }
            (tmp / "predictor.json").write_text(json.dumps(doc, indent=1))
        return folder


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
