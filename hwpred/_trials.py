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


#: the objective's name in the study (what optuna-dashboard shows)
METRIC_NAME = "cv_kendall_tau"


def fold_fingerprint(a: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """The CV folds as a hash of each fold's validation architectures and targets, in fold order."""
    h = hashlib.sha1()
    for _, va in folds:
        h.update(np.ascontiguousarray(a[va], dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(y[va], dtype=np.float64).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def claim_study(study, family: str, n_folds: int, fingerprint: str) -> None:
    """Mark a new study as this family's on these folds, or check a shared one against them.

    A worker whose folds differ would put scores of another split into the same study, and the
    sampler would compare them as if they were one objective: it is refused with the fix.
    """
    import warnings

    import optuna

    attrs = study.user_attrs
    owner = attrs.get("family")
    if owner is not None and owner != family:
        raise ConfigError(
            f"tune: study {study.study_name!r} belongs to family {owner!r}, not {family!r}; "
            "use another study_name"
        )
    theirs = attrs.get("fold_fingerprint")
    if theirs is not None and theirs != fingerprint:
        raise ConfigError(
            f"tune: study {study.study_name!r} was tuned on other CV folds ({attrs.get('n_folds')} "
            f"folds, fingerprint {theirs}; this worker's: {n_folds} folds, {fingerprint}): its "
            "scores are not comparable. Give every worker the same training set, seed and n_folds, "
            "or use another study_name"
        )
    if owner is None:
        study.set_user_attr("family", family)
        study.set_user_attr("n_folds", n_folds)
    if theirs is None:
        study.set_user_attr("fold_fingerprint", fingerprint)
    if study.metric_names is None:
        with warnings.catch_warnings():  # set_metric_names is marked experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([METRIC_NAME])
