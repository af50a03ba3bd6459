"""Bayesian transfer: a Gaussian process whose inputs are the sources' latencies.

The kernel is a sum of parts that each say how the target may relate to the sources:

- ``consensus``: a Bayesian linear term on the sources' equal-weight consensus (the prior of
  :mod:`.refreg`, so that with few samples the GP stays near it);
- ``linear``: a Bayesian linear mix of the individual sources (the reference-device regression);
- ``rbf``: a smooth non-linear function of the source latencies (devices whose cost is not a
  mix of the sources', e.g. an accelerator saturating on wide convolutions);
- ``ops``: an exponential kernel on the Hamming distance between cells, for what no source
  shows (the target's own op costs);

plus a constant and the noise. The weights, length-scales and noise are set by maximising the
marginal likelihood under log-normal priors (with 5-20 points an unregularised evidence fit
runs to degenerate length-scales), in numpy/scipy: at n <= a few hundred a fit is milliseconds,
and a prediction over the whole space one kernel product. The predictive sd drives the
uncertainty-driven choice of what to measure next (:func:`.selection.sequential`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from .base import TransferPredictor
from .refreg import consensus_weights

#: (name, prior mean of log value, prior sd of log value); z-scored targets, standardised features
HYPERS = (
    ("consensus", np.log(1.0), 1.0),
    ("linear", np.log(0.3), 1.0),
    ("rbf", np.log(0.2), 1.0),
    ("rbf_scale", np.log(1.0), 0.7),  # length-scale in units of sqrt(number of features)
    ("ops", np.log(0.1), 1.0),
    ("ops_scale", np.log(2.0), 0.7),  # Hamming distance at which the ops term decays by e
    ("const", np.log(0.5), 1.0),
    ("noise", np.log(0.05), 1.0),
)


_CHUNK = 2048


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, None, :] != b[None, :, :]).sum(axis=2).astype(np.float64)


class TransferGPPredictor(TransferPredictor):
    """GP on the source latencies (consensus + linear + RBF) and the cell's ops, with predictive sd."""

    name = "transfer_gp"
    family = "Bayesian transfer GP"
    min_samples: ClassVar[int] = 0

    def __init__(
        self,
        sources="help-split",
        target: str | None = None,
        ops_kernel: bool = True,
        flops: bool = False,
        log_target: bool = True,
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.sources = sources
        self.target = target
        self.ops_kernel = ops_kernel
        self.flops = flops
        self.log_target = log_target
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {"ops_kernel": trial.suggest_categorical("ops_kernel", [True, False])}

    # ---- kernel --------------------------------------------------------------------------------
    def _parts(self, Fa, Aa, Fb, Ab) -> tuple[np.ndarray, ...]:
        """The kernel's hyper-parameter-free pieces (computed once per fit, not per likelihood step)."""
        k = Fa.shape[1]
        ham = _hamming(Aa, Ab) if self.ops_kernel else None
        return np.outer(Fa @ self.w0_, Fb @ self.w0_), (Fa @ Fb.T) / k, _sqdist(Fa, Fb) / k, ham

    def _kernel(self, theta: np.ndarray, parts) -> np.ndarray:
        h = dict(zip((n for n, _, _ in HYPERS), np.exp(theta), strict=True))
        cc, lin, sq, ham = parts
        out = h["consensus"] ** 2 * cc + h["const"] ** 2 + h["linear"] ** 2 * lin
        out = out + h["rbf"] ** 2 * np.exp(-0.5 * sq / h["rbf_scale"] ** 2)
        if ham is not None:
            out = out + h["ops"] ** 2 * np.exp(-ham / h["ops_scale"])
        return out

    def _neg_log_posterior(self, theta, parts, z) -> float:
        K = self._kernel(theta, parts) + np.exp(2 * theta[-1]) * np.eye(len(z))
        try:
            L = cho_factor(K, lower=True)
        except np.linalg.LinAlgError:
            return 1e10
        alpha = cho_solve(L, z)
        nll = 0.5 * z @ alpha + np.log(np.diag(L[0])).sum()
        mu = np.array([m for _, m, _ in HYPERS])
        sd = np.array([s for _, _, s in HYPERS])
        return float(nll + 0.5 * (((theta - mu) / sd) ** 2).sum())

    def _condition(self) -> None:
        parts = self._parts(self.train_F_, self.train_A_, self.train_F_, self.train_A_)
        K = self._kernel(self.theta_, parts) + np.exp(2 * self.theta_[-1]) * np.eye(len(self.train_z_))
        self.chol_ = cho_factor(K, lower=True)
        self.alpha_ = cho_solve(self.chol_, self.train_z_)

    def _fit_features(self, F, z, archs) -> None:
        self.w0_ = consensus_weights(self.features_)
        self.theta_ = np.array([m for _, m, _ in HYPERS])
        self.train_F_, self.train_A_ = F, np.asarray(archs, dtype=np.int64)
        self.train_z_ = z
        if len(z) == 0:
            return
        if len(z) >= 3:  # fewer points cannot inform eight hyper-parameters beyond their priors
            parts = self._parts(F, self.train_A_, F, self.train_A_)
            res = minimize(
                self._neg_log_posterior,
                self.theta_,
                args=(parts, z),
                method="L-BFGS-B",
                bounds=[(m - 3 * s, m + 3 * s) for _, m, s in HYPERS],
            )
            self.theta_ = res.x
        self._condition()

    def _cross(self, F: np.ndarray, A: np.ndarray) -> np.ndarray:
        return self._kernel(self.theta_, self._parts(F, A, self.train_F_, self.train_A_))

    def _predict_features(self, F) -> np.ndarray:
        if len(self.train_z_) == 0:  # the prior mean is zero: rank by the consensus
            return F @ self.w0_
        A, out = self._query_archs, np.empty(len(F))
        for i in range(0, len(F), _CHUNK):  # bounded memory for the whole space x 1,000 points
            out[i : i + _CHUNK] = self._cross(F[i : i + _CHUNK], A[i : i + _CHUNK]) @ self.alpha_
        return out

    def predict(self, archs) -> np.ndarray:
        self._query_archs = self._archs(archs)
        return super().predict(archs)

    def predict_std(self, archs) -> np.ndarray:
        """Predictive sd of the latent (standardised, log if ``log_target``) value, in y_std units."""
        self._check_fitted()
        a = self._archs(archs)
        F = self._features(a)
        prior = self._diag(F)
        if len(self.train_z_) == 0:
            return np.sqrt(prior) * self.y_std_
        Ks = self._cross(F, a)
        v = cho_solve(self.chol_, Ks.T)
        var = np.maximum(prior - (Ks * v.T).sum(axis=1), 1e-12)
        return np.sqrt(var) * self.y_std_

    def _diag(self, F: np.ndarray) -> np.ndarray:
        """k(x, x) for every row of F (without forming the full kernel)."""
        h = dict(zip((n for n, _, _ in HYPERS), np.exp(self.theta_), strict=True))
        c = F @ self.w0_
        d = h["consensus"] ** 2 * c**2 + h["const"] ** 2 + h["linear"] ** 2 * (F**2).sum(1) / F.shape[1]
        return d + h["rbf"] ** 2 + (h["ops"] ** 2 if self.ops_kernel else 0.0)

    # ---- persistence ---------------------------------------------------------------------------
    def _family_state(self, folder: Path) -> dict:
        return {
            "theta": self.theta_,
            "train_archs": self.train_A_,
            "train_z": self.train_z_,
        }

    def _load_family_state(self, folder: Path, state: dict) -> None:
        self.w0_ = consensus_weights(self.features_)
        self.theta_ = np.asarray(state["theta"], dtype=np.float64)
        self.train_A_ = np.asarray(state["train_archs"], dtype=np.int64).reshape(
            -1, self._space().num_positions
        )
        self.train_z_ = np.asarray(state["train_z"], dtype=np.float64)
        self.train_F_ = self._features(self.train_A_) if len(self.train_A_) else self.features_[:0]
        if len(self.train_z_):
            self._condition()
