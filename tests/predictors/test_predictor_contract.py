"""The predictor contract, checked on every registered family (``hwpred.predictors.available()``).

Every family gets the same tests: registry + ``create``, scikit-learn parameter handling, the
declarations (encoding, defaults, Optuna search space, differentiability), learning on synthetic
targets with a known formula in both search spaces and on real NB201 latencies (mirror),
determinism, predictions in the original unit, save/load identity, ``torch_forward`` gradients,
and one clear ``PredictorError`` per kind of bad input. A family that cannot be imported fails
here (it is not skipped).

Training sets are small (150 random architectures + the Lookup Table's required ones, so the
LUT can be fitted from the same data) and the slow families get small epoch/step overrides
(``FAST``), so the whole module stays within a few minutes on two cores.
"""

from __future__ import annotations

import inspect
import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import hwpred
from hwpred.errors import HwpredError
from hwpred.metrics import kendall_tau
from hwpred.predictors import (
    FAMILIES,
    NotDifferentiableError,
    Predictor,
    PredictorError,
    available,
    create,
    get_class,
    load_predictor_folder,
)
from hwpred.spaces import get_space

NAMES = available()
SPACES = ("nb201", "transnas_macro")
ENCODINGS = {"onehot", "path", "graph", "tuple"}
N_TRAIN, N_TEST = 120, 300
#: Kendall tau on 300 held-out architectures: a random predictor has sd ~0.04 around 0, so 0.3 is ~7 sd away
TAU_FLOOR = 0.3
#: real help:raspi4 latency, 175 training architectures (the LUT, fitted on its 25, reaches ~0.42)
REAL_TAU_FLOOR = 0.35

#: small-budget overrides for the slow (iterative) families, so the module stays fast; defaults elsewhere
FAST: dict[str, dict] = {
    "gcn": {"hidden": 32, "lr": 3e-3, "batch_size": 16, "epochs": 25},
    "bonas": {
        "hidden": 32,
        "lr": 3e-3,
        "batch_size": 32,
        "n_models": 2,
        "bo_rounds": 2,
        "round_steps": 30,
        "min_steps": 150,
    },
    "mlp": {"epochs": 40},
    "minimlp": {"epochs": 60},
    "bananas": {"epochs": 60},
    "bohamiann": {"burn_in": 200, "num_steps": 600, "keep_every": 50},
    "nao": {"epochs": 10, "min_steps": 100},
    "ngb": {"n_estimators": 60},
    "gp": {"iterations": 30},
    "sparse_gp": {"iterations": 30},
}

#: the seed study's table of search ranges, name-agnostic: (low, high, log) for numbers, a set for choices
TABLE_RANGES: dict[str, list] = {
    "bananas": [(5, 25, False), (5, 25, False), (1e-4, 1e-1, True)],
    "bonas": [(16, 128, True), (32, 256, True), (1e-5, 1e-1, True)],
    "gcn": [(64, 200, True), (5, 32, True), (1e-5, 1e-1, True), (1e-5, 1e-1, True)],
    "lgb": [(10, 100, False), (1e-3, 1e-1, True), (0.1, 1.0, False)],
    "minimlp": [(2, 5, False), (16, 128, True), (1e-4, 1e-1, True), {"relu", "tanh", "hardswish"}],
    "mlp": [(5, 25, False), (5, 25, False), (1e-4, 1e-1, True)],
    "nao": [(16, 128, True), (32, 256, True), (1e-5, 1e-1, True)],
    "ngb": [(128, 512, True), (1e-3, 1e-1, True), (1, 25, False), (0.1, 1.0, False)],
    "ridge_reg": [(0.25, 2.5, False)],
    "rf": [(16, 128, True), (0.1, 0.9, True), (1, 20, False), (2, 20, True)],
    "svmr": [(0.5, 1.5, False), {"linear", "poly", "rbf", "sigmoid"}],
    "xgb": [(1, 15, False), (1, 10, False), (0.0, 1.0, False), (1e-3, 0.5, True), (0.0, 1.0, False)],
}


