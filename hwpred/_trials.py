"""The trial machinery behind :func:`hwpred.tuning.tune`: building and pinning trials, samplers,
study names, and keeping Optuna's per-trial failure logs out of the way."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import ConfigError
from .predictors.base import Predictor, PredictorError
from .predictors.registry import get_class

SAMPLERS = ("tpe", "random")


#: what a fit with a bad draw of hyper-parameters may raise: a failed trial (or refit), not a failed search
FIT_ERRORS = (PredictorError, ValueError, ArithmeticError, RuntimeError, np.linalg.LinAlgError)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class TrialFailed(Exception):
    """A trial whose fit failed (bad hyper-parameter combination, degenerate fold)."""


class DropFailedTrialLogs(logging.Filter):
    """Optuna logs a warning and a traceback per failed trial; tune counts them and sums them up once."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Trial ") and " failed with " in message)


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    import optuna

    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial_logger = logging.getLogger("optuna.study._optimize")
    drop = DropFailedTrialLogs()
    trial_logger.addFilter(drop)
    try:
        yield
    finally:
        trial_logger.removeFilter(drop)
        optuna.logging.set_verbosity(old)


def failure_summary(failed: list, total: int) -> str:
    """One line for the failed trials: how many, and the first one's error."""
    if not failed:
        return ""
    first = failed[0]
    return (
        f"{len(failed)} of {total} trials failed (first, trial {first.number}: "
        f"{first.user_attrs.get('error', 'no error recorded')})"
    )


def resolve(predictor) -> tuple[type[Predictor], dict[str, Any]]:
    if isinstance(predictor, str):
        return get_class(predictor), {}
    if isinstance(predictor, Predictor):
        return type(predictor), predictor.get_params()
    if isinstance(predictor, type) and issubclass(predictor, Predictor):
        return predictor, {}
    raise ConfigError(f"tune: expected a predictor name, class or instance, got {type(predictor).__name__}")


def build(cls: type[Predictor], params: dict[str, Any]) -> Predictor:
    try:
        return cls(**params)
    except TypeError as exc:
        raise PredictorError(
            f"{cls.name}: bad hyper-parameters ({exc}); valid: {cls.param_names()}"
        ) from None


class PinnedTrial:
    """A trial that answers ``suggest_*`` for fixed parameters with their fixed value.

    So a parameter the caller fixed is not searched at all (no wasted dimension for the sampler,
    and the trial's recorded params are only what was really searched).
    """

    def __init__(self, trial, pinned: dict[str, Any]):
        self._trial = trial
        self._pinned = pinned

    def __getattr__(self, attr):
        return getattr(self._trial, attr)

    def _suggest(self, kind: str, name: str, *args, **kwargs):
        if name in self._pinned:
            return self._pinned[name]
        return getattr(self._trial, kind)(name, *args, **kwargs)

    def suggest_float(self, name, *args, **kwargs):
        return self._suggest("suggest_float", name, *args, **kwargs)

    def suggest_int(self, name, *args, **kwargs):
        return self._suggest("suggest_int", name, *args, **kwargs)

    def suggest_categorical(self, name, *args, **kwargs):
        return self._suggest("suggest_categorical", name, *args, **kwargs)


def make_sampler(sampler, seed: int):
    import optuna

    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(
        f"tune: unknown sampler {sampler!r}; choose one of {SAMPLERS} or pass an optuna sampler"
    )


def default_study_name(
    cls: type[Predictor], a: np.ndarray, y: np.ndarray, cv: int, seed: int, fixed: dict[str, Any]
) -> str:
    """Same family + data + folds + fixed params -> same name, so workers meet in one study."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    h.update(repr((cv, seed, sorted(fixed.items()))).encode())
    return f"hwpred-{cls.name}-{h.hexdigest()[:16]}"
