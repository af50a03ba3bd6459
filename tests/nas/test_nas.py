import numpy as np
import pytest
import torch

from hwpred.data import Dataset, MetricTable
from hwpred.encoders.relaxed import hard_weights
from hwpred.nas import (
    ArchProblem,
    DifferentiableMetric,
    NASError,
    PredictorObjective,
    TableObjective,
    nsga2_search,
    random_search,
    verify_selection,
)
from hwpred.nas.gradient import DescentConfig, latency_penalised_descent
from hwpred.predictors import NotDifferentiableError, create
from hwpred.simulation.selection import pareto_mask
from hwpred.spaces import NB201, TRANSNAS_MACRO

ALL = np.array(NB201.enumerate())


def _synthetic_tables(seed=0):
    rng = np.random.default_rng(seed)
    n3, n1, npool = (ALL == 3).sum(1), (ALL == 2).sum(1), (ALL == 4).sum(1)
    acc = 80 + 2 * n3 + n1 + 0.3 * npool + rng.normal(0, 0.5, len(ALL))
    lat = 2 + 3 * n3 + n1 + 0.2 * npool + rng.normal(0, 0.2, len(ALL))
    accuracy = MetricTable("nb201", ALL, {"acc": acc}, units={"acc": "%"})
    latency = MetricTable("nb201", ALL, {"lat": lat}, units={"lat": "ms"})
    return accuracy, latency


@pytest.fixture(scope="module")
def tables():
    return _synthetic_tables()


@pytest.fixture(scope="module")
def lat_pred(tables):
    _, lat = tables
    idx = np.random.default_rng(1).choice(len(ALL), 300, replace=False)
    return create("ridge_reg").fit(ALL[idx], lat.column("lat")[idx])


def test_vectorised_problem_equals_elementwise(tables, lat_pred):
    acc, _ = tables
    prob = ArchProblem(
        "nb201",
        [
            TableObjective("acc", True, "nb201", Dataset.of(acc, "acc")),
            PredictorObjective("lat", False, "nb201", lat_pred),
        ],
        {"lat": 10.0},
    )
    X = ALL[np.random.default_rng(2).choice(len(ALL), 64, replace=False)]
    out = {}
    prob._evaluate(X, out)
    for i, x in enumerate(X):
        one = {}
        prob._evaluate(x[None, :], one)
        np.testing.assert_allclose(out["F"][i], one["F"][0])
        np.testing.assert_allclose(out["G"][i], one["G"][0])
    assert out["F"][:, 0].max() <= 0  # accuracy is maximised: negated for pymoo


def test_nsga2_beats_random_and_is_deterministic(tables):
    acc, lat = tables
    objs = lambda: [
        TableObjective("acc", True, "nb201", Dataset.of(acc, "acc")),
        TableObjective("lat", False, "nb201", Dataset.of(lat, "lat")),
    ]
    a = nsga2_search(ArchProblem("nb201", objs()), budget=600, population=30, seed=3)
    b = nsga2_search(ArchProblem("nb201", objs()), budget=600, population=30, seed=3)
    np.testing.assert_array_equal(a.archs, b.archs)
    assert a.n_evaluations <= 600 + 30
    r = random_search(ArchProblem("nb201", objs()), budget=600, seed=3)
    full_acc, full_lat = acc.column("acc"), lat.column("lat")
    ver_a = verify_selection(a.archs, a.values[:, 1], Dataset.of(acc, "acc"), Dataset.of(lat, "lat"))
    ver_r = verify_selection(r.archs, r.values[:, 1], Dataset.of(acc, "acc"), Dataset.of(lat, "lat"))
    assert ver_a.summary["hv_fraction_verified"] > ver_r.summary["hv_fraction_verified"]
    # with exact values the selection is its own verified front
    assert ver_a.summary["n_verified"] == ver_a.summary["n_selected"]
    assert pareto_mask(full_acc, full_lat).sum() >= 1


def test_transnas_encoding_only_produces_valid_codes():
    rng = np.random.default_rng(0)
    archs = np.array(TRANSNAS_MACRO.enumerate())
    t = MetricTable("transnas_macro", archs, {"a": rng.random(len(archs)), "b": rng.random(len(archs))})
    prob = ArchProblem(
        "transnas_macro",
        [
            TableObjective("a", True, "transnas_macro", Dataset.of(t, "a")),
            TableObjective("b", False, "transnas_macro", Dataset.of(t, "b")),
        ],
    )
    res = nsga2_search(prob, budget=300, population=20, seed=0)
    assert all(TRANSNAS_MACRO.is_valid(a) for a in res.archs)
    assert all(TRANSNAS_MACRO.is_valid(a) for a in prob.archive)


def test_impossible_constraint_is_a_result_not_a_crash(tables):
    acc, lat = tables
    prob = ArchProblem(
        "nb201",
        [
            TableObjective("acc", True, "nb201", Dataset.of(acc, "acc")),
            TableObjective("lat", False, "nb201", Dataset.of(lat, "lat")),
        ],
        {"lat": -1.0},
    )
    res = nsga2_search(prob, budget=200, population=20, seed=0)
    assert not res.feasible and len(res.archs) == 0 and "constraints" in res.message


