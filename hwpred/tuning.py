"""Optuna cross-validated hyper-parameter search for any predictor family.

One call, :func:`tune`, runs a study on the *training set only*: K-fold cross-validation
(K=3, fewer folds for tiny sets, a plain fit with defaults below ``min_cv_samples``), objective =
mean validation Kendall tau, budget = ``n_trials`` and ``timeout``, TPE (default) or random
search (what the seed study did), seeded. The best parameters are refitted on the whole
training set and returned with the fitted predictor, the budget spent and the time it took.

With ``storage`` set to an RDB URL (``sqlite:///tune.db``, ``postgresql://...``) several
workers calling :func:`tune` with the same ``study_name`` share one study: ``n_trials`` is the
budget of the whole study, each worker stops once it is spent, and a rerun resumes it. The
study records its family and a fingerprint of its CV folds (the validation architectures and
targets of each fold): a worker with other folds (another seed, K or training set) is refused,
since its scores would not be comparable. The objective is named ``cv_kendall_tau``, which is
what optuna-dashboard shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._trials import (
    FIT_ERRORS,
    PinnedTrial,
    TrialFailed,
    build,
    claim_study,
    default_study_name,
    describe,
    failure_summary,
    fold_fingerprint,
    make_sampler,
    quiet_optuna,
    resolve,
)
from .errors import ConfigError
from .metrics import kendall_tau
from .predictors.base import Predictor, PredictorError

#: below this many training samples there is nothing to cross-validate on: plain fit with defaults
MIN_CV_SAMPLES = 8
#: smallest validation fold we accept when lowering K for a small training set
MIN_FOLD_SIZE = 4


@dataclass
class TuningResult:
    """The refitted predictor and what the search cost."""

    predictor: Predictor
    #: the best trial's searched hyper-parameters plus the fixed ones (what the refit used)
    best_params: dict[str, Any]
    #: completed trials in the study (all workers, when the study is shared)
    n_trials: int
    #: wall time of this call's search (excludes the final refit)
    tuning_seconds: float
    #: best mean validation Kendall tau; None when no search ran
    cv_score: float | None
    n_folds: int = 0
    n_failed: int = 0
    fit_seconds: float = 0.0
    study_name: str | None = None
    #: why no search ran (tiny training set, empty search space, n_trials=0), how many trials failed
    #: and the first one's error, a refit that fell back to the next best trial; else ""
    note: str = ""
    trials: list[dict[str, Any]] = field(default_factory=list)

    @property
    def searched(self) -> bool:
        return self.cv_score is not None

    def summary(self) -> dict[str, Any]:
        """JSON-able record (e.g. ``predictor.save(dir, tuning=result.summary())``)."""
        return {
            "family": self.predictor.name,
            "best_params": dict(self.best_params),
            "n_trials": self.n_trials,
            "n_failed": self.n_failed,
            "n_folds": self.n_folds,
            "tuning_seconds": self.tuning_seconds,
            "fit_seconds": self.fit_seconds,
            "cv_score": self.cv_score,
            "study_name": self.study_name,
            "note": self.note,
        }


def has_search_space(cls: type[Predictor], fixed: dict[str, Any] | None = None) -> bool:
    """Whether the family has any hyper-parameter left to search once ``fixed`` ones are pinned."""
    import optuna

    with quiet_optuna():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        trial = study.ask()
        cls.search_space(PinnedTrial(trial, dict(fixed or {})))
        return bool(trial.params)


def n_folds_for(n: int, cv: int = 3, min_cv_samples: int = MIN_CV_SAMPLES) -> int:
    """K for ``n`` samples: ``cv``, lowered so each validation fold keeps >= 4 samples; 0 = no CV."""
    if n < min_cv_samples:
        return 0
    return max(2, min(int(cv), n // MIN_FOLD_SIZE))


def tune(
    predictor: str | Predictor | type[Predictor],
    archs,
    y,
    n_trials: int = 30,
    timeout: float | None = None,
    sampler: Any = "tpe",
    cv: int = 3,
    seed: int = 0,
    storage: Any = None,
    study_name: str | None = None,
    fixed_params: dict[str, Any] | None = None,
    space: str | None = None,
    min_cv_samples: int = MIN_CV_SAMPLES,
    show_progress: bool = False,
) -> TuningResult:
    """Cross-validated Optuna search on (archs, y), then a refit of the best parameters on all of it.

    Only the training set is seen: the objective is the mean validation Kendall tau over K folds.

    Parameters
    ----------
    predictor : str, Predictor subclass or Predictor
        A family name (``"xgb"``), class or instance (an instance's parameters are the starting
        point of every trial).
    archs : array-like
        Training architectures: an (n, positions) int array, op tuples or arch strings.
    y : array-like
        The n training targets (e.g. latency in ms).
    n_trials : int
        The search budget (of the whole study when ``storage`` is shared); ``0`` fits the
        defaults without a search.
    timeout : float, optional
        Seconds this call may search; a trial in progress finishes.
    sampler : {"tpe", "random"} or optuna.samplers.BaseSampler
        TPE (default) or random search, seeded with ``seed``.
    cv : int
        K of the K-fold split, lowered so that each validation fold keeps at least 4 samples.
    seed : int
        Seeds the folds and the sampler.
    storage : str or optuna storage, optional
        An RDB URL (``sqlite:///tune.db``) to share the study between workers or resume it.
    study_name : str, optional
        The shared study's name; by default derived from the family, the data and the settings.
    fixed_params : dict, optional
        Hyper-parameters that are never searched (pinned in the family's search space).
    space : str, optional
        The search space name, fixed like ``fixed_params``.
    min_cv_samples : int
        Below this many samples nothing is cross-validated: the defaults are fitted.
    show_progress : bool
        Show Optuna's progress bar.

    Returns
    -------
    TuningResult
        The refitted predictor, the best parameters (searched plus fixed), the trials counted,
        the search time, the best cross-validated tau (None when no search ran) and a note
        saying why no search ran, if none did.

    Raises
    ------
    ConfigError
        A bad budget, fold count, timeout, sampler or storage.
    PredictorError
        Training data no predictor can learn from (mismatched lengths, NaN, constant y...).

    Examples
    --------
    >>> import numpy as np
    >>> from hwpred.spaces import NB201
    >>> from hwpred.tuning import tune
    >>> archs = np.array(NB201.enumerate()[::250])
    >>> y = 1.0 + archs.sum(axis=1) + np.random.default_rng(0).normal(0, 0.1, len(archs))
    >>> result = tune("ridge_reg", archs, y, n_trials=5, seed=0)
    >>> result.n_trials, result.n_folds, sorted(result.best_params)
    (5, 3, ['alpha'])
    >>> result.predictor.predict(archs[:2]).shape
    (2,)
    """
    import optuna

    cls, start = resolve(predictor)
    fixed = dict(fixed_params or {})
    if space is not None:
        fixed["space"] = space
    base = {**start, **fixed}
    proto = build(cls, base)
    a, y = proto.check_training_data(archs, y)  # once up front, so CV folds never hit them first
    if int(n_trials) < 0:
        raise ConfigError(f"tune: n_trials must be >= 0, got {n_trials}")
    if int(cv) < 2:
        raise ConfigError(f"tune: cv must be >= 2 folds, got {cv}")
    if timeout is not None and not float(timeout) > 0:
        raise ConfigError(f"tune: timeout must be > 0 seconds (or None), got {timeout}")
    opt_sampler = make_sampler(sampler, int(seed))

    k = n_folds_for(len(y), cv, min_cv_samples)
    note = ""
    if int(n_trials) == 0:
        note = "n_trials=0: defaults, no search"
    elif not has_search_space(cls):
        note = f"{cls.name} has no hyper-parameters to search"
    elif not has_search_space(cls, fixed):
        note = f"every searched hyper-parameter of {cls.name} is fixed by fixed_params: defaults fitted"
    elif k == 0:
        note = f"{len(y)} training samples (< {min_cv_samples}): too few to cross-validate, defaults fitted"
    if note:
        t0 = time.perf_counter()
        fitted = proto.fit(a, y)
        return TuningResult(
            predictor=fitted,
            best_params=dict(fixed),
            n_trials=0,
            tuning_seconds=0.0,
            cv_score=None,
            fit_seconds=time.perf_counter() - t0,
            note=note,
        )

    from sklearn.model_selection import KFold

    folds = list(KFold(n_splits=k, shuffle=True, random_state=int(seed)).split(a))

    def objective(trial) -> float:
        params = {**start, **cls.search_space(PinnedTrial(trial, fixed)), **fixed}
        taus = []
        for tr, va in folds:
            try:
                with np.errstate(all="ignore"):
                    model = build(cls, params).fit(a[tr], y[tr])
                    pred = model.predict(a[va])
            except FIT_ERRORS as exc:
                trial.set_user_attr("error", describe(exc))
                raise TrialFailed(describe(exc)) from exc
            tau = kendall_tau(y[va], pred)
            taus.append(0.0 if not np.isfinite(tau) else tau)  # constant predictions rank nothing
        trial.set_user_attr("fold_taus", taus)
        return float(np.mean(taus))

    with quiet_optuna():
        name = study_name
        if storage is not None and name is None:
            name = default_study_name(cls, a, y, k, int(seed), fixed)
        try:
            study = optuna.create_study(
                storage=storage,
                sampler=opt_sampler,
                study_name=name,
                direction="maximize",
                load_if_exists=storage is not None,
            )
        except Exception as exc:  # bad URL, unreachable database, name clash in memory
            raise ConfigError(
                f"tune: cannot open Optuna study {name!r} in storage {storage!r} ({describe(exc)})"
            ) from None
        claim_study(study, cls.name, k, fold_fingerprint(a, y, folds))
        finished = (
            optuna.trial.TrialState.COMPLETE,
            optuna.trial.TrialState.FAIL,
            optuna.trial.TrialState.PRUNED,
        )
        done = len(study.get_trials(deepcopy=False, states=finished))
        t0 = time.perf_counter()
        if done < int(n_trials):
            study.optimize(
                objective,
                n_trials=int(n_trials) - done,
                timeout=timeout,
                catch=(TrialFailed,),
                callbacks=[optuna.study.MaxTrialsCallback(int(n_trials), states=finished)],
                show_progress_bar=show_progress,
            )
        tuning_seconds = time.perf_counter() - t0
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))

    trials = [
        {
            "number": t.number,
            "value": t.value,
            "params": dict(t.params),
            "fold_taus": t.user_attrs.get("fold_taus"),
        }
        for t in complete
    ]
    if not complete:
        t1 = time.perf_counter()
        fitted = proto.fit(a, y)
        return TuningResult(
            predictor=fitted,
            best_params=dict(fixed),
            n_trials=0,
            tuning_seconds=tuning_seconds,
            cv_score=None,
            n_folds=k,
            n_failed=len(failed),
            fit_seconds=time.perf_counter() - t1,
            study_name=study.study_name,
            note=f"{failure_summary(failed, len(failed))}; defaults fitted",
        )
    # the refit on all the data can fail where the folds did not (a network that dies on this draw):
    # then the next best trial is refitted, and the note says so
    ranked = sorted(complete, key=lambda t: t.value, reverse=True)
    t1 = time.perf_counter()
    refit_errors: list[str] = []
    for best in ranked:
        searched = cls.search_space(PinnedTrial(optuna.trial.FixedTrial(best.params), fixed))
        best_params = {**searched, **fixed}
        try:
            with np.errstate(all="ignore"):
                fitted = build(cls, {**start, **best_params}).fit(a, y)
        except FIT_ERRORS as exc:
            refit_errors.append(f"trial {best.number}: {describe(exc)}")
            continue
        notes = [failure_summary(failed, len(complete) + len(failed))]
        if refit_errors:
            notes.append(
                f"refit of the {len(refit_errors)} best trial(s) failed ({refit_errors[0]}); "
                f"trial {best.number} (cv tau {best.value:.3f}) refitted instead"
            )
        note = "; ".join(n for n in notes if n)
        return TuningResult(
            predictor=fitted,
            best_params=best_params,
            n_trials=len(complete),
            tuning_seconds=tuning_seconds,
            cv_score=float(best.value),
            n_folds=k,
            n_failed=len(failed),
            fit_seconds=time.perf_counter() - t1,
            study_name=study.study_name,
            trials=trials,
            note=note,
        )
    raise PredictorError(
        f"tune: the refit on all {len(a)} samples failed for every one of the {len(ranked)} "
        f"completed trials; first: {refit_errors[0]}"
    )
