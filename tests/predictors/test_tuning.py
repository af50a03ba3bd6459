"""Optuna cross-validated tuning: search spaces match the seed study's table, refit, budget, storage, errors."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from hwpred.errors import ConfigError
from hwpred.metrics import kendall_tau
from hwpred.predictors import Predictor, PredictorError, create, get_class
from hwpred.spaces import NB201, TRANSNAS_MACRO
from hwpred.tuning import TuningResult, has_search_space, n_folds_for, tune

# the seed study's table: name -> (low, high, log) or a tuple of choices
TABLE: dict[str, dict[str, object]] = {
    "ridge_reg": {"alpha": (0.25, 2.5, False)},
    "svmr": {"C": (0.5, 1.5, False), "kernel": ("linear", "poly", "rbf", "sigmoid")},
    "rf": {
        "n_estimators": (16, 128, True),
        "max_features": (0.1, 0.9, True),
        "min_samples_leaf": (1, 20, False),
        "min_samples_split": (2, 20, True),
    },
    "xgb": {
        "max_depth": (1, 15, False),
        "min_child_weight": (1, 10, False),
        "colsample_bytree": (0.0, 1.0, False),
        "learning_rate": (1e-3, 0.5, True),
        "colsample_bylevel": (0.0, 1.0, False),
    },
    "lgb": {
        "num_leaves": (10, 100, False),
        "learning_rate": (1e-3, 1e-1, True),
        "feature_fraction": (0.1, 1.0, False),
    },
    "ngb": {
        "n_estimators": (128, 512, True),
        "learning_rate": (1e-3, 1e-1, True),
        "max_depth": (1, 25, False),
        "max_features": (0.1, 1.0, False),
    },
    "bayes_lin_reg": {k: (1e-8, 1e-4, True) for k in ("alpha_1", "alpha_2", "lambda_1", "lambda_2")},
}


def _synthetic(n=120, seed=0):
    archs = np.asarray(NB201.random(n, seed), dtype=np.int64)
    w = np.array([[0.0, 0.2, 1.0, 3.0, 0.5]] * 6) * np.arange(1, 7)[:, None]
    y = w[np.arange(6)[None, :], archs].sum(1) + 0.3 * (archs[:, 0] == 3) * (archs[:, 5] == 3)
    return archs, y + 5.0


@pytest.fixture(scope="module")
def data():
    return _synthetic()


# ---- search spaces --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TABLE))
def test_search_space_matches_seed_study_table(name):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cls = get_class(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(25):
        trial = study.ask()
        params = cls.search_space(trial)
        assert set(params) == set(TABLE[name])
        create(name, **params)  # every suggestion is a valid constructor argument
        study.tell(trial, 0.0)
    dists = study.trials[0].distributions
    for key, spec in TABLE[name].items():
        d = dists[key]
        if isinstance(spec[0], str):
            assert tuple(d.choices) == spec
        else:
            low, high, log = spec
            assert (d.low, d.high, d.log) == (low, high, log), f"{name}.{key}: {d}"


def test_families_without_hyper_parameters():
    assert not has_search_space(get_class("lin_reg"))
    assert not has_search_space(get_class("lut"))
    assert has_search_space(get_class("xgb"))


def test_fold_count():
    assert n_folds_for(5) == 0
    assert n_folds_for(8) == 2
    assert n_folds_for(11) == 2
    assert n_folds_for(12) == 3
    assert n_folds_for(1000) == 3
    assert n_folds_for(1000, cv=5) == 5


# ---- the search ------------------------------------------------------------------------------------
def test_tune_xgb_refits_best_params(data):
    archs, y = data
    res = tune("xgb", archs, y, n_trials=4, seed=1)
    assert isinstance(res, TuningResult) and res.searched
    assert res.n_trials == 4 and res.n_folds == 3 and res.n_failed == 0
    assert res.tuning_seconds > 0 and res.fit_seconds > 0
    for key, (low, high, _) in TABLE["xgb"].items():
        assert low <= res.best_params[key] <= high
    assert res.cv_score == pytest.approx(max(t["value"] for t in res.trials))
    assert all(len(t["fold_taus"]) == 3 for t in res.trials)
    # the returned predictor is the best parameters refitted on all the training data
    ref = create("xgb", **res.best_params).fit(archs, y)
    test = np.asarray(NB201.random(200, 9))
    np.testing.assert_array_equal(res.predictor.predict(test), ref.predict(test))
    assert res.predictor.n_train_ == len(y)
    summary = res.summary()
    assert summary["family"] == "xgb" and summary["n_trials"] == 4


def test_tuning_helps_and_is_seeded(data):
    archs, y = data
    a = tune("ridge_reg", archs, y, n_trials=6, seed=3)
    b = tune("ridge_reg", archs, y, n_trials=6, seed=3)
    assert a.best_params == b.best_params
    assert [t["value"] for t in a.trials] == [t["value"] for t in b.trials]
    c = tune("ridge_reg", archs, y, n_trials=6, seed=4)
    assert [t["params"] for t in a.trials] != [t["params"] for t in c.trials]
    test = np.asarray(NB201.random(300, 5))
    w = _synthetic(300, 5)[1]
    assert kendall_tau(w, a.predictor.predict(test)) > 0.8


def test_random_sampler(data):
    archs, y = data
    res = tune("svmr", archs, y, n_trials=5, sampler="random", seed=0)
    assert res.n_trials == 5 and res.best_params["kernel"] in TABLE["svmr"]["kernel"]


def test_fixed_params_are_not_searched(data):
    archs, y = data
    res = tune("xgb", archs, y, n_trials=3, fixed_params={"max_depth": 2, "n_estimators": 20})
    assert res.best_params["max_depth"] == 2 and res.predictor.max_depth == 2
    assert res.predictor.n_estimators == 20
    # a fixed parameter is pinned, not searched: the sampler never sees it
    assert all("max_depth" not in t["params"] and "learning_rate" in t["params"] for t in res.trials)
    everything = {k: v for k, v in create("ridge_reg").get_params().items() if k == "alpha"}
    res = tune("ridge_reg", archs, y, n_trials=3, fixed_params=everything)
    assert not res.searched and "fixed by fixed_params" in res.note


def test_predictor_instance_is_the_starting_point():
    archs = np.asarray(TRANSNAS_MACRO.random(60, 0))
    y = np.array([sum(a) + 0.5 * a[0] for a in archs], dtype=float)
    res = tune(create("rf", space="transnas_macro", n_estimators=16), archs, y, n_trials=2)
    assert res.predictor.space == "transnas_macro"
    res2 = tune("ridge_reg", archs, y, n_trials=2, space="transnas_macro")
    assert res2.predictor.space == "transnas_macro"


@pytest.mark.parametrize("n,expect_folds", [(6, 0), (9, 2), (40, 3)])
def test_small_training_sets(n, expect_folds):
    archs, y = _synthetic(n, 2)
    res = tune("ridge_reg", archs, y, n_trials=3)
    assert res.n_folds == expect_folds
    if expect_folds == 0:
        assert not res.searched and "too few" in res.note and res.predictor.alpha == 1.0
    else:
        assert res.searched and res.n_trials == 3
    assert np.all(np.isfinite(res.predictor.predict(archs)))


def test_no_search_cases(data):
    archs, y = data
    res = tune("xgb", archs, y, n_trials=0)
    assert not res.searched and res.n_trials == 0 and "n_trials=0" in res.note
    assert res.predictor.get_params() == create("xgb").get_params()
    res = tune("lin_reg", archs, y, n_trials=5)
    assert not res.searched and "no hyper-parameters" in res.note
    from hwpred.predictors.lut import LookupTablePredictor

    need = LookupTablePredictor.required_archs("nb201")
    res = tune("lut", need, np.arange(len(need), dtype=float), n_trials=5)
    assert not res.searched and res.predictor.predict(need[:3]).shape == (3,)


def test_timeout_bounds_the_search(data):
    archs, y = data
    res = tune("ridge_reg", archs, y, n_trials=100_000, timeout=0.5)
    assert 1 <= res.n_trials < 100_000
    assert res.tuning_seconds < 30


class _Flaky(Predictor):
    """Test family whose fit fails for half of its search space."""

    name: ClassVar[str] = "flaky"
    family: ClassVar[str] = "test"

    def __init__(self, k: int = 1, space: str = "nb201", random_state: int = 0):
        self.k = k
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial):
        return {"k": trial.suggest_int("k", 0, 1)}

    def _fit(self, X, z, archs):
        if self.k == 0:
            raise PredictorError("flaky: k=0 cannot be fitted")
        self.w_ = np.linalg.lstsq(X, z, rcond=None)[0] * self.k

    def _predict(self, X, archs):
        return X @ self.w_


def test_failed_trials_are_recorded_not_fatal(data, capfd):
    archs, y = data
    res = tune(_Flaky, archs, y, n_trials=12, sampler="random", seed=0)
    assert res.n_failed >= 1 and res.n_trials + res.n_failed == 12
    assert res.best_params["k"] == 1 and res.predictor.k == 1
    # one summary line in the note instead of Optuna's warning and traceback per failed trial
    assert f"{res.n_failed} of 12 trials failed" in res.note and "flaky: k=0 cannot be fitted" in res.note
    err = capfd.readouterr().err
    assert "failed with parameters" not in err and "Traceback" not in err


class _FailsInSearch(_Flaky):
    """Test family whose whole search space fails to fit; only its default (k=1) fits."""

    name: ClassVar[str] = "fails_in_search"

    @classmethod
    def search_space(cls, trial):
        return {"k": trial.suggest_int("k", 0, 0)}


def test_a_search_whose_trials_all_fail_fits_the_defaults_and_says_why(data):
    archs, y = data
    res = tune(_FailsInSearch, archs, y, n_trials=5, sampler="random", seed=0)
    assert not res.searched and res.n_failed == 5 and res.predictor.k == 1
    assert res.note.startswith("5 of 5 trials failed") and "k=0 cannot be fitted" in res.note
    assert res.note.endswith("defaults fitted")
    assert kendall_tau(y, res.predictor.predict(archs)) > 0.5


def test_shared_storage_resumes_and_shares(tmp_path, data):
    archs, y = data
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    first = tune("ridge_reg", archs, y, n_trials=3, storage=url, study_name="s1")
    again = tune("ridge_reg", archs, y, n_trials=3, storage=url, study_name="s1")
    assert first.n_trials == again.n_trials == 3  # budget already spent: nothing new ran
    assert again.best_params == first.best_params
    more = tune("ridge_reg", archs, y, n_trials=5, storage=url, study_name="s1")
    assert more.n_trials == 5
    auto = tune("ridge_reg", archs, y, n_trials=2, storage=url)
    assert auto.study_name.startswith("hwpred-ridge_reg-")
    assert tune("ridge_reg", archs, y, n_trials=2, storage=url).n_trials == 2
    with pytest.raises(ConfigError, match="belongs to family 'ridge_reg'"):
        tune("svmr", archs, y, n_trials=2, storage=url, study_name="s1")


def test_shared_study_refuses_other_folds_and_names_its_objective(tmp_path, data):
    import optuna

    archs, y = data
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    tune("ridge_reg", archs, y, n_trials=2, storage=url, study_name="s", seed=0)
    study = optuna.load_study(storage=url, study_name="s")
    assert study.metric_names == ["cv_kendall_tau"]  # what optuna-dashboard shows
    fingerprint = study.user_attrs["fold_fingerprint"]
    assert tune("ridge_reg", archs, y, n_trials=3, storage=url, study_name="s", seed=0).n_trials == 3
    for other in ({"seed": 1}, {"cv": 2}):  # another split of the same data
        with pytest.raises(ConfigError, match="other CV folds"):
            tune("ridge_reg", archs, y, n_trials=4, storage=url, study_name="s", **other)
    with pytest.raises(ConfigError, match="other CV folds"):  # same split, other targets
        tune("ridge_reg", archs, y * 2.0, n_trials=4, storage=url, study_name="s", seed=0)
    study = optuna.load_study(storage=url, study_name="s")
    assert study.user_attrs["fold_fingerprint"] == fingerprint and len(study.trials) == 3


_WORKER = """
import sys
import numpy as np
from hwpred.spaces import NB201
from hwpred.tuning import tune
archs = np.asarray(NB201.random(80, 0), dtype=np.int64)
y = archs.sum(1) + 0.5 * archs[:, 0] + 1.0
res = tune("ridge_reg", archs, y, n_trials=8, storage=sys.argv[1], study_name="shared", seed=int(sys.argv[2]))
print(res.n_trials)
"""


@pytest.mark.slow
def test_two_worker_processes_share_one_study(tmp_path):
    import subprocess
    import sys

    import optuna

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(storage=url, study_name="shared", direction="maximize")  # create the schema once
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (0, 0)  # one seed: the same CV folds (a worker with other folds is refused)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    study = optuna.load_study(storage=url, study_name="shared")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    # one shared budget of 8 (a worker may start one trial while the other finishes the last)
    assert 8 <= len(done) <= 9
    assert {t.user_attrs.get("fold_taus") is not None for t in done} == {True}


def test_optuna_logging_is_silenced(data, capfd):
    archs, y = data
    tune("ridge_reg", archs, y, n_trials=3)
    err = capfd.readouterr().err
    assert "Trial 0 finished" not in err and "A new study created" not in err


# ---- bad input -------------------------------------------------------------------------------------
def test_bad_input(data):
    archs, y = data
    bad = y.copy()
    bad[3] = math.nan
    with pytest.raises(PredictorError, match="NaN"):
        tune("xgb", archs, bad, n_trials=2)
    with pytest.raises(PredictorError, match="equal"):
        tune("xgb", archs, np.ones(len(y)), n_trials=2)
    with pytest.raises(PredictorError, match="at least"):
        tune("xgb", archs[:1], y[:1], n_trials=2)
    with pytest.raises(PredictorError, match="targets"):
        tune("xgb", archs, y[:-1], n_trials=2)
    with pytest.raises(PredictorError, match="unknown predictor"):
        tune("nope", archs, y)
    with pytest.raises(PredictorError, match="TransNAS"):
        tune("xgb", archs, y, space="transnas_macro")
    with pytest.raises(PredictorError, match="bad hyper-parameters"):
        tune("xgb", archs, y, fixed_params={"depth": 3})
    with pytest.raises(ConfigError, match="sampler"):
        tune("xgb", archs, y, sampler="grid")
    with pytest.raises(ConfigError, match="cv"):
        tune("xgb", archs, y, cv=1)
    with pytest.raises(ConfigError, match="n_trials"):
        tune("xgb", archs, y, n_trials=-1)
    with pytest.raises(ConfigError, match="timeout"):
        tune("xgb", archs, y, timeout=0)
    with pytest.raises(ConfigError, match="storage"):
        tune("xgb", archs, y, n_trials=1, storage="nosuchdb://x/y")


@pytest.mark.mirror
def test_tuned_xgb_on_raspi4(mirror):
    from hwpred.data import load_dataset

    archs, y = load_dataset("help:raspi4").arrays()
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[:100], perm[-625:]
    res = tune("xgb", archs[tr], y[tr], n_trials=4, seed=0)
    assert res.searched and res.cv_score > 0.4
    assert kendall_tau(y[te], res.predictor.predict(archs[te])) > 0.55


def test_tune_docstring_example_runs():
    import doctest

    from hwpred.tuning import tune

    runner = doctest.DocTestRunner()
    for example in doctest.DocTestFinder().find(tune, "tune", globs={}):
        runner.run(example)
    assert runner.tries > 0 and runner.failures == 0
