"""Reference-device regression: the target's log latency as a ridge mix of the sources' log latencies.

Latency on a new device is largely a mix of latencies on known ones, so a linear model on the
(standardised, log) source latencies is a strong, cheap baseline. With 5-20 samples and 9-26
features the penalty decides everything, so it is chosen per fit by exact leave-one-out error
(closed form, no refits), and the ridge shrinks towards the *consensus* of the sources (every
source weighted equally, scaled to unit variance over the space) rather than towards zero: with
no target sample the prediction is that consensus, and each sample moves the mix away from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ..base import PredictorError
from .base import TransferPredictor

ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 22))


def consensus_weights(features: np.ndarray) -> np.ndarray:
    """Equal weights on every source feature, scaled so the consensus has unit variance."""
    w = np.full(features.shape[1], 1.0 / features.shape[1])
    sd = float(np.std(features @ w))
    return w / sd if sd > 0 else w


def loo_ridge(F: np.ndarray, z: np.ndarray, prior: np.ndarray, alphas) -> tuple[np.ndarray, float, float]:
    """(weights, intercept, alpha) of the ridge towards ``prior`` with the lowest leave-one-out error.

    With centred F and r = z - F @ prior, the hat matrix H = F (F'F + aI)^-1 F' gives every LOO
    residual at once, (r - H r) / (1 - h_ii - 1/n), from one SVD for all alphas.
    """
    n = len(z)
    fm, zm = F.mean(axis=0), z.mean()
    Fc = F - fm
    r = (z - zm) - Fc @ prior
    u, s, vt = np.linalg.svd(Fc, full_matrices=False)
    ur = u.T @ r
    best = None
    for a in alphas:
        shrink = s**2 / (s**2 + a)
        fitted = u @ (shrink * ur)
        h = (u**2) @ shrink
        denom = 1.0 - h - 1.0 / n
        if np.any(denom <= 1e-9):
            continue
        err = float(np.mean(((r - fitted) / denom) ** 2))
        if best is None or err < best[0] - 1e-12:
            best = (err, a)
    a = best[1] if best is not None else float(max(alphas))
    w = prior + vt.T @ ((s / (s**2 + a)) * ur)
    return w, float(zm - fm @ w), float(a)


class TransferRidgePredictor(TransferPredictor):
    """Ridge on the sources' standardised log latencies (plus log conv cost with ``flops``)."""

    name = "transfer_ridge"
    family = "Reference-device regression (transfer)"
    min_samples: ClassVar[int] = 0

    def __init__(
        self,
        sources="help-split",
        target: str | None = None,
        alpha: float | None = None,
        shrink_to: str = "consensus",
        flops: bool = False,
        log_target: bool = True,
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.sources = sources
        self.target = target
        self.alpha = alpha
        self.shrink_to = shrink_to
        self.flops = flops
        self.log_target = log_target
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {"flops": trial.suggest_categorical("flops", [False, True])}

    def _prior(self) -> np.ndarray:
        if self.shrink_to == "consensus":
            return consensus_weights(self.features_)
        if self.shrink_to == "zero":
            return np.zeros(self.features_.shape[1])
        raise PredictorError(f"{self.name}: shrink_to must be 'consensus' or 'zero', got {self.shrink_to!r}")

    def _fit_features(self, F, z, archs) -> None:
        prior = self._prior()
        if len(z) < 2:  # no sample to fit a mix or a scale on: the consensus ranking
            self.coef_, self.intercept_, self.alpha_ = prior, 0.0, float("inf")
            return
        alphas = ALPHAS if self.alpha is None else (float(self.alpha),)
        self.coef_, self.intercept_, self.alpha_ = loo_ridge(F, z, prior, alphas)

    def _predict_features(self, F) -> np.ndarray:
        return F @ self.coef_ + self.intercept_

    def _family_state(self, folder: Path) -> dict:
        return {"coef": self.coef_, "intercept": self.intercept_, "alpha": self.alpha_}

    def _load_family_state(self, folder: Path, state: dict) -> None:
        self.coef_ = np.asarray(state["coef"], dtype=np.float64)
        self.intercept_ = float(state["intercept"])
        self.alpha_ = float(state["alpha"])
