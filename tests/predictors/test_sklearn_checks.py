"""scikit-learn's estimator checks (``check_estimator``) on the predictor families.

A family's input is an architecture (an (n, positions) array of op indices of one search
space), so every check that fits on a random float matrix cannot apply to the family as it is.
We run the checks twice:

- on every family as registered: the checks that fit nothing (clone, tags, repr, parameters,
  init) must pass; the ones that feed float matrices are listed in ``ARCH_INPUT`` and expected
  to fail, because the search space rejects a float row as an architecture;
- on an *encoded-input adapter* of each family whose encoding is a float matrix (one-hot or
  path): the adapter takes the matrix as the already-encoded architectures and runs the family's
  own ``fit``/``predict`` on it (target standardisation, the family's model, determinism,
  pickling, no parameter mutation, subset/order invariance, learning a regression). The matrix
  is validated as scikit-learn validates one, so all checks run and must pass
  (``ADAPTER_SKIPS`` is empty; a check that had to be skipped would be listed there with its
  reason).

One test per family runs all checks in-process (``check_estimator(on_fail=None)``) and asserts
the listed ones fail and every other one passes, so a stale entry is caught too.

Graph and tuple families (GCN, BONAS, NAO, Lookup Table) need real architectures (a graph, a
per-position plan), so they get the first run only. docs/predictors.md carries the same lists.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator
from sklearn.utils.validation import validate_data

from hwpred.predictors import available, create, get_class

#: small budgets for the slow families (the checks fit each estimator a few dozen times). The
#: 20-layer default MLPs stay dead on the checks' 3-column random matrices (their own guard says
#: so), so the checks use a 5 x 25 network, inside the searched range.
FAST: dict[str, dict] = {
    "mlp": {"epochs": 20, "num_layers": 5, "layer_width": 25},
    "minimlp": {"epochs": 20},
    "bananas": {"epochs": 20, "num_layers": 5, "layer_width": 25},
    "bohamiann": {"burn_in": 50, "num_steps": 150, "keep_every": 25},
    "ngb": {"n_estimators": 40},
    "gp": {"iterations": 15},
    "rf": {"n_estimators": 20},
}
#: families whose adapter run takes more than a few seconds (torch training, GP marginal likelihood)
SLOW = {"mlp", "minimlp", "bananas", "bohamiann", "gp", "sparse_gp", "ngb"}

_FLOAT_MATRIX = (
    "fits on a random float matrix; a family's input is an architecture (op indices of a search space)"
)
#: checks that feed float matrices to the family as registered, each with its reason
ARCH_INPUT: dict[str, str] = {
    name: _FLOAT_MATRIX
    for name in (
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_complex_data",
        "check_dtype_object",
        "check_estimators_empty_data_messages",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_regressors_train",
        "check_regressor_data_not_an_array",
        "check_regressors_no_decision_function",
        "check_supervised_y_2d",
        "check_regressors_int",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
    )
}
#: fits on iris (floats) to read ``n_iter_``; only families with a ``max_iter`` run it for real
_N_ITER = {"check_non_transformer_estimators_n_iter": _FLOAT_MATRIX}


def _arch_input_failures(estimator) -> dict[str, str]:
    return {**ARCH_INPUT, **(_N_ITER if "max_iter" in estimator.get_params() else {})}


#: checks the adapter run is allowed to fail, with the reason; none at present
ADAPTER_SKIPS: dict[str, str] = {}


class _OnEncodings:
    """The family fitted on a float matrix taken as its (already encoded) architectures.

    The matrix is validated as scikit-learn validates one (``validate_data``); everything after
    that is the family's own code.
    """

    def _archs(self, archs) -> np.ndarray:
        return np.asarray(archs, dtype=np.float64)

    def _encode(self, archs: np.ndarray):
        return archs

    def fit(self, X, y):
        X = validate_data(self, X, reset=True)
        return super().fit(X, y)

    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        return super().predict(validate_data(self, X, reset=False))


def _adapter(name: str) -> type:
    """A module-level subclass (so the pickle check can find it by name)."""
    cls = get_class(name)
    qual = f"{cls.__name__}OnEncodings"
    adapter = type(qual, (_OnEncodings, cls), {"__module__": __name__, "__qualname__": qual})
    globals()[qual] = adapter
    return adapter


def _make(name: str):
    return create(name, **FAST.get(name, {}))


def _float_encoded(name: str) -> bool:
    return get_class(name).default_encoding in ("onehot", "path")


def _run_checks(estimator, expected: dict[str, str]) -> None:
    """Every check passes, except exactly the ``expected`` ones, which must fail."""
    results = check_estimator(estimator, on_fail=None, expected_failed_checks=expected)
    ran = {r["check_name"] for r in results}
    assert set(expected) <= ran, f"listed checks scikit-learn no longer runs: {set(expected) - ran}"
    failed = {r["check_name"]: repr(r["exception"])[:300] for r in results if r["status"] == "failed"}
    assert not failed, f"{type(estimator).__name__}: {failed}"
    passing_anyway = {r["check_name"] for r in results if r["expected_to_fail"] and r["status"] == "passed"}
    assert not passing_anyway, f"listed as failing but pass now (drop them from the list): {passing_anyway}"
    assert sum(r["status"] == "passed" for r in results) >= 10


NAMES = available()
ADAPTED = [n for n in NAMES if _float_encoded(n)]


@pytest.mark.parametrize("name", NAMES)
def test_family_as_registered(name):
    est = _make(name)
    _run_checks(est, _arch_input_failures(est))


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in ADAPTED]
)
def test_family_on_encodings(name):
    _run_checks(_adapter(name)(**FAST.get(name, {})), ADAPTER_SKIPS)


def test_the_adapter_covers_every_float_encoded_family():
    assert set(ADAPTED) == {n for n in NAMES if n not in ("gcn", "bonas", "nao", "lut")}


# ---- the scikit-learn tools on real architecture inputs -----------------------------------------


def _toy_latency() -> tuple[np.ndarray, np.ndarray]:
    from hwpred.spaces import NB201

    archs = np.asarray(NB201.random(240, np.random.default_rng(0)), dtype=np.int64)
    noise = np.random.default_rng(1).normal(0.0, 0.3, len(archs))
    return archs, 1.0 + archs.sum(axis=1) + 0.5 * (archs == 3).sum(axis=1) + noise


@pytest.mark.parametrize("name", ["lin_reg", "ridge_reg", "svmr", "rf"])
def test_default_score_is_r2_and_model_selection_needs_no_scorer(name):
    from sklearn.base import clone, is_regressor
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    archs, y = _toy_latency()
    est = _make(name)
    assert is_regressor(est) and clone(est).get_params() == est.get_params()
    fitted = clone(est).fit(archs[:160], y[:160])
    assert fitted.score(archs[160:], y[160:]) == pytest.approx(r2_score(y[160:], fitted.predict(archs[160:])))
    folds = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(est, archs, y, cv=folds)
    assert scores.shape == (3,) and np.all(scores > 0.5)  # R² of a learnable additive latency
    grid = {"random_state": [0, 1]}
    search = GridSearchCV(est, grid, cv=folds).fit(archs, y)
    assert search.best_score_ == pytest.approx(max(search.cv_results_["mean_test_score"]))


def test_kendall_tau_scorer_ranks():
    from sklearn.model_selection import KFold, cross_val_score

    from hwpred.metrics import kendall_tau, kendall_tau_scorer, spearman_scorer

    archs, y = _toy_latency()
    folds = KFold(3, shuffle=True, random_state=0)
    taus = cross_val_score(_make("ridge_reg"), archs, y, cv=folds, scoring=kendall_tau_scorer)
    by_hand = [
        kendall_tau(y[te], _make("ridge_reg").fit(archs[tr], y[tr]).predict(archs[te]))
        for tr, te in folds.split(archs)
    ]
    np.testing.assert_allclose(taus, by_hand)
    assert np.all(taus > 0.5)
    assert cross_val_score(_make("ridge_reg"), archs, y, cv=folds, scoring=spearman_scorer).min() > 0.5
    with pytest.raises(AttributeError):
        from hwpred import metrics

        metrics.rmse_scorer  # noqa: B018 - only rank metrics have scorers (sklearn has RMSE)


def test_predict_before_fit_is_sklearn_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="predict called before fit"):
        _make("ridge_reg").predict(np.zeros((1, 6), dtype=np.int64))
