"""The few-shot protocols: the HELP split and leave-one-device-out, scored as in the literature.

One trial: draw (or choose) ``n`` architectures of the target, fit the family on their target
values, predict every other architecture, and take the Spearman correlation over all the
architectures not measured. :func:`run_protocol` does this for every (target, n, seed); sources
are loaded once per source set and shared between trials (tables are cached by the data layer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...metrics import spearman
from .sources import HELP_SOURCES, HELP_TARGETS, exclude_hardware, help_names

PROTOCOLS = ("help-split", "lodo")


def protocol_pairs(protocol: str) -> list[tuple[str, list[str]]]:
    """(target, source names) of each target of a protocol."""
    if protocol == "help-split":
        src = [f"help:{d}" for d in HELP_SOURCES]
        return [(f"help:{t}", src) for t in HELP_TARGETS]
    if protocol == "lodo":
        names = help_names()
        return [(t, exclude_hardware([n for n in names if n != t], t)) for t in names]
    from .sources import SourceError

    raise SourceError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


@dataclass(frozen=True)
class Trial:
    protocol: str
    family: str
    target: str
    n: int
    seed: int
    spearman: float
    seconds: float  # fit + predict of the whole space


def draw(n_rows: int, n: int, seed: int) -> np.ndarray:
    """The seeded random sample of one trial (the same for every family)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7A5F]))
    return rng.choice(n_rows, size=n, replace=False)


def run_trial(
    make: Callable[[list[str], str], object],
    target: str,
    sources: Sequence[str],
    n: int,
    seed: int,
    chooser: Callable[[int, int], np.ndarray] | None = None,
) -> tuple[float, float]:
    """(Spearman over the unmeasured architectures, seconds for fit + whole-space predict)."""
    from ...data import load_dataset

    archs, y = load_dataset(target).arrays()
    idx = draw(len(archs), n, seed) if chooser is None else chooser(n, seed)
    pred = make(list(sources), target)
    t0 = time.perf_counter()
    pred.fit(archs[idx], y[idx])
    y_hat = pred.predict(archs)
    seconds = time.perf_counter() - t0
    rest = np.ones(len(archs), dtype=bool)
    rest[idx] = False
    return spearman(y[rest], y_hat[rest]), seconds


def run_protocol(
    protocol: str,
    families: Mapping[str, Callable[[list[str], str], object]],
    sizes: Iterable[int],
    seeds: Iterable[int],
    targets: Sequence[str] | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    strategy: str = "random",
) -> list[Trial]:
    """Every (family, target, size, seed) trial of a protocol; ``families`` maps a label to a
    factory ``make(sources, target) -> unfitted predictor``."""
    out = []
    for target, sources in protocol_pairs(protocol):
        if targets is not None and target not in targets:
            continue
        chooser = None if strategy == "random" else _chooser(sources, target, strategy)
        for label, make in families.items():
            need = int(getattr(make([], target), "min_samples", 0))
            for n in sizes:
                if n < need:  # e.g. a classic family at 0 samples
                    continue
                for seed in seeds:
                    rho, sec = run_trial(make, target, sources, int(n), int(seed), chooser)
                    t = Trial(protocol, label, target, int(n), int(seed), float(rho), sec)
                    out.append(t)
                    if on_trial is not None:
                        on_trial(t)
    return out


def _chooser(sources: Sequence[str], target: str, strategy: str) -> Callable[[int, int], np.ndarray]:
    """Rows of the target's table chosen by ``strategy`` on the sources (the same for every family)."""
    from ...data import load_dataset
    from .base import standardised_features
    from .selection import choose
    from .sources import resolve_sources

    bundle = resolve_sources(list(sources), "nb201", target)
    feats = standardised_features(bundle)
    table = load_dataset(target).table

    def pick(n: int, seed: int) -> np.ndarray:
        return table.rows_of(bundle.archs[choose(feats, n, strategy, seed)]) if n else np.zeros(0, int)

    return pick
