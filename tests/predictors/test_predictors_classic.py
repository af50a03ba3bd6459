"""Family-specific tests of the classic predictors: linear, SVR, random forest, boosting, lookup table.

The contract shared by all 18 families is tested in test_predictor_contract.py; here each family
must *learn* (held-out Kendall tau above a floor a random predictor cannot reach: on 600 test
points a random ranking has tau ~ N(0, 0.028)), on real HELP raspi4 latencies and on TransNAS
macro architectures with targets from a known per-layer cost formula, plus determinism,
save/load identity of the hand-serialised formats, torch_forward, and bad input.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from hwpred.encoders import onehot
from hwpred.metrics import kendall_tau
from hwpred.predictors import PredictorError, create, load_predictor_folder
from hwpred.predictors.lut import LookupTablePredictor, lut_plan
from hwpred.spaces import NB201, TRANSNAS_MACRO

CLASSIC = ["lin_reg", "ridge_reg", "bayes_lin_reg", "svmr", "rf", "xgb", "lgb", "ngb"]
#: keep NGBoost's (scipy-heavy) fits short in tests; 128 stages is its default
FAST = {"ngb": {"n_estimators": 32}}
NATIVE_FILES = {
    "lin_reg": "coefficients.json",
    "ridge_reg": "coefficients.json",
    "bayes_lin_reg": "coefficients.json",
    "svmr": "support.npz",
    "rf": "trees.npz",
    "xgb": "model.json",
    "lgb": "model.txt",
    "ngb": "trees.npz",
    "lut": "lookup_table.json",
}


def make(name: str, **kw):
    return create(name, **{**FAST.get(name, {}), **kw})


# ---- data -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raspi4(mirror):
    from hwpred.data import load_dataset

    archs, y = load_dataset("help:raspi4").arrays()
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    tr, te = perm[:200], perm[-625:]
    return archs, y, tr, te


def transnas_latency(arch) -> float:
    """Known per-layer cost: two 3x3 convs per layer, FLOPs of (c_in*c_out + 3*c_out^2) * r^2."""
    c, r, t = 64, 56.0, 0.3
    for code in arch:
        if code == 0:
            break
        c2 = 2 * c if code in (2, 4) else c
        r2 = r / 2 if code in (3, 4) else r
        t += 9e-9 * (c * c2 + 3 * c2 * c2) * r2 * r2 + 0.05
        c, r = c2, r2
    return t


@pytest.fixture(scope="module")
def transnas():
    archs = np.asarray(TRANSNAS_MACRO.enumerate(), dtype=np.int64)
    y = np.array([transnas_latency(a) for a in archs])
    perm = np.random.default_rng(1).permutation(len(archs))
    return archs, y, perm[:150], perm[150:750]


# ---- learning ---------------------------------------------------------------------------------------
@pytest.mark.mirror
@pytest.mark.parametrize("name", CLASSIC)
def test_learns_raspi4(raspi4, name):
    archs, y, tr, te = raspi4
    model = make(name).fit(archs[tr], y[tr])
    tau = kendall_tau(y[te], model.predict(archs[te]))
    # measured ~0.72-0.79 with 200 training samples; random rankings stay below 0.1
    assert tau > 0.6, f"{name}: held-out tau {tau:.3f} on help:raspi4"


@pytest.mark.parametrize("name", CLASSIC)
def test_learns_transnas_formula(transnas, name):
    archs, y, tr, te = transnas
    model = make(name, space="transnas_macro").fit(archs[tr], y[tr])
    pred = model.predict(archs[te])
    assert pred.shape == (len(te),)
    tau = kendall_tau(y[te], pred)
    assert tau > 0.6, f"{name}: held-out tau {tau:.3f} on the TransNAS per-layer formula"


@pytest.mark.mirror
def test_lut_raspi4_reference(raspi4):
    archs, y, _, te = raspi4
    index = {tuple(a): i for i, a in enumerate(archs.tolist())}
    need = LookupTablePredictor.required_archs("nb201")
    rows = [index[a] for a in need]
    lut = create("lut").fit(archs[rows], y[rows])
    # exact on what it was built from (one-edit neighbours are additive by construction)
    np.testing.assert_allclose(lut.predict(archs[rows]), y[rows], rtol=1e-12, atol=1e-9)
    tau = kendall_tau(y[te], lut.predict(archs[te]))
    assert 0.3 < tau < 0.7, f"lookup table tau {tau:.3f}: expected a weak but real reference (~0.46)"


def test_lut_transnas_formula(transnas):
    archs, y, _, te = transnas
    need = LookupTablePredictor.required_archs("transnas_macro")
    lut = create("lut", space="transnas_macro").fit(need, [transnas_latency(a) for a in need])
    assert kendall_tau(y[te], lut.predict(archs[te])) > 0.6
    table = lut.table()
    assert table["baseline"] == "64-11144-basic"
    assert table["baseline_value"] == pytest.approx(transnas_latency((1, 1, 1, 4, 4, 0)))
    # a delta in the target's unit: appending a 6th plain layer to the baseline
    assert table["delta"][5][1] == pytest.approx(
        transnas_latency((1, 1, 1, 4, 4, 1)) - transnas_latency(need[0])
    )


# ---- lookup-table plan ---------------------------------------------------------------------------------
def test_lut_required_archs_nb201():
    need = LookupTablePredictor.required_archs("nb201")
    assert len(need) == 1 + 6 * 4
    assert need[0] == (0,) * 6
    assert len(set(need)) == len(need)
    assert all(sum(v != 0 for v in a) == 1 for a in need[1:])


def test_lut_required_archs_transnas_cover_every_reachable_pair():
    plan = lut_plan("transnas_macro")
    need = LookupTablePredictor.required_archs("transnas_macro")
    assert all(TRANSNAS_MACRO.is_valid(a) for a in need)
    base = plan.baselines[0]
    # every one-edit neighbour of the first baseline that can exist in the space is valid
    for i, v in plan.reachable:
        if v != base[i] and any(e[1:3] == (i, v) for e in plan.edits if e[0] == 0):
            assert TRANSNAS_MACRO.is_valid(base[:i] + (v,) + base[i + 1 :])
    covered = {(i, base[i]) for i in range(6)} | {(i, v) for _, i, v, _ in plan.edits}
    assert covered == set(plan.reachable)
    for b, i, v, a in plan.edits:
        diff = [k for k in range(6) if a[k] != plan.baselines[b][k]]
        assert diff == [i] and a[i] == v
    # every real TransNAS arch can be looked up
    y = [transnas_latency(a) for a in need]
    lut = create("lut", space="transnas_macro").fit(need, y)
    assert np.all(np.isfinite(lut.predict(TRANSNAS_MACRO.enumerate())))


class _ChainSpace:
    """Toy space where position 2 may be used only when position 1 is op 1 and position 0 only when
    position 1 is op 0: no single baseline varies every position, so the plan needs a second one."""

    name = "toy_lut_chain"
    num_positions, num_ops = 3, 3
    op_names = ("a", "b", "c")

    @staticmethod
    def _ok(a) -> bool:
        return (a[2] == 0 or a[1] == 1) and (a[0] == 0 or a[1] == 0)

    def enumerate(self):
        return [a for a in itertools.product(range(3), repeat=3) if self._ok(a)]

    def is_valid(self, a) -> bool:
        return len(a) == 3 and all(0 <= int(v) < 3 for v in a) and self._ok(tuple(int(v) for v in a))

    def validate(self, a):
        from hwpred.spaces import SpaceError

        a = tuple(int(v) for v in a)
        if not self.is_valid(a):
            raise SpaceError(f"{a} is not a valid toy architecture")
        return a

    def to_string(self, a) -> str:
        return "".join(map(str, a))


def test_lut_second_baseline_chains_exactly(monkeypatch):
    from hwpred.spaces import base as space_registry

    space = _ChainSpace()
    monkeypatch.setitem(space_registry._SPACES, space.name, space)  # registered for this test only
    plan = lut_plan(space.name)
    assert len(plan.baselines) == 2
    f = np.array([[0.0, 1.5, -0.7], [2.0, 0.3, 1.1], [0.4, -1.2, 3.3]])  # additive ground truth

    def target(a):
        return 10 + sum(f[i, v] for i, v in enumerate(a))

    need = LookupTablePredictor.required_archs(space.name)
    lut = create("lut", space=space.name).fit(need, [target(a) for a in need])
    allx = space.enumerate()
    np.testing.assert_allclose(lut.predict(allx), [target(a) for a in allx], atol=1e-9)


def test_lut_needs_its_architectures_and_ignores_extras():
    need = LookupTablePredictor.required_archs("nb201")
    y = np.arange(len(need), dtype=float) + 1.0
    with pytest.raises(PredictorError, match="unknown search space"):
        LookupTablePredictor.required_archs("no_such_space")
    with pytest.raises(PredictorError, match=r"required_archs\('nb201'\).*24 of them are missing"):
        create("lut").fit(need[:1] + NB201.random(30, 0), np.arange(31.0))
    extra = [a for a in NB201.random(40, 1) if a not in set(need)]
    a = create("lut").fit(list(need) + extra, np.concatenate([y, np.full(len(extra), 99.0)]))
    b = create("lut").fit(need, y)
    # extras change the standardisation but not the table in the target's unit
    np.testing.assert_allclose(a.predict(NB201.random(50, 2)), b.predict(NB201.random(50, 2)), atol=1e-9)


# ---- agreement with the libraries we serialised by hand --------------------------------------------------
def _sklearn_reference(name, model, X, z):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.svm import SVR

    if name == "svmr":
        return SVR(C=model.C, kernel=model.kernel).fit(X, z).predict
    return (
        RandomForestRegressor(
            n_estimators=model.n_estimators,
            max_features=model.max_features,
            min_samples_leaf=model.min_samples_leaf,
            min_samples_split=model.min_samples_split,
            random_state=model.random_state,
            n_jobs=1,
        )
        .fit(X, z)
        .predict
    )


@pytest.mark.parametrize(
    "name,params",
    [
        ("svmr", {}),
        ("svmr", {"kernel": "poly"}),
        ("svmr", {"kernel": "sigmoid"}),
        ("svmr", {"kernel": "linear"}),
        ("rf", {"n_estimators": 20}),
    ],
)
def test_hand_serialised_matches_sklearn(transnas, name, params):
    archs, y, tr, te = transnas
    model = create(name, space="transnas_macro", **params).fit(archs[tr], y[tr])
    X, z = onehot(archs[tr], "transnas_macro"), (y[tr] - model.y_mean_) / model.y_std_
    ref = _sklearn_reference(name, model, X.astype(np.float64 if name == "svmr" else np.float32), z)
    expect = ref(onehot(archs[te], "transnas_macro")) * model.y_std_ + model.y_mean_
    np.testing.assert_allclose(model.predict(archs[te]), expect, rtol=1e-9, atol=1e-9 * model.y_std_)


def test_ngb_matches_ngboost_pred_param(transnas):
    from ngboost import NGBRegressor
    from ngboost.distns import Normal
    from sklearn.tree import DecisionTreeRegressor

    archs, y, tr, te = transnas
    m = create("ngb", space="transnas_macro", n_estimators=20, max_depth=4).fit(archs[tr], y[tr])
    X = onehot(archs[tr], "transnas_macro")
    ref = NGBRegressor(
        Dist=Normal,
        Base=DecisionTreeRegressor(
            criterion="squared_error", max_depth=4, max_features=m.max_features, random_state=0
        ),
        n_estimators=20,
        learning_rate=m.learning_rate,
        verbose=False,
        random_state=0,
    )
    ref.fit(X, (y[tr] - m.y_mean_) / m.y_std_)
    params = ref.pred_param(onehot(archs[te], "transnas_macro"))
    mean, std = m.predict_dist(archs[te])
    np.testing.assert_allclose(mean, params[:, 0] * m.y_std_ + m.y_mean_, rtol=1e-9)
    np.testing.assert_allclose(std, np.exp(params[:, 1]) * m.y_std_, rtol=1e-9)
    assert np.all(std > 0)


# ---- determinism and save/load ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLASSIC)
def test_same_seed_same_predictions(transnas, name):
    archs, y, tr, te = transnas
    a = make(name, space="transnas_macro", random_state=3).fit(archs[tr], y[tr]).predict(archs[te])
    b = make(name, space="transnas_macro", random_state=3).fit(archs[tr], y[tr]).predict(archs[te])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "name,params",
    [
        ("rf", {"n_estimators": 10}),
        ("xgb", {"colsample_bytree": 0.5}),
        ("lgb", {"feature_fraction": 0.5}),
        ("ngb", {"max_features": 0.5}),
    ],
)
def test_random_state_matters(transnas, name, params):
    archs, y, tr, te = transnas
    a = make(name, space="transnas_macro", random_state=0, **params).fit(archs[tr], y[tr]).predict(archs[te])
    b = make(name, space="transnas_macro", random_state=1, **params).fit(archs[tr], y[tr]).predict(archs[te])
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", CLASSIC + ["lut"])
def test_save_load_identical_without_pickle(transnas, tmp_path, name):
    archs, y, tr, te = transnas
    if name == "lut":
        need = LookupTablePredictor.required_archs("transnas_macro")
        model = create("lut", space="transnas_macro").fit(need, [transnas_latency(a) for a in need])
    else:
        model = make(name, space="transnas_macro").fit(archs[tr], y[tr])
    folder = model.save(tmp_path / name, note="test")
    assert (folder / NATIVE_FILES[name]).is_file()
    for f in folder.iterdir():
        assert not f.read_bytes().startswith(b"\x80"), f"{f.name} looks like a pickle"
        if f.suffix == ".npz":
            with np.load(f, allow_pickle=False) as z:  # raises if any member needed pickle
                [z[k] for k in z.files]
    loaded = load_predictor_folder(folder)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(archs[te]), model.predict(archs[te]))
    assert loaded.provenance_ == {"note": "test"}


def test_native_formats_are_the_libraries_own(transnas, tmp_path):
    import lightgbm as lgb
    import xgboost as xgb

    archs, y, tr, te = transnas
    xm = create("xgb", space="transnas_macro").fit(archs[tr], y[tr])
    lm = create("lgb", space="transnas_macro").fit(archs[tr], y[tr])
    xm.save(tmp_path / "x")
    lm.save(tmp_path / "l")
    assert "learner" in json.loads((tmp_path / "x" / "model.json").read_text())
    X = onehot(archs[te], "transnas_macro")
    b = xgb.Booster()
    b.load_model(str(tmp_path / "x" / "model.json"))
    np.testing.assert_array_equal(
        b.inplace_predict(X).astype(np.float64) * xm.y_std_ + xm.y_mean_, xm.predict(archs[te])
    )
    lb = lgb.Booster(model_file=str(tmp_path / "l" / "model.txt"))
    np.testing.assert_array_equal(
        lb.predict(X.astype(np.float64)) * lm.y_std_ + lm.y_mean_, lm.predict(archs[te])
    )


# ---- differentiable families ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lin_reg", "ridge_reg", "bayes_lin_reg", "lut"])
def test_torch_forward_matches_predict_and_has_gradients(transnas, name):
    import torch

    archs, y, tr, te = transnas
    if name == "lut":
        need = LookupTablePredictor.required_archs("transnas_macro")
        model = create("lut", space="transnas_macro").fit(need, [transnas_latency(a) for a in need])
    else:
        model = create(name, space="transnas_macro").fit(archs[tr], y[tr])
    assert model.differentiable
    x = torch.tensor(onehot(archs[te], "transnas_macro"), dtype=torch.float64, requires_grad=True)
    z = model.torch_forward(x)
    assert z.shape == (len(te),)
    np.testing.assert_allclose(
        z.detach().numpy() * model.y_std_ + model.y_mean_, model.predict(archs[te]), rtol=1e-9
    )
    z.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(PredictorError, match="dims"):
        model.torch_forward(torch.zeros(2, 7, dtype=torch.float64))


@pytest.mark.parametrize("name", ["svmr", "rf", "xgb", "lgb", "ngb"])
def test_tree_and_kernel_families_are_not_differentiable(name):
    from hwpred.predictors import NotDifferentiableError

    model = create(name)
    assert type(model).differentiable is False
    with pytest.raises(NotDifferentiableError, match="not differentiable"):
        model.torch_forward(None)


# ---- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLASSIC + ["lut"])
def test_bad_training_sets(name):
    archs = NB201.random(30, 0)
    y = np.linspace(1.0, 2.0, 30)
    with pytest.raises(PredictorError, match="at least"):
        make(name).fit([], [])
    with pytest.raises(PredictorError, match="at least"):
        make(name).fit(archs[:1], y[:1])
    with pytest.raises(PredictorError, match="all 30 targets are equal"):
        make(name).fit(archs, np.full(30, 3.0))
    bad = y.copy()
    bad[4] = np.nan
    with pytest.raises(PredictorError, match="NaN"):
        make(name).fit(archs, bad)
    with pytest.raises(PredictorError, match="predict called before fit"):
        make(name).predict(archs)


@pytest.mark.parametrize("name", ["lin_reg", "xgb", "lut"])
def test_archs_from_another_space(name):
    nb = NB201.random(30, 0)
    with pytest.raises(PredictorError, match="TransNAS"):
        make(name, space="transnas_macro").fit(nb, np.linspace(1, 2, 30))
    with pytest.raises(PredictorError):
        make(name).fit(["64-41414-basic"] * 2, [1.0, 2.0])
    with pytest.raises(PredictorError, match="TransNAS"):
        _fitted_transnas(name).predict(nb)  # fitted on TransNAS, queried with NB201 cells


def _fitted_transnas(name):
    if name == "lut":
        need = LookupTablePredictor.required_archs("transnas_macro")
        return create("lut", space="transnas_macro").fit(need, [transnas_latency(a) for a in need])
    archs = TRANSNAS_MACRO.random(40, 0)
    return make(name, space="transnas_macro").fit(archs, [transnas_latency(a) for a in archs])


def _fitted(name):
    if name == "lut":
        need = LookupTablePredictor.required_archs("nb201")
        return create("lut").fit(need, np.arange(len(need), dtype=float))
    archs = NB201.random(60, 0)
    return make(name).fit(archs, np.array([float(sum(a)) + 0.1 * a[0] for a in archs]))


@pytest.mark.parametrize("name", CLASSIC + ["lut"])
def test_corrupt_saved_folder(tmp_path, name):
    model = _fitted(name)
    folder = model.save(tmp_path / "m")
    native = folder / NATIVE_FILES[name]
    native.write_bytes(native.read_bytes()[: max(1, native.stat().st_size // 3)])
    with pytest.raises(PredictorError, match="corrupt|missing|match|inconsistent|damaged"):
        load_predictor_folder(folder)
    native.unlink()
    with pytest.raises(PredictorError):
        load_predictor_folder(folder)


def test_corrupt_tree_arrays_are_rejected(tmp_path):
    model = _fitted("rf")
    folder = model.save(tmp_path / "rf")
    with np.load(folder / "trees.npz", allow_pickle=False) as z:
        arrays = {k: z[k].copy() for k in z.files}
    arrays["left"][arrays["left"] >= 0] = 0  # would loop forever if trusted
    np.savez(folder / "trees.npz", allow_pickle=False, **arrays)
    with pytest.raises(PredictorError, match="inconsistent"):
        load_predictor_folder(folder)


def test_non_finite_saved_coefficients_are_rejected(tmp_path):
    folder = _fitted("ridge_reg").save(tmp_path / "r")
    doc = json.loads((folder / "coefficients.json").read_text())
    doc["coef"][3] = float("nan")
    (folder / "coefficients.json").write_text(json.dumps(doc))
    with pytest.raises(PredictorError, match="non-finite"):
        load_predictor_folder(folder)


def test_hyper_parameter_errors():
    archs = NB201.random(30, 0)
    y = np.linspace(1, 2, 30)
    with pytest.raises(PredictorError, match="kernel"):
        create("svmr", kernel="cubic").fit(archs, y)
    with pytest.raises(PredictorError, match="alpha"):
        create("ridge_reg", alpha=0.0).fit(archs, y)
    with pytest.raises(PredictorError, match="unknown hyper-parameter"):
        create("xgb").set_params(depth=3)


def test_defaults_follow_the_seed_study_table():
    assert create("ridge_reg").alpha == 1.0
    assert (create("svmr").C, create("svmr").kernel) == (1.0, "rbf")
    rf = create("rf")
    assert (rf.n_estimators, rf.max_features, rf.min_samples_leaf, rf.min_samples_split) == (116, 0.17, 2, 2)
    x = create("xgb")
    assert (x.max_depth, x.min_child_weight, x.colsample_bytree, x.learning_rate, x.colsample_bylevel) == (
        6,
        1.0,
        1.0,
        0.3,
        1.0,
    )
    lg = create("lgb")
    assert (lg.num_leaves, lg.learning_rate, lg.feature_fraction) == (31, 0.05, 0.9)
    ng = create("ngb")
    assert (ng.n_estimators, ng.learning_rate, ng.max_depth, ng.max_features) == (128, 0.081, 6, 0.79)


def test_paths_do_not_leak(tmp_path):
    # saving replaces an existing folder atomically and leaves no temporary siblings behind
    model = _fitted("xgb")
    model.save(tmp_path / "m")
    model.save(tmp_path / "m")
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["m"]
