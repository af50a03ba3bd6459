"""Family-specific tests of the torch predictors (MLP large/small, BOHAMIANN, BANANAS, NAO, GP, sparse GP).

The generic contract (parameters, errors, save/load, gradients) is checked for every family in
``test_predictor_contract.py`` (determinism, save/load identity and torch_forward agreement
included); here: learning at a tighter floor in both spaces and on real
latencies, the SGHMC sampler against a known posterior, the GP's cached posterior mean against
gpytorch's, the NAO relaxation, the batched ensemble, and the shared helpers in ``_torchutil``.
Budgets are small so the module stays well under a minute.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwpred.metrics import kendall_tau
from hwpred.predictors import PredictorError, create
from hwpred.predictors import _torchutil as tu
from hwpred.predictors.bohamiann import sghmc
from hwpred.predictors.mlp import BatchedMLP, MLPLargePredictor
from hwpred.spaces import NB201, TRANSNAS_MACRO

FAMILIES = ["mlp", "minimlp", "bohamiann", "bananas", "nao", "gp", "sparse_gp"]

#: small budgets that still learn (defaults are larger; see docs/predictors.md)
FAST = {
    "mlp": {"epochs": 30, "num_layers": 8},
    "minimlp": {"epochs": 40},
    "bohamiann": {"burn_in": 200, "num_steps": 600, "keep_every": 40},
    "bananas": {"epochs": 30, "num_layers": 8},
    "nao": {"epochs": 10, "min_steps": 120, "hidden_dim": 32},
    "gp": {"iterations": 30},
    "sparse_gp": {"iterations": 30, "num_inducing": 32},
}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models on a shared 2-core machine: intra-op threads only add contention (measured 20x
    slower NAO fits with 2 threads while other jobs ran), so this module runs torch on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _make(name: str, **extra):
    return create(name, **{**FAST[name], **extra})


def nb201_additive(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Latency-like target: a fixed cost per (edge, op) summed over the six edges, plus 2 % noise."""
    rng = np.random.default_rng(seed)
    cost = np.random.default_rng(123).uniform(0.0, 1.0, size=(6, 5))
    cost[:, 3] += 1.5  # 3x3 convs dominate, as on real devices
    cost[:, 0] = 0.0
    archs = np.asarray(NB201.random(n, rng))
    y = cost[np.arange(6), archs].sum(1)
    return archs, y * (1 + 0.02 * rng.standard_normal(n))


