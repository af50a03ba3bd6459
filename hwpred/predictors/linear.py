"""Linear families (scikit-learn): ordinary least squares, ridge and Bayesian linear regression.

All three end as ``z = X @ coef + intercept`` on the adjacency one-hot encoding, so they share
one prediction path (numpy), one differentiable path (torch) and one JSON save format. Using
our own ``X @ coef`` rather than scikit-learn's ``predict`` keeps a loaded predictor bit-for-bit
identical to the one saved, since only the coefficients travel.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Predictor, PredictorError

COEF_FILE = "coefficients.json"


class _LinearBase(Predictor):
    default_encoding: ClassVar[str] = "onehot"
    differentiable: ClassVar[bool] = True
    min_samples: ClassVar[int] = 2

    def _make_model(self):
        raise NotImplementedError

    def _extra_state(self, model) -> dict[str, Any]:
        return {}

    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        model = self._make_model()
        with warnings.catch_warnings():
            # a one-hot encoding is collinear by design; the minimum-norm solution is what we want
            warnings.simplefilter("ignore", category=RuntimeWarning)
            model.fit(np.asarray(X, dtype=np.float64), z)
        coef = np.asarray(model.coef_, dtype=np.float64).ravel()
        intercept = float(np.ravel(model.intercept_)[0])
        if not (np.all(np.isfinite(coef)) and np.isfinite(intercept)):
            raise PredictorError(
                f"{self.name}: the fit produced non-finite coefficients; check the targets for extreme values"
            )
        self.coef_, self.intercept_ = coef, intercept
        self.extra_ = self._extra_state(model)
        self._torch_cache = None

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != len(self.coef_):
            raise PredictorError(
                f"{self.name}: encoding has {X.shape[1]} dims but the model was fitted on "
                f"{len(self.coef_)}; was it fitted on another search space?"
            )
        return X @ self.coef_ + self.intercept_

    def torch_forward(self, x):
        """Standardised prediction ``x @ coef + intercept`` for a (batch, dim) one-hot tensor."""
        self._check_fitted()
        import torch

        cache = getattr(self, "_torch_cache", None)
        if cache is None or cache[0].dtype != x.dtype or cache[0].device != x.device:
            w = torch.as_tensor(self.coef_, dtype=x.dtype, device=x.device)
            b = torch.as_tensor(self.intercept_, dtype=x.dtype, device=x.device)
            self._torch_cache = cache = (w, b)
        w, b = cache
        if x.shape[-1] != w.shape[0]:
            raise PredictorError(
                f"{self.name}: torch_forward expects {w.shape[0]} one-hot dims, got {x.shape[-1]}"
            )
        return x @ w + b

    # ---- persistence: coefficients as JSON (Python floats round-trip exactly) --------------------
    def _state(self, folder: Path) -> dict:
        doc = {
            "coef": [float(v) for v in self.coef_],
            "intercept": float(self.intercept_),
            "extra": self.extra_,
        }
        (folder / COEF_FILE).write_text(json.dumps(doc))
        return {"file": COEF_FILE, "n_coef": len(self.coef_)}

    def _load_state(self, folder: Path, state: dict) -> None:
        doc = json.loads((folder / state.get("file", COEF_FILE)).read_text())
        coef = np.asarray(doc["coef"], dtype=np.float64)
        if coef.ndim != 1 or len(coef) != int(state["n_coef"]):
            raise PredictorError(
                f"{folder / COEF_FILE}: expected {state['n_coef']} coefficients, found {coef.size}"
            )
        intercept = float(doc["intercept"])
        if not (np.all(np.isfinite(coef)) and np.isfinite(intercept)):
            raise PredictorError(f"{folder / COEF_FILE}: non-finite coefficients (damaged file?)")
        self.coef_, self.intercept_ = coef, intercept
        self.extra_ = doc.get("extra", {})
        self._torch_cache = None


class LinearRegressionPredictor(_LinearBase):
    """Ordinary least squares; no hyper-parameters worth tuning, so its search space is empty."""

    name: ClassVar[str] = "lin_reg"
    family: ClassVar[str] = "Linear Regression"

    def __init__(self, space: str = "nb201", random_state: int = 0):
        self.space = space
        self.random_state = random_state

    def _make_model(self):
        from sklearn.linear_model import LinearRegression

        return LinearRegression()


class RidgePredictor(_LinearBase):
    name: ClassVar[str] = "ridge_reg"
    family: ClassVar[str] = "Ridge Regression"

    def __init__(self, alpha: float = 1.0, space: str = "nb201", random_state: int = 0):
        self.alpha = alpha
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 0.25, 2.5)}

    def _make_model(self):
        from sklearn.linear_model import Ridge

        if not float(self.alpha) > 0:
            raise PredictorError(f"ridge_reg: alpha must be > 0, got {self.alpha}")
        return Ridge(alpha=float(self.alpha), solver="auto")


class BayesianLinearPredictor(_LinearBase):
    """Bayesian ridge (evidence maximisation); the Gamma hyper-priors are the tunable knobs.

    The seed study's table has no row for it, so the search space is our own: the four Gamma
    prior parameters on a log scale around scikit-learn's 1e-6 defaults.
    """

    name: ClassVar[str] = "bayes_lin_reg"
    family: ClassVar[str] = "Bayesian Linear Regression"

    def __init__(
        self,
        alpha_1: float = 1e-6,
        alpha_2: float = 1e-6,
        lambda_1: float = 1e-6,
        lambda_2: float = 1e-6,
        max_iter: int = 300,
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.alpha_1 = alpha_1
        self.alpha_2 = alpha_2
        self.lambda_1 = lambda_1
        self.lambda_2 = lambda_2
        self.max_iter = max_iter
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            k: trial.suggest_float(k, 1e-8, 1e-4, log=True)
            for k in ("alpha_1", "alpha_2", "lambda_1", "lambda_2")
        }

    def _make_model(self):
        from sklearn.linear_model import BayesianRidge

        return BayesianRidge(
            alpha_1=float(self.alpha_1),
            alpha_2=float(self.alpha_2),
            lambda_1=float(self.lambda_1),
            lambda_2=float(self.lambda_2),
            max_iter=int(self.max_iter),
        )

    def _extra_state(self, model) -> dict[str, Any]:
        # noise and weight precisions (standardised units): useful provenance of the evidence fit
        return {"alpha": float(model.alpha_), "lambda": float(model.lambda_), "n_iter": int(model.n_iter_)}

    @property
    def n_iter_(self) -> int:
        """Evidence-maximisation iterations run (scikit-learn exposes this for every ``max_iter``)."""
        try:
            return int(self.extra_["n_iter"])
        except (AttributeError, KeyError):
            raise AttributeError(
                "n_iter_ is known after fit (and in predictors saved since it exists)"
            ) from None
