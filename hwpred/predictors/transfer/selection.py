"""Which architectures to measure on the new device, when only 5-25 measurements are affordable.

- ``random``: a seeded uniform sample (the protocol's default, the baseline);
- ``kcenter``: greedy farthest-point cover of the sources' standardised log-latency vectors, so
  the few measurements span the range of behaviours the known devices show (seeded start);
- ``doptimal``: greedy D-optimal design on the same vectors (each pick maximises the leverage
  x' (X'X + I)^-1 x of a linear model on them, which is what the reference-device regression fits);
- :func:`sequential`: uncertainty-driven choice for the Bayesian family: fit, measure the
  architecture with the largest predictive sd, refit.

Each returns indices into the source bundle's architectures (``bundle.archs``); the CLI writes
them as architecture strings for ``hwpred measure --archs``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .sources import SourceError

STRATEGIES = ("random", "kcenter", "doptimal")


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0x5E1EC7]))


def _check(n: int, rows: int) -> None:
    if not 0 < n <= rows:
        raise SourceError(f"cannot choose {n} architectures out of {rows}; choose between 1 and {rows}")


def kcenter(features: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    _check(n, len(features))
    chosen = [int(_rng(seed).integers(len(features)))]
    d = ((features - features[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(n - 1):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, ((features - features[i]) ** 2).sum(axis=1))
    return np.asarray(chosen)


def doptimal(features: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    _check(n, len(features))
    X = np.concatenate([np.ones((len(features), 1)), features], axis=1)
    inv = np.eye(X.shape[1])  # (X'X + I)^-1 of the empty design
    chosen: list[int] = []
    for step in range(n):
        if step == 0:
            i = int(_rng(seed).integers(len(X)))
        else:
            lev = np.einsum("ij,jk,ik->i", X, inv, X)
            lev[chosen] = -np.inf
            i = int(np.argmax(lev))
        chosen.append(i)
        u = inv @ X[i]
        inv = inv - np.outer(u, u) / (1.0 + X[i] @ u)  # Sherman-Morrison update
    return np.asarray(chosen)


def choose(features: np.ndarray, n: int, strategy: str = "kcenter", seed: int = 0) -> np.ndarray:
    """``n`` row indices of ``features`` (one row per architecture) chosen by ``strategy``."""
    if strategy == "random":
        _check(n, len(features))
        return _rng(seed).choice(len(features), size=n, replace=False)
    if strategy == "kcenter":
        return kcenter(features, n, seed)
    if strategy == "doptimal":
        return doptimal(features, n, seed)
    raise SourceError(f"unknown selection strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def choose_archs(
    sources, n: int, strategy: str = "kcenter", seed: int = 0, space: str = "nb201", target: str | None = None
) -> np.ndarray:
    """The architectures (an (n, positions) array) to measure on a new device, chosen on ``sources``."""
    from .base import standardised_features
    from .sources import resolve_sources

    bundle = resolve_sources(sources, space, target)
    return bundle.archs[choose(standardised_features(bundle), n, strategy, seed)]


def sequential(
    predictor,
    measure: Callable[[np.ndarray], np.ndarray],
    n: int,
    start: int = 3,
    pool: int = 3000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Measure ``start`` k-center picks, then one architecture at a time, each the one of largest
    predictive sd among a seeded pool of candidates; ``predictor`` needs ``predict_std``
    (``transfer_gp``). Returns (chosen archs, their measured values); ``predictor`` ends fitted
    on them."""
    if not hasattr(predictor, "predict_std"):
        raise SourceError(f"{predictor.name} has no predictive sd; sequential choice needs transfer_gp")
    predictor.fit(np.zeros((0, predictor._space().num_positions), dtype=np.int64), np.zeros(0))
    archs, feats = predictor.space_features()
    _check(n, len(archs))
    idx = list(kcenter(feats, min(start, n), seed))
    y = list(np.asarray(measure(archs[idx]), dtype=np.float64))
    cand = _rng(seed).choice(len(archs), size=min(pool, len(archs)), replace=False)
    while len(idx) < n:
        predictor.fit(archs[idx], np.asarray(y))
        sd = predictor.predict_std(archs[cand])
        sd[np.isin(cand, idx)] = -np.inf
        i = int(cand[int(np.argmax(sd))])
        idx.append(i)
        y.extend(np.asarray(measure(archs[[i]]), dtype=np.float64))
    predictor.fit(archs[idx], np.asarray(y))
    return archs[idx], np.asarray(y)