def test_bad_inputs(tables, lat_pred):
    acc, lat = tables
    objs = [
        TableObjective("acc", True, "nb201", Dataset.of(acc, "acc")),
        TableObjective("lat", False, "nb201", Dataset.of(lat, "lat")),
    ]
    with pytest.raises(NASError, match="positive budget"):
        nsga2_search(ArchProblem("nb201", objs), budget=0)
    with pytest.raises(NASError, match="trained on the nb201 space"):
        PredictorObjective("lat", False, "transnas_macro", lat_pred)
    with pytest.raises(NASError, match="constraint on 'energy'"):
        ArchProblem("nb201", objs, {"energy": 1.0})
    with pytest.raises(NotDifferentiableError):
        DifferentiableMetric(create("rf", n_estimators=5).fit(ALL[:50], lat.column("lat")[:50]))


@pytest.mark.parametrize("family", ["ridge_reg", "minimlp", "bananas"])
def test_differentiable_term_matches_predict_and_finite_differences(family, tables):
    _, lat = tables
    idx = np.random.default_rng(0).choice(len(ALL), 200, replace=False)
    small = {
        "ridge_reg": {},
        "minimlp": {"epochs": 10},
        "bananas": {"epochs": 10, "num_layers": 3, "layer_width": 16},
    }
    pred = create(family, **small[family]).fit(ALL[idx], lat.column("lat")[idx])
    term = DifferentiableMetric(pred)
    archs = ALL[:5]
    with torch.no_grad():
        np.testing.assert_allclose(
            term(hard_weights(archs, "nb201")).numpy(), pred.predict(archs), rtol=1e-4, atol=1e-4
        )
    alpha = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    f = lambda a: term(torch.softmax(a, -1)).double()
    a = alpha.clone().requires_grad_(True)
    f(a).backward()
    eps = 1e-3
    fd = torch.zeros_like(alpha)
    with torch.no_grad():
        for i in range(6):
            for j in range(5):
                d = torch.zeros_like(alpha)
                d[i, j] = eps
                fd[i, j] = (f(alpha + d) - f(alpha - d)) / (2 * eps)
    np.testing.assert_allclose(
        a.grad.numpy(), fd.numpy(), rtol=2e-2, atol=1e-2 * float(fd.abs().max())
    )  # float32 models


def test_gradient_example_lowers_measured_latency(tables):
    acc, lat = tables
    idx = np.random.default_rng(0).choice(len(ALL), 400, replace=False)
    lat_pred = create("ridge_reg").fit(ALL[idx], lat.column("lat")[idx])
    acc_pred = create("ridge_reg").fit(ALL[idx], acc.column("acc")[idx])
    traj = latency_penalised_descent(
        lat_pred,
        acc_pred,
        measure=lambda a: lat.lookup("lat", [a])[0],
        config=DescentConfig(warmup_steps=60, steps=120, record_every=20),
    )
    start = traj[traj.step == 60].iloc[0]
    end = traj.iloc[-1]
    assert end.relaxed_latency < start.relaxed_latency
    assert end.measured_latency < start.measured_latency


def test_verification_against_true_front(tables):
    acc, lat = tables
    rng = np.random.default_rng(5)
    pick = ALL[rng.choice(len(ALL), 40, replace=False)]
    true_lat = lat.lookup("lat", pick)
    noisy = true_lat + rng.normal(0, 2.0, len(pick))
    ver = verify_selection(pick, noisy, Dataset.of(acc, "acc"), Dataset.of(lat, "lat"))
    s = ver.summary
    assert s["n_verified"] == pareto_mask(ver.true_acc, ver.true_hw).sum() <= s["n_selected"]
    assert s["mra_pareto"] <= s["mra_all"] + 1e-12
    assert 0 < s["hv_fraction_verified"] <= 1
    # the true front itself verifies perfectly
    front = pareto_mask(acc.column("acc"), lat.column("lat"))
    best = verify_selection(
        ALL[front], lat.column("lat")[front], Dataset.of(acc, "acc"), Dataset.of(lat, "lat")
    ).summary
    assert best["mra_all"] == 0 and best["hv_fraction_verified"] == pytest.approx(1.0)
    with pytest.raises(NASError, match="nothing to verify"):
        verify_selection(ALL[:0], np.zeros(0), Dataset.of(acc, "acc"), Dataset.of(lat, "lat"))


def test_table_objective_names_the_missing_architecture(tables):
    acc, _ = tables
    part = MetricTable(space="nb201", archs=ALL[:10], columns={"acc": acc.lookup("acc", ALL[:10])})
    obj = TableObjective("acc", True, "nb201", Dataset.of(part, "acc"))
    np.testing.assert_array_equal(obj.evaluate(ALL[:3]), acc.lookup("acc", ALL[:3]))
    assert not obj.covers_space()
    with pytest.raises(NASError, match="objective 'acc': .*no measurement for architecture"):
        obj.evaluate(ALL[10:11])
    with pytest.raises(NASError, match="needs a hwpred.data.Dataset"):
        TableObjective("acc", True, "nb201", part)
