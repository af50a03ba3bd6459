"""Reference-device regression: the target's log latency as a ridge mix of the sources' log latencies.

Latency on a new device is largely a mix of latencies on known ones, so a linear model on the
(standardised, log) source latencies is a strong, cheap baseline. With 5-20 samples and 9-26
features the penalty decides everything, so it is chosen per fit by exact leave-one-out error
(closed form, no refits), and the ridge shrinks towards the *consensus* of the sources (every
source weighted equally, scaled to unit variance over the space) rather than towards zero: with
no target sample the prediction is that consensus, and each sample moves the mix away from it.

``keep`` fits the mix on fewer sources: the k most correlated with the target on its samples,
or (``"auto"``) k among 1, 2, 3, 5, 8 and all, by leave-one-out error with the sources re-ranked
in every fold (ranking once on all samples would favour small k): the largest k within one
standard error of the lowest. With 10-25 samples and 26 correlated sources a few well-chosen
ones can be estimated better than the whole mix.
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


def loo_ridge(
    F: np.ndarray, z: np.ndarray, prior: np.ndarray, alphas
) -> tuple[np.ndarray, float, float, float]:
    """(weights, intercept, alpha, LOO mean squared error) of the ridge towards ``prior`` with
    the lowest leave-one-out error.

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
    err, a = best if best is not None else (float("inf"), float(max(alphas)))
    w = prior + vt.T @ ((s / (s**2 + a)) * ur)
    return w, float(zm - fm @ w), float(a), float(err)


#: source counts the ``keep="auto"`` choice compares (plus every source)
KEEP_CHOICES = (1, 2, 3, 5, 8)


def ranked_sources(F: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Source columns by |correlation| with the target on the training samples, strongest first."""
    Fc, zc = F - F.mean(axis=0), z - z.mean()
    denom = np.sqrt((Fc**2).sum(axis=0) * float(zc @ zc))
    corr = np.divide(np.abs(Fc.T @ zc), denom, out=np.zeros(F.shape[1]), where=denom > 0)
    return np.argsort(-corr, kind="stable")


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
        keep: int | str | None = None,
        flops: bool = False,
        log_target: bool = True,
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.sources = sources
        self.target = target
        self.alpha = alpha
        self.shrink_to = shrink_to
        self.keep = keep
        self.flops = flops
        self.log_target = log_target
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {"flops": trial.suggest_categorical("flops", [False, True])}

    def _prior(self, F: np.ndarray) -> np.ndarray:
        if self.shrink_to == "consensus":
            return consensus_weights(F)
        if self.shrink_to == "zero":
            return np.zeros(F.shape[1])
        raise PredictorError(f"{self.name}: shrink_to must be 'consensus' or 'zero', got {self.shrink_to!r}")

    def _keep_counts(self, n_features: int) -> list[int]:
        """The numbers of sources to try (every source when ``keep`` is None)."""
        keep = self.keep
        if keep is None:
            return [n_features]
        if keep == "auto":
            return sorted({k for k in KEEP_CHOICES if k < n_features} | {n_features})
        if isinstance(keep, (int, np.integer)) and not isinstance(keep, bool) and keep >= 1:
            return [min(int(keep), n_features)]
        raise PredictorError(f"{self.name}: keep must be None, 'auto' or a positive integer, got {keep!r}")

    def _fit_k(self, F: np.ndarray, z: np.ndarray, k: int, alphas) -> tuple[np.ndarray, tuple]:
        """The ridge on the ``k`` sources most correlated with ``z``: (columns, loo_ridge's answer)."""
        cols = np.sort(ranked_sources(F, z)[:k]) if k < F.shape[1] else np.arange(F.shape[1])
        return cols, loo_ridge(F[:, cols], z, self._prior(self.features_[:, cols]), alphas)

    def _keep_error(self, F: np.ndarray, z: np.ndarray, k: int, alphas) -> np.ndarray:
        """Squared leave-one-out errors of keeping ``k`` sources, the sources re-ranked without
        the left-out sample (ranking on all samples would favour small k)."""
        errs = []
        for i in range(len(z)):
            rest = np.arange(len(z)) != i
            cols, (w, b, _, _) = self._fit_k(F[rest], z[rest], k, alphas)
            errs.append((F[i, cols] @ w + b - z[i]) ** 2)
        return np.asarray(errs)

    def _fit_features(self, F, z, archs) -> None:
        counts = self._keep_counts(F.shape[1])
        if len(z) < 2:  # no sample to fit a mix or a scale on: the consensus ranking
            self.coef_, self.intercept_, self.alpha_ = self._prior(self.features_), 0.0, float("inf")
            self.kept_ = np.arange(F.shape[1])
            return
        alphas = ALPHAS if self.alpha is None else (float(self.alpha),)
        if len(z) < 4:  # too few samples to rank sources on (any keep): all of them
            counts = [F.shape[1]]
        if len(counts) == 1:
            k = counts[0]
        else:  # the most sources whose LOO error is within one standard error of the lowest
            errs = {c: self._keep_error(F, z, c, alphas) for c in counts}
            best = min(counts, key=lambda c: errs[c].mean())
            se = errs[best].std(ddof=1) / np.sqrt(len(z))
            k = max(c for c in counts if errs[c].mean() <= errs[best].mean() + se)
        cols, (w, self.intercept_, self.alpha_, _) = self._fit_k(F, z, k, alphas)
        self.kept_ = cols
        self.coef_ = np.zeros(F.shape[1])
        self.coef_[cols] = w

    def _predict_features(self, F) -> np.ndarray:
        return F @ self.coef_ + self.intercept_

    def _family_state(self, folder: Path) -> dict:
        return {"coef": self.coef_, "intercept": self.intercept_, "alpha": self.alpha_, "kept": self.kept_}

    def _load_family_state(self, folder: Path, state: dict) -> None:
        self.coef_ = np.asarray(state["coef"], dtype=np.float64)
        self.intercept_ = float(state["intercept"])
        self.alpha_ = float(state["alpha"])
        # predictors saved before ``keep`` existed used every source
        self.kept_ = np.asarray(state.get("kept", np.arange(len(self.coef_))), dtype=np.int64)