def transnas_per_layer(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """FLOP-like target of a TransNAS macro backbone from its layer codes: each layer costs
    channels^2 * resolution^2 at its own shape (2 and 4 double channels, 3 and 4 halve resolution)."""
    rng = np.random.default_rng(seed)
    archs = np.asarray(TRANSNAS_MACRO.random(n, rng))
    y = np.zeros(n)
    for i, row in enumerate(archs):
        ch, res = 64.0, 56.0
        for code in row:
            if code == 0:
                continue
            ch *= 2 if code in (2, 4) else 1
            res /= 2 if code in (3, 4) else 1
            y[i] += ch * ch * res * res * 1e-7
    return archs, y


@pytest.mark.parametrize("name", FAMILIES)
def test_learns_both_spaces(name):
    a, y = nb201_additive(450, seed=1)
    p = _make(name).fit(a[:150], y[:150])
    tau = kendall_tau(y[150:], p.predict(a[150:]))
    # the path encoding (BANANAS) cannot see ops on edges off every input-output route
    assert tau > (0.45 if name == "bananas" else 0.6), f"{name} NB201 additive tau {tau:.3f}"
    a, y = transnas_per_layer(400, seed=2)
    p = _make(name, space="transnas_macro").fit(a[:150], y[:150])
    tau = kendall_tau(y[150:], p.predict(a[150:]))
    assert tau > 0.6, f"{name} TransNAS per-layer tau {tau:.3f}"


@pytest.fixture(scope="module")
def raspi4(mirror):
    from hwpred.data import load_dataset

    a, y = load_dataset("help:raspi4").arrays()
    idx = np.random.default_rng(0).permutation(len(y))
    return a[idx[:200]], y[idx[:200]], a[idx[200:700]], y[idx[200:700]]


@pytest.mark.parametrize("name", FAMILIES)
def test_learns_real_raspi4(raspi4, name):
    """200 measured latencies: every family ranks 500 held-out cells far above chance (~0 +- 0.03)."""
    a, y, at, yt = raspi4
    tau = kendall_tau(yt, _make(name).fit(a, y).predict(at))
    floor = 0.3 if name == "bananas" else 0.5  # the path encoding drops edges off live paths
    assert tau > floor, f"{name} help:raspi4 tau {tau:.3f}"


def test_fit_does_not_touch_global_rng():
    a, y = nb201_additive(40, seed=4)
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    _make("minimlp", epochs=5).fit(a, y)
    assert torch.equal(torch.rand(3), expected)


# ---- SGHMC / BOHAMIANN ---------------------------------------------------------------------------


def test_sghmc_recovers_linear_regression_posterior():
    """y = 2x - 1 + noise(0.5), prior N(0, 1): the sample mean/std match the closed-form posterior."""
    rng = np.random.default_rng(0)
    n, noise = 50, 0.5
    x = rng.uniform(-1, 1, n)
    y = 2 * x - 1 + noise * rng.standard_normal(n)
    phi = np.stack([x, np.ones(n)], 1)
    cov = np.linalg.inv(phi.T @ phi / noise**2 + np.eye(2))
    mean = cov @ phi.T @ y / noise**2
    ft, yt = torch.as_tensor(phi), torch.as_tensor(y)
    with tu.seeded(0):
        theta = torch.zeros(2, dtype=torch.float64)

        def potential():
            return 0.5 * ((yt - ft @ theta) ** 2).sum() / noise**2 + 0.5 * (theta**2).sum()

        kept = sghmc([theta], potential, steps=12000, burn_in=2000, keep_every=5, lr=0.05, mdecay=0.1)
    s = torch.stack([k[0] for k in kept]).numpy()
    assert len(s) == 2000
    np.testing.assert_allclose(s.mean(0), mean, atol=0.25 * np.sqrt(np.diag(cov)).max() + 0.02)
    np.testing.assert_allclose(s.std(0), np.sqrt(np.diag(cov)), rtol=0.35)


def test_sghmc_rejects_bad_schedule():
    with pytest.raises(PredictorError, match="burn-in"):
        sghmc([torch.zeros(1)], lambda: torch.zeros(()), steps=10, burn_in=10, keep_every=1)


def test_bohamiann_uncertainty():
    a, y = nb201_additive(120, seed=5)
    p = _make("bohamiann").fit(a, y)
    assert p.n_samples_ == (600 - 200) // 40
    sd = p.predict_std(NB201.random(50, 1))
    assert np.all(np.isfinite(sd)) and np.all(sd > 0)
    # samples disagree: a chain that did not move would give one network repeated
    w = p.model_.weights[0]
    assert float((w - w.mean(0)).abs().max()) > 1e-3


# ---- GP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gp", "sparse_gp"])
def test_gp_cached_mean_equals_gpytorch_posterior(name):
    import gpytorch

    a, y = nb201_additive(120, seed=6)
    p = _make(name).fit(a, y)
    q = np.asarray(NB201.random(60, 2))
    x = torch.as_tensor(p._encode(q), dtype=torch.float64)
    with (
        torch.no_grad(),
        gpytorch.settings.max_cholesky_size(10**5),
        gpytorch.settings.sgpr_diagonal_correction(False),
    ):
        ref = p.model_(x).mean.numpy()
    np.testing.assert_allclose((p.predict(q) - p.y_mean_) / p.y_std_, ref, rtol=1e-6, atol=1e-6)
    assert np.all(p.predict_std(q) > 0)


def test_gp_hyperparameter_subset_still_conditions_on_all_points():
    a, y = nb201_additive(150, seed=7)
    p = _make("gp", hparam_subset=40).fit(a, y)
    assert len(p.model_.train_inputs[0]) == 150
    resid = np.abs(p.predict(a) - y).mean()
    assert resid < 0.2 * np.std(y)


def test_gp_unknown_kernel():
    a, y = nb201_additive(20, seed=8)
    with pytest.raises(PredictorError, match="kernel"):
        create("gp", kernel="cosine").fit(a, y)


# ---- NAO and the MLP ensemble ----------------------------------------------------------------------


def test_nao_relaxed_input_interpolates():
    a, y = nb201_additive(120, seed=9)
    p = _make("nao").fit(a, y)
    q = np.asarray(NB201.random(2, 3))
    oh = torch.as_tensor(np.eye(5)[q].reshape(2, -1), dtype=torch.float32)
    mix = (0.5 * oh[0] + 0.5 * oh[1]).unsqueeze(0).requires_grad_(True)
    np.testing.assert_allclose(
        p.torch_forward(oh).detach().numpy() * p.y_std_ + p.y_mean_, p.predict(q), rtol=1e-5, atol=1e-5
    )
    out = p.torch_forward(mix)
    out.sum().backward()
    assert out.shape == (1,) and torch.isfinite(out).all()
    assert mix.grad.shape == (1, 30) and float(mix.grad.abs().sum()) > 0


def test_batched_mlp_matches_per_member_linear_layers():
    torch.manual_seed(0)
    m = BatchedMLP(3, 7, layers=2, width=5, activation="tanh")
    x = torch.randn(4, 7)
    out = m(x)
    for k in range(3):
        h = x
        for i, (w, b) in enumerate(zip(m.weights, m.biases)):
            h = h @ w[k] + b[k]
            h = torch.tanh(h) if i < 2 else h
        torch.testing.assert_close(out[k], h.squeeze(-1))


def test_bananas_members_differ():
    a, y = nb201_additive(60, seed=10)
    p = _make("bananas").fit(a, y)
    assert np.all(p.predict_std(NB201.random(20, 4)) > 0)


# ---- _torchutil ----------------------------------------------------------------------------------


def test_train_loop_early_stopping_restores_best():
    torch.manual_seed(0)
    x = torch.randn(200, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Linear(3, 1)

    def loss(idx):
        return torch.nn.functional.mse_loss(model(x[idx]).squeeze(-1), y[idx])

    res = tu.train_loop(
        model,
        200,
        loss,
        epochs=500,
        lr=0.05,
        val_fraction=0.2,
        patience=5,
        generator=torch.Generator().manual_seed(0),
    )
    assert res.epochs_run < 500 and res.best_epoch <= res.epochs_run
    assert min(res.val_loss) < 1e-3
    res = tu.train_loop(
        torch.nn.Linear(3, 1),
        10,
        lambda idx: torch.zeros((), requires_grad=True),
        epochs=1,
        lr=0.1,
        batch_size=5,
        min_steps=20,
    )
    assert res.epochs_run == 10  # 2 batches per epoch -> 10 epochs for 20 steps


def test_device_and_state_errors(tmp_path):
    assert tu.resolve_device("cpu").type == "cpu"
    with pytest.raises(PredictorError, match="unknown torch device"):
        tu.resolve_device("tpu-ish")
    if not torch.cuda.is_available():
        with pytest.raises(PredictorError, match="CUDA is not available"):
            tu.resolve_device("cuda")
    with pytest.raises(PredictorError, match="missing"):
        tu.load_state(tmp_path / "nope.pt")
    tu.save_state({"w": torch.ones(2), "nested": [torch.zeros(1)]}, tmp_path / "s.pt")
    back = tu.load_state(tmp_path / "s.pt")
    assert torch.equal(back["w"], torch.ones(2)) and torch.equal(back["nested"][0], torch.zeros(1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("name", FAMILIES)
def test_cuda_matches_cpu(name):
    a, y = nb201_additive(100, seed=11)
    q = NB201.random(30, 5)
    cpu = _make(name).fit(a, y).predict(q)
    gpu = _make(name, device="cuda").fit(a, y).predict(q)
    assert kendall_tau(cpu, gpu) > 0.8


def test_a_dead_ensemble_member_is_redrawn_and_learns():
    """A member whose ReLUs are all off outputs a constant and gets no gradient; the fit re-draws it."""
    from hwpred.predictors.bananas import BananasPredictor
    from hwpred.predictors.mlp import dead_members

    class KillFirstMember(BananasPredictor):
        def _build(self, in_dim):
            net = super()._build(in_dim)
            with torch.no_grad():
                net.biases[0][0].fill_(-1e3)  # member 0: every first-layer ReLU off for any input
            return net

    archs, y = nb201_additive(200, 0)
    test_a, test_y = nb201_additive(200, 1)
    p = KillFirstMember(**FAST["bananas"], random_state=0).fit(archs, y)
    assert p.restarts_ >= 1
    x = tu.to_tensor(p._encode(p._archs(archs)))
    assert dead_members(p.model_, x) == []
    with torch.no_grad():
        member0 = tu.to_numpy(p.model_(tu.to_tensor(p._encode(p._archs(test_a))))[0])
    assert kendall_tau(test_y, member0) > 0.4  # a constant or random member: 0 +- 0.05
    # a healthy fit draws nothing again
    assert create("bananas", **FAST["bananas"], random_state=0).fit(archs, y).restarts_ == 0


class _AlwaysDeadMLP(MLPLargePredictor):
    """Every draw, the first one and each re-draw, starts with all first-layer ReLUs off."""

    def _train(self, net, relabel, Xt, zt, gen):
        with torch.no_grad():
            net.biases[0].fill_(-1e3)
        return super()._train(net, relabel, Xt, zt, gen)


def test_a_network_that_stays_dead_is_an_error_not_a_constant_predictor():
    archs, y = nb201_additive(60, 0)
    with pytest.raises(PredictorError, match="stayed dead after 3 re-draws"):
        _AlwaysDeadMLP(**FAST["mlp"], random_state=0).fit(archs, y)


def test_tuning_refits_the_next_best_trial_when_the_best_one_dies(monkeypatch):
    """The folds can survive where the refit on all the data dies; tune must not return a dead net."""
    from hwpred import tuning

    archs, y = nb201_additive(60, 0)
    real_fit = MLPLargePredictor.fit
    refits = []

    def fit_dying_on_the_first_full_refit(self, a, yy):
        if len(a) == len(archs):
            refits.append(self.lr)
            if len(refits) == 1:
                raise PredictorError("mlp: every network stayed dead")
        return real_fit(self, a, yy)

    monkeypatch.setattr(MLPLargePredictor, "fit", fit_dying_on_the_first_full_refit)
    res = tuning.tune(create("mlp", **FAST["mlp"], random_state=0), archs, y, n_trials=4, seed=0)
    ranked = sorted((t["value"] for t in res.trials), reverse=True)
    assert len(refits) == 2 and refits[0] != refits[1]
    assert "refitted instead" in res.note and res.cv_score == pytest.approx(ranked[1])
    test_a, test_y = nb201_additive(100, 1)
    assert kendall_tau(test_y, res.predictor.predict(test_a)) > 0.3