# ---- data: known formulas in both spaces, real NB201 latency from the mirror -----------------------


def nb201_formula(archs: np.ndarray) -> np.ndarray:
    """Latency-like: per-op cost weighted by edge, plus a non-additive term (convs feeding node 3)."""
    cost = np.array([0.0, 0.2, 1.0, 2.7, 0.6])
    edge_w = np.array([1.0, 1.1, 0.9, 1.2, 1.0, 0.8])
    convs_into_3 = np.isin(archs[:, 3:], (2, 3)).sum(axis=1)
    return 3.0 + (cost[archs] * edge_w).sum(axis=1) + 0.4 * convs_into_3**2


def transnas_formula(archs: np.ndarray) -> np.ndarray:
    """Per-layer conv cost ~ channels^2 x resolution^2, tracked through the layer codes (two basic blocks each)."""
    out = np.zeros(len(archs))
    for k, row in enumerate(archs):
        c, r, total = 64, 56, 0.0
        for code in row:
            if code == 0:
                break
            c_in = c
            c = c * 2 if code in (2, 4) else c
            r = r // 2 if code in (3, 4) else r
            total += (c_in * c + c * c) * 9 * r * r * 2
        out[k] = 1.0 + total / 1e9
    return out


def _split(space: str, all_archs: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices: the LUT's required archs + N_TRAIN random ones; N_TEST others."""
    req = {tuple(a) for a in get_class("lut").required_archs(space)}
    is_req = np.array([tuple(a) in req for a in all_archs.tolist()])
    rng = np.random.default_rng(seed)
    others = rng.permutation(np.flatnonzero(~is_req))
    return np.concatenate([np.flatnonzero(is_req), others[:N_TRAIN]]), others[N_TRAIN : N_TRAIN + N_TEST]


@cache
def synthetic(space: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train archs, train y, test archs, test y) for a space, targets from the known formula."""
    sp = get_space(space)
    all_archs = np.asarray(sp.enumerate(), dtype=np.int64)
    tr, te = _split(space, all_archs)
    f = nb201_formula if space == "nb201" else transnas_formula
    y = f(all_archs)
    return all_archs[tr], y[tr], all_archs[te], y[te]


@cache
def fitted(name: str, space: str) -> Predictor:
    """One fit per (family, space) on the synthetic data, shared by the read-only tests."""
    a, y, _, _ = synthetic(space)
    return make(name, space=space).fit(a, y)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Intra-op threads spin against each other on a busy 2-core machine (GCN steps go 50x slower): use one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(name: str, **params) -> Predictor:
    return create(name, **{**FAST.get(name, {}), **params})


def torch_encoding(pred: Predictor) -> str:
    return getattr(type(pred), "torch_encoding", None) or pred.encoding


def hard_input(pred: Predictor, archs: np.ndarray):
    """The discrete encoding ``torch_forward`` takes, as a (n, dim) float tensor."""
    import torch

    from hwpred.encoders import encode

    enc = torch_encoding(pred)
    x = encode(archs, pred.space, "onehot" if enc == "tuple" else enc)
    if enc == "graph":
        x = x.features.reshape(len(archs), -1)
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def soft_input(pred: Predictor, archs: np.ndarray, logits):
    """A relaxed input that depends differentiably on ``logits`` (n, positions, ops).

    The NAS relaxation (``hwpred.encoders.relaxed.relax`` of softmax op weights) where it is
    defined; otherwise a convex mix of two architectures' encodings, weighted by a sigmoid of the logits.
    """
    import torch

    from hwpred.encoders.relaxed import relax

    try:
        return relax(torch.softmax(logits, dim=-1), pred.space, torch_encoding(pred))
    except ValueError:
        t = torch.sigmoid(logits.sum(dim=(1, 2))).unsqueeze(1)
        return t * hard_input(pred, archs) + (1 - t) * hard_input(pred, archs[::-1].copy())


# ---- registry and parameters -------------------------------------------------------------------------


def test_all_eighteen_families_registered():
    assert len(NAMES) == 18 == len(set(NAMES))
    assert {
        "lin_reg",
        "ridge_reg",
        "bayes_lin_reg",
        "svmr",
        "gp",
        "sparse_gp",
        "rf",
        "xgb",
        "lgb",
        "ngb",
        "bohamiann",
        "bananas",
        "bonas",
        "gcn",
        "mlp",
        "minimlp",
        "nao",
        "lut",
    } == set(NAMES)
    with pytest.raises(PredictorError, match="unknown predictor"):
        create("no_such_family")


@pytest.mark.parametrize("name", NAMES)
def test_registered_and_create(name):
    cls = get_class(name)
    assert issubclass(cls, Predictor) and cls.name == name and FAMILIES[name].endswith(cls.__name__)
    p = create(name)
    assert type(p) is cls
    with pytest.raises(PredictorError, match="bad hyper-parameters"):
        create(name, not_a_hyper_parameter=1)


@pytest.mark.parametrize("name", NAMES)
def test_constructor_stores_params_only(name):
    cls = get_class(name)
    sig = inspect.signature(cls.__init__)
    defaults = {k: v.default for k, v in sig.parameters.items() if k != "self"}
    assert all(v is not inspect.Parameter.empty for v in defaults.values()), (
        "every hyper-parameter needs a default"
    )
    assert not any(v.kind in (v.VAR_KEYWORD, v.VAR_POSITIONAL) for v in sig.parameters.values())
    assert defaults["space"] == "nb201" and defaults["random_state"] == 0
    p = create(name)
    # nothing but the hyper-parameters, stored unchanged
    assert set(vars(p)) == set(defaults), f"constructor set extra attributes {set(vars(p)) - set(defaults)}"
    assert p.get_params() == defaults
    # round trip and set_params
    q = create(name, **p.get_params())
    assert q.get_params() == p.get_params()
    assert p.set_params(random_state=7) is p and p.get_params()["random_state"] == 7
    with pytest.raises(PredictorError, match="unknown hyper-parameter"):
        p.set_params(bogus=1)
    assert repr(p).startswith(type(p).__name__ + "(")


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name):
    cls = get_class(name)
    assert cls.default_encoding in ENCODINGS
    assert isinstance(cls.family, str) and cls.family
    assert isinstance(cls.differentiable, bool)
    assert isinstance(cls.min_samples, int) and 2 <= cls.min_samples <= 25
    assert create(name).encoding == cls.default_encoding


def _distribution_matches(dist, expected) -> bool:
    import optuna.distributions as od

    if isinstance(expected, set):
        return isinstance(dist, od.CategoricalDistribution) and set(dist.choices) == expected
    if not isinstance(dist, (od.IntDistribution, od.FloatDistribution)):
        return False
    lo, hi, log = expected
    return (
        math.isclose(dist.low, lo, rel_tol=1e-9, abs_tol=1e-12)
        and math.isclose(dist.high, hi, rel_tol=1e-9, abs_tol=1e-12)
        and dist.log == log
    )


@pytest.mark.parametrize("name", NAMES)
def test_optuna_search_space(name):
    import optuna

    cls = get_class(name)
    tunable = set(cls.param_names()) - {"space", "random_state", "device"}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {}
    for _ in range(15):
        trial = study.ask()
        params = cls.search_space(trial)
        assert isinstance(params, dict)
        if not tunable:
            assert params == {}, "a family without hyper-parameters has nothing to search"
            continue
        assert params, f"{name} declares hyper-parameters {sorted(tunable)} but no search space"
        assert set(params) <= tunable, f"search space names unknown hyper-parameters {set(params) - tunable}"
        for key, value in trial.params.items():
            dist = trial.distributions[key]
            assert dist._contains(dist.to_internal_repr(value)), f"{key}={value} outside {dist}"
            seen[key] = dist
        p = create(name, **params)
        assert all(p.get_params()[k] == v for k, v in params.items())
    # the seed study's ranges are all present, whatever the parameter names
    for expected in TABLE_RANGES.get(name, []):
        matches = [k for k, d in seen.items() if _distribution_matches(d, expected)]
        assert matches, f"{name}: no searched hyper-parameter with range {expected}; searched {seen}"
        seen.pop(matches[0])


# ---- learning -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_learns_known_formula(name, space):
    a, y, a_te, y_te = synthetic(space)
    p = make(name, space=space)
    assert p.fit(a, y) is p
    pred = p.predict(a_te)
    assert pred.shape == (len(a_te),) and np.all(np.isfinite(pred))
    tau = kendall_tau(y_te, pred)
    assert tau > TAU_FLOOR, f"{name} on {space}: held-out Kendall tau {tau:.3f} <= {TAU_FLOOR}"


@cache
def real_nb201(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from hwpred.data import load_dataset

    archs, y = load_dataset(name).arrays()
    archs = np.asarray(archs, dtype=np.int64)
    tr, te = _split("nb201", archs, seed=1)
    return archs[tr], y[tr], archs[te], y[te]


@pytest.mark.mirror
@pytest.mark.parametrize("name", NAMES)
def test_learns_real_nb201_latency(name, mirror):
    a, y, a_te, y_te = real_nb201("help:raspi4")
    p = make(name).fit(a, y)
    tau = kendall_tau(y_te, p.predict(a_te))
    assert tau > REAL_TAU_FLOOR, f"{name} on help:raspi4: held-out Kendall tau {tau:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_same_random_state_same_predictions(name):
    a, y, a_te, _ = synthetic("nb201")
    first = fitted(name, "nb201").predict(a_te)
    again = make(name, space="nb201").fit(a, y).predict(a_te)
    np.testing.assert_allclose(again, first, rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_predictions_in_original_unit(name):
    """Targets are z-scored inside fit: scaling y by 1024 (exact in floating point) scales predictions by 1024."""
    a, y, a_te, _ = synthetic("nb201")
    base = fitted(name, "nb201")
    assert base.y_mean_ == pytest.approx(y.mean()) and base.y_std_ == pytest.approx(y.std())
    scaled = make(name, space="nb201").fit(a, y * 1024.0)
    np.testing.assert_allclose(scaled.predict(a_te), 1024.0 * base.predict(a_te), rtol=1e-6, atol=0)
    assert abs(np.median(base.predict(a_te)) - np.median(y)) < 2 * y.std()


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("name", NAMES)
def test_save_load_identity(name, space, tmp_path):
    p = fitted(name, space)
    _, _, a_te, _ = synthetic(space)
    folder = p.save(tmp_path / "saved", note="contract test")
    doc = json.loads((folder / "predictor.json").read_text())
    assert doc["name"] == name
    assert not any(f.suffix in (".pkl", ".pickle") for f in folder.rglob("*"))
    q = hwpred.load_predictor(folder)
    assert type(q) is type(p) and q.get_params() == p.get_params()
    np.testing.assert_array_equal(q.predict(a_te), p.predict(a_te))


# ---- differentiability ---------------------------------------------------------------------------------


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("name", NAMES)
def test_torch_forward(name, space):
    import torch

    from hwpred.encoders.relaxed import hard_weights, relax

    p = fitted(name, space)
    _, _, a_te, _ = synthetic(space)
    a_te = a_te[:16]
    if not type(p).differentiable:
        with pytest.raises(NotDifferentiableError):
            p.torch_forward(hard_input(p, a_te))
        return
    # on the hard encoding (and on relaxed hard one-hots) torch_forward is the standardised prediction
    expected = (p.predict(a_te) - p.y_mean_) / p.y_std_
    with torch.no_grad():
        z = p.torch_forward(hard_input(p, a_te)).reshape(-1).double().numpy()
        try:
            z_relaxed = p.torch_forward(relax(hard_weights(a_te, space), space, torch_encoding(p)))
        except ValueError:  # no relaxation of this encoding in this space (see soft_input)
            z_relaxed = None
    np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-4)
    if z_relaxed is not None:
        np.testing.assert_allclose(z_relaxed.reshape(-1).double().numpy(), expected, rtol=1e-4, atol=1e-4)
    # on relaxed inputs it is finite with non-zero, finite gradients
    logits = torch.randn(
        (len(a_te), get_space(space).num_positions, get_space(space).num_ops),
        generator=torch.Generator().manual_seed(0),
        requires_grad=True,
    )
    out = p.torch_forward(soft_input(p, a_te, logits)).reshape(-1)
    assert out.shape == (len(a_te),) and torch.isfinite(out).all()
    out.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


# ---- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_bad_training_sets(name):
    a, y, _, _ = synthetic("nb201")
    cases = {
        "empty": ([], [], "at least"),
        "one sample": (a[:1], y[:1], "at least"),
        "constant": (a[:20], np.full(20, 3.5), "equal"),
        "NaN": (a[:20], np.where(np.arange(20) == 3, np.nan, y[:20]), "NaN"),
        "length mismatch": (a[:20], y[:19], "targets"),
    }
    for archs, targets, words in cases.values():
        with pytest.raises(PredictorError, match=words):
            make(name).fit(archs, targets)
    assert issubclass(PredictorError, HwpredError)


@pytest.mark.parametrize("name", NAMES)
def test_archs_from_another_space(name):
    nb_a, nb_y, _, _ = synthetic("nb201")
    tn_a, tn_y, _, _ = synthetic("transnas_macro")
    tn_strings = [get_space("transnas_macro").to_string(t) for t in tn_a[:30]]
    with pytest.raises(PredictorError):
        make(name).fit(tn_strings, tn_y[:30])
    with pytest.raises(PredictorError):
        make(name, space="transnas_macro").fit(nb_a, nb_y)  # NB201 cells are not valid macro codes
    with pytest.raises(PredictorError):
        fitted(name, "nb201").predict(tn_strings)
    with pytest.raises(PredictorError):
        make(name).fit(np.zeros((10, 5), dtype=np.int64), np.arange(10.0))


@pytest.mark.parametrize("name", NAMES)
def test_predict_before_fit(name):
    a, _, _, _ = synthetic("nb201")
    p = make(name)
    with pytest.raises(PredictorError, match="before fit"):
        p.predict(a[:5])
    with pytest.raises(PredictorError):
        p.save(Path("never-written"))
    if type(p).differentiable:
        with pytest.raises(PredictorError):
            p.torch_forward(hard_input(p, a[:2]))


@pytest.mark.parametrize("name", NAMES)
def test_corrupt_saved_folder(name, tmp_path):
    p = fitted(name, "nb201")
    good = p.save(tmp_path / "good")
    # no predictor.json at all
    with pytest.raises(PredictorError, match="not a saved predictor"):
        load_predictor_folder(tmp_path / "missing")
    # predictor.json is not JSON
    broken = p.save(tmp_path / "broken-json")
    (broken / "predictor.json").write_text("{ this is not json")
    with pytest.raises(PredictorError, match="corrupt"):
        hwpred.load_predictor(broken)
    # native state files truncated to garbage (families with only JSON state: drop the state instead)
    natives = [f for f in good.iterdir() if f.name != "predictor.json"]
    damaged = p.save(tmp_path / "damaged")
    if natives:
        for f in natives:
            (damaged / f.name).write_bytes(b"\x00garbage")
    else:
        doc = json.loads((damaged / "predictor.json").read_text())
        doc["state"] = {}
        (damaged / "predictor.json").write_text(json.dumps(doc))
    with pytest.raises(PredictorError):
        hwpred.load_predictor(damaged)
    # an unknown family name
    doc = json.loads((good / "predictor.json").read_text())
    doc["name"] = "no_such_family"
    (good / "predictor.json").write_text(json.dumps(doc))
    with pytest.raises(PredictorError, match="unknown predictor"):
        hwpred.load_predictor(good)


# ---- graph families (gcn, bonas): the parts the generic tests cannot see ------------------------------


@pytest.mark.parametrize("space", SPACES)
def test_gcn_dense_path_equals_pyg_sparse_path(space):
    """Training uses PyG's sparse GCNConv propagation, inference/torch_forward the dense twin: same numbers."""
    import torch

    from hwpred.encoders import graph, graph_dims
    from hwpred.predictors.gcn import GCNNet, _GraphData, soft_adjacency

    a, _, _, _ = synthetic(space)
    g = graph(a[:40], space)
    torch.manual_seed(0)
    net = GCNNet(graph_dims(space)[1], hidden=16, num_layers=3).eval()
    data = _GraphData(g, torch.device("cpu"))
    x, ei, nb, w = data.batch(torch.arange(len(data)))
    with torch.no_grad():
        sparse = net(x, ei, nb, w)
        dense = net.dense_forward(data.feats, data.adj)
        # the adjacency torch_forward derives from (hard) node features is the encoder's
        soft = soft_adjacency(data.feats, space)
    np.testing.assert_array_equal(soft.numpy(), g.adjacency)
    np.testing.assert_allclose(dense.numpy(), sparse.numpy(), rtol=1e-5, atol=1e-6)


def test_gcn_epochs_follow_training_set_size():
    from hwpred.predictors.gcn import auto_epochs

    assert auto_epochs(None, 1000, 7, 8000, 1, 600) == 56  # 143 steps/epoch
    assert auto_epochs(None, 25, 7, 8000, 1, 600) == 600  # capped
    assert auto_epochs(12, 25, 7, 8000, 1, 600) == 12
    with pytest.raises(PredictorError):
        auto_epochs(0, 25, 7, 8000, 1, 600)
    a, y, _, _ = synthetic("nb201")
    assert make("gcn").fit(a[:30], y[:30]).epochs_ == FAST["gcn"]["epochs"]


def test_bonas_bo_loop_uses_every_training_architecture_once():
    from hwpred.predictors.bonas import acquisition_scores

    a, y, a_te, _ = synthetic("nb201")
    p = make("bonas", bo_rounds=3).fit(a, y)
    order = p.selection_order_
    assert sorted(order.tolist()) == list(range(len(y)))
    assert p.round_sizes_[0] == math.ceil(0.25 * len(y)) and p.round_sizes_[-1] == len(y)
    assert all(b > s for s, b in zip(p.round_sizes_, p.round_sizes_[1:]))
    sd = p.predict_std(a_te[:20])
    assert sd.shape == (20,) and np.all(sd >= 0) and np.any(sd > 0)
    # acquisitions: UCB towards the goal plus exploration, EI >= 0, pure uncertainty sampling
    mu, sigma = np.array([-1.0, 0.0, 1.0]), np.array([0.1, 0.1, 0.1])
    assert np.argmax(acquisition_scores(mu, sigma, "ucb", 1.0, 0.0, maximize=False)) == 0
    assert np.argmax(acquisition_scores(mu, sigma, "ucb", 1.0, 0.0, maximize=True)) == 2
    ei = acquisition_scores(mu, sigma, "ei", 1.0, -0.5, maximize=False)
    assert np.all(ei >= 0) and np.argmax(ei) == 0
    assert np.argmax(acquisition_scores(mu, np.array([0.1, 0.5, 0.2]), "std", 1.0, 0.0, False)) == 1
    with pytest.raises(PredictorError, match="acquisition"):
        make("bonas", acquisition="nope").fit(a[:20], y[:20])


def test_create_docstring_example_runs():
    import doctest

    from hwpred.predictors import create

    runner = doctest.DocTestRunner()
    for example in doctest.DocTestFinder().find(create, "create", globs={}):
        runner.run(example)
    assert runner.tries > 0 and runner.failures == 0
