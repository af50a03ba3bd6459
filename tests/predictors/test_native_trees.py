"""Packed trees predict through scikit-learn's compiled trees when possible, the numpy walk
otherwise; both must reach the same leaves, before and after a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

from hwpred.predictors import create, load_predictor_folder
from hwpred.predictors._native_trees import NativeTrees
from hwpred.spaces import NB201


@pytest.fixture(scope="module")
def data():
    archs = np.asarray(NB201.enumerate(), dtype=np.int64)[::5]
    y = archs.sum(axis=1) + np.random.default_rng(0).random(len(archs))
    return archs, y


def _numpy_only(pred) -> None:
    pred.trees_.__dict__["_native_cache"] = False  # as if scikit-learn refused the arrays


@pytest.mark.parametrize("name", ["rf", "ngb"])
def test_native_and_numpy_walks_agree(name, data, tmp_path):
    archs, y = data
    params = {"n_estimators": 30} if name == "rf" else {"n_estimators": 40}
    pred = create(name, **params).fit(archs[:400], y[:400])
    fresh = pred.predict(archs)
    loaded = load_predictor_folder(pred.save(tmp_path / name))
    assert isinstance(loaded.trees_._native(), NativeTrees)  # rebuilt from the saved arrays
    np.testing.assert_array_equal(loaded.predict(archs), fresh)
    _numpy_only(loaded)
    np.testing.assert_array_equal(loaded.predict(archs), fresh)


def test_rf_matches_scikit_learn(data):
    from hwpred.encoders import encode

    archs, y = data
    pred = create("rf", n_estimators=25).fit(archs[:300], y[:300])
    model = pred._make_model().fit(
        np.asarray(encode(archs[:300], NB201, "onehot"), np.float32), (y[:300] - pred.y_mean_) / pred.y_std_
    )
    want = model.predict(np.asarray(encode(archs, NB201, "onehot"), np.float32)) * pred.y_std_ + pred.y_mean_
    np.testing.assert_allclose(pred.predict(archs), want, rtol=1e-12)


def test_unusual_node_order_falls_back_to_numpy(data):
    archs, y = data
    trees = create("rf", n_estimators=5).fit(archs[:200], y[:200]).trees_
    shuffled = type(trees)(
        **{k: getattr(trees, k) for k in ("left", "right", "feature", "threshold", "value", "n_features")},
        roots=trees.roots[::-1].copy(),
    )
    assert NativeTrees.build(shuffled) is None
