"""The score registry: every zero-shot score by name, with what it needs.

A score is registered with what it needs (data, ReLUs, a minimum batch size), so that callers
can validate a request before building thousands of networks. The built-in scores
(:mod:`hwpred.zeroshot.scores`) register themselves when the registry is first read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError, HwpredError
from .batches import Batch


class ZeroShotError(HwpredError):
    """A score cannot be computed for this model/batch (no ReLU, batch too small...)."""


ScoreFn = Callable[[nn.Module, Batch], float]


@dataclass(frozen=True)
class ScoreSpec:
    name: str
    fn: ScoreFn
    needs_data: bool  # False: only the input shape of the batch is used
    needs_relu: bool
    min_batch: int
    unit: str = ""

    def __call__(self, model: nn.Module, batch: Batch) -> float:
        check_inputs(self, model, batch)
        return float(self.fn(model, batch))


_REGISTRY: dict[str, ScoreSpec] = {}


def register(
    name: str, *, needs_data: bool = True, needs_relu: bool = False, min_batch: int = 1, unit: str = ""
) -> Callable[[ScoreFn], ScoreFn]:
    def deco(fn: ScoreFn) -> ScoreFn:
        _REGISTRY[name] = ScoreSpec(name, fn, needs_data, needs_relu, min_batch, unit)
        return fn

    return deco


def _registry() -> dict[str, ScoreSpec]:
    from . import scores  # noqa: F401  (registers the built-in scores on import)

    return _REGISTRY


def available_scores() -> list[str]:
    return list(_registry())


def get_score(name: str) -> ScoreSpec:
    registry = _registry()
    try:
        return registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown zero-shot score {name!r}; available: {', '.join(registry)} "
            "(and 'ensemble' of scored columns, see hwpred.zeroshot.ensemble)"
        ) from None


def parse_scores(text: str | list[str]) -> list[str]:
    """Validate a comma-separated list (or list) of score names, keeping order, no repeats."""
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not names:
        raise ConfigError("no score names given; name at least one, e.g. 'naswot,synflow'")
    out: list[str] = []
    for n in names:
        get_score(n)
        if n not in out:
            out.append(n)
    return out


def has_relu(model: nn.Module) -> bool:
    return any(isinstance(m, nn.ReLU) for m in model.modules())


def check_inputs(spec: ScoreSpec, model: nn.Module, batch: Batch) -> None:
    """Raise a clear ZeroShotError before computing a score that cannot be defined."""
    if spec.needs_relu and not has_relu(model):
        raise ZeroShotError(
            f"score {spec.name!r} reads ReLU activation patterns but the model has no "
            "nn.ReLU module; use a score that does not need ReLUs (e.g. synflow, snip)"
        )
    if len(batch) < spec.min_batch:
        raise ZeroShotError(
            f"score {spec.name!r} needs a batch of at least {spec.min_batch} samples, "
            f"got {len(batch)}; raise the batch size"
        )
    if spec.name == "epe_nas":
        _, counts = torch.unique(batch.y, return_counts=True)
        if int(counts.max()) < 2:
            raise ZeroShotError(
                "score 'epe_nas' correlates Jacobians within a class but no class has two "
                "samples in this batch; use a larger batch"
            )
