"""Support-vector regression (scikit-learn ``SVR``), saved as its support vectors, not a pickle.

A fitted SVR is fully described by its support vectors, dual coefficients, intercept and
kernel parameters (with ``gamma="scale"`` resolved to the number scikit-learn used). We keep
those arrays and evaluate the kernel expansion ourselves, before and after loading, so saved
predictors predict identically; the tests check agreement with ``SVR.predict``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Predictor, PredictorError

KERNELS = ("linear", "poly", "rbf", "sigmoid")
SV_FILE = "support.npz"


def kernel_matrix(
    X: np.ndarray, sv: np.ndarray, kernel: str, gamma: float, degree: int, coef0: float
) -> np.ndarray:
    """libsvm's kernels: linear x.s, poly (g x.s + c0)^d, rbf exp(-g |x-s|^2), sigmoid tanh(g x.s + c0)."""
    if kernel == "rbf":
        sq = (X * X).sum(1)[:, None] + (sv * sv).sum(1)[None, :] - 2.0 * (X @ sv.T)
        return np.exp(-gamma * np.maximum(sq, 0.0))
    dot = X @ sv.T
    if kernel == "linear":
        return dot
    if kernel == "poly":
        return (gamma * dot + coef0) ** degree
    if kernel == "sigmoid":
        return np.tanh(gamma * dot + coef0)
    raise PredictorError(f"svmr: unknown kernel {kernel!r}; choose one of {KERNELS}")


class SVMRPredictor(Predictor):
    name: ClassVar[str] = "svmr"
    family: ClassVar[str] = "SVM regression"
    default_encoding: ClassVar[str] = "onehot"
    differentiable: ClassVar[bool] = False
    min_samples: ClassVar[int] = 2

    def __init__(self, C: float = 1.0, kernel: str = "rbf", space: str = "nb201", random_state: int = 0):
        self.C = C
        self.kernel = kernel
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "C": trial.suggest_float("C", 0.5, 1.5),
            "kernel": trial.suggest_categorical("kernel", list(KERNELS)),
        }

    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        from sklearn.svm import SVR

        if self.kernel not in KERNELS:
            raise PredictorError(f"svmr: unknown kernel {self.kernel!r}; choose one of {KERNELS}")
        if not float(self.C) > 0:
            raise PredictorError(f"svmr: C must be > 0, got {self.C}")
        X = np.asarray(X, dtype=np.float64)
        model = SVR(C=float(self.C), kernel=self.kernel).fit(X, z)
        self.support_vectors_ = np.asarray(model.support_vectors_, dtype=np.float64)
        self.dual_coef_ = np.asarray(model.dual_coef_, dtype=np.float64).ravel()
        self.intercept_ = float(np.ravel(model.intercept_)[0])
        self.gamma_ = float(model._gamma)
        self.degree_, self.coef0_ = int(model.degree), float(model.coef0)
        self.n_features_ = X.shape[1]

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_:
            raise PredictorError(
                f"svmr: encoding has {X.shape[1]} dims, the model was fitted on {self.n_features_}"
            )
        K = kernel_matrix(X, self.support_vectors_, self.kernel, self.gamma_, self.degree_, self.coef0_)
        return K @ self.dual_coef_ + self.intercept_

    def _state(self, folder: Path) -> dict:
        np.savez(
            folder / SV_FILE,
            allow_pickle=False,
            support_vectors=self.support_vectors_,
            dual_coef=self.dual_coef_,
        )
        return {
            "file": SV_FILE,
            "intercept": self.intercept_,
            "gamma": self.gamma_,
            "degree": self.degree_,
            "coef0": self.coef0_,
            "n_features": self.n_features_,
            "n_support": len(self.dual_coef_),
        }

    def _load_state(self, folder: Path, state: dict) -> None:
        with np.load(folder / state.get("file", SV_FILE), allow_pickle=False) as z:
            sv, dual = (
                np.asarray(z["support_vectors"], dtype=np.float64),
                np.asarray(z["dual_coef"], dtype=np.float64),
            )
        n_features, n_support = int(state["n_features"]), int(state["n_support"])
        if sv.shape != (n_support, n_features) or dual.shape != (n_support,):
            raise PredictorError(
                f"{folder / SV_FILE}: support vectors {sv.shape} / dual coefficients {dual.shape} "
                f"do not match predictor.json ({n_support} x {n_features})"
            )
        if not (np.all(np.isfinite(sv)) and np.all(np.isfinite(dual))):
            raise PredictorError(
                f"{folder / SV_FILE}: non-finite support vectors or coefficients (damaged file?)"
            )
        self.support_vectors_, self.dual_coef_ = sv, dual
        self.intercept_, self.gamma_ = float(state["intercept"]), float(state["gamma"])
        self.degree_, self.coef0_ = int(state["degree"]), float(state["coef0"])
        self.n_features_ = n_features
