"""Zero-shot scores on small networks whose value can be worked out by hand, and invariances."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from hwpred.errors import ConfigError, DataError
from hwpred.spaces import NB201
from hwpred.zeroshot import Batch, available_scores, ensemble_rank, get_score, load_batch, parse_scores
from hwpred.zeroshot.passes import K_EPS, jacobian_score
from hwpred.zeroshot.registry import ZeroShotError
from hwpred.zeroshot.scores import jsc_from_grads, tensor_jacobian_scores

torch.set_num_threads(1)


def _batch(x, y=None, num_classes=3):
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.zeros(len(x), dtype=torch.long) if y is None else torch.as_tensor(y, dtype=torch.long)
    return Batch(x, y, num_classes, "test", 0)


def _linear(w, bias=False):
    w = torch.as_tensor(w, dtype=torch.float32)
    m = nn.Linear(w.shape[1], w.shape[0], bias=bias)
    with torch.no_grad():
        m.weight.copy_(w)
        if bias:
            m.bias.zero_()
    return m


def _softmax_grad(w, x, y):
    """Mean cross-entropy of a bias-free linear layer: dL/dW = (P - Y)^T X / n, and dL/dz."""
    z = x @ w.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(w.shape[0])[y]
    dz = (p - onehot) / len(x)
    return dz.T @ x, dz, z, p, onehot


RNG = np.random.default_rng(0)
W = RNG.normal(size=(3, 5))
X = RNG.normal(size=(6, 5))
Y = np.array([0, 1, 2, 0, 1, 2])


# -- activation-pattern scores ----------------------------------------------------------------
def test_naswot_equals_log_det_of_hand_computed_hamming_kernel():
    model = nn.Sequential(_linear(np.eye(2)), nn.ReLU())
    b = _batch([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    # codes 11, 10, 01 -> agreements [[2,1,1],[1,2,0],[1,0,2]], det = 4
    assert get_score("naswot")(model, b) == pytest.approx(math.log(4.0))


def test_code_kernel_counts_agreeing_units():
    from hwpred.zeroshot.scores import _code_kernel

    c = (np.random.default_rng(3).random((7, 300)) > 0.4).astype(np.float32)
    agree = (c[:, None, :] == c[None, :, :]).sum(-1)  # units minus Hamming distance, by brute force
    np.testing.assert_array_equal(_code_kernel(c), agree)


class _TwoReluSameInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = _linear(np.eye(2))
        self.r1, self.r2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        h = self.lin(x)
        return self.r1(h) + self.r2(h)


def test_naswot_counts_every_relu_even_when_two_read_one_tensor():
    b = _batch([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    # K doubles, so log det grows by n log 2 (the kernel reuse path must stay exact)
    assert get_score("naswot")(_TwoReluSameInput(), b) == pytest.approx(math.log(4.0) + 3 * math.log(2.0))


def test_naswot_identical_codes_give_minus_inf():
    model = nn.Sequential(_linear(np.eye(2)), nn.ReLU())
    assert get_score("naswot")(model, _batch([[1.0, 2.0], [3.0, 4.0]])) == float("-inf")


def test_relu_count_counts_output_elements_for_one_input():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 7), nn.ReLU()
    )
    b = _batch(torch.zeros(2, 3, 8, 8))
    assert get_score("relu_count")(model, b) == 4 * 8 * 8 + 7


# -- input-Jacobian scores --------------------------------------------------------------------
def test_jacob_cov_of_linear_model_has_rank_one_correlation():
    # a linear model has the same input Jacobian for every sample: corr = all ones,
    # eigenvalues n (once) and 0 (n - 1 times)
    model = _linear(W)
    b = _batch(X)
    n = len(X)
    expected = -((math.log(n + K_EPS) + 1 / (n + K_EPS)) + (n - 1) * (math.log(K_EPS) + 1 / K_EPS))
    assert get_score("jacob_cov")(model, b) == pytest.approx(expected, rel=1e-6)


def test_jacobian_score_of_identity_correlation():
    n = 4
    assert jacobian_score(np.eye(n)) == pytest.approx(-n * (math.log(1 + K_EPS) + 1 / (1 + K_EPS)))
    assert math.isnan(jacobian_score(np.full((2, 2), np.nan)))


def test_epe_nas_of_linear_model_is_sum_of_class_sizes_squared_times_log_one_plus_k():
    model = _linear(W)
    b = _batch(X, Y)
    # every within-class correlation is 1: s_c = n_c^2 log(1 + k), three classes of two
    assert get_score("epe_nas")(model, b) == pytest.approx(3 * 4 * math.log(1 + K_EPS), rel=1e-6)


def test_jsc_of_linear_model_matches_hand_computed_per_sample_gradients():
    model = _linear(W)
    b = _batch(X, Y)
    _, _, z, p, onehot = _softmax_grad(W, X, Y)
    g = (p - onehot) @ W  # d CE_i / d x_i of a bias-free linear layer
    u = g / np.linalg.norm(g, axis=1, keepdims=True)
    cos = np.abs(u @ u.T)[~np.eye(len(X), dtype=bool)]
    assert get_score("jsc")(model, b) == pytest.approx(1 - np.mean(cos**0.05), rel=1e-5)


def test_jsc_bounds():
    assert jsc_from_grads(np.eye(3)) == pytest.approx(1.0)
    assert jsc_from_grads(np.ones((3, 4))) == pytest.approx(0.0)
    assert math.isnan(jsc_from_grads(np.zeros((3, 4))))


# -- gradient scores on a linear layer: dL/dW = (P - Y)^T X / n --------------------------------
def test_snip_grad_norm_fisher_match_closed_form():
    model = _linear(W)
    b = _batch(X, Y)
    gw, dz, z, _, _ = _softmax_grad(W, X, Y)
    assert get_score("snip")(model, b) == pytest.approx(np.abs(W * gw).sum(), rel=1e-5)
    assert get_score("grad_norm")(model, b) == pytest.approx(np.linalg.norm(gw), rel=1e-5)
    assert get_score("fisher")(model, b) == pytest.approx((0.5 * ((z * dz) ** 2).mean(0)).sum(), rel=1e-5)
    assert all(p.grad is None for p in model.parameters())  # scores leave no gradients behind


def test_scores_share_one_loss_pass_until_it_is_forgotten():
    from hwpred.zeroshot.passes import forget_passes

    model, b = _linear(W), _batch(X, Y)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    forget_passes()
    snip = get_score("snip")(model, b)
    get_score("fisher")(model, b)
    assert len(calls) == 1  # fisher reads the loss pass snip made
    forget_passes()
    assert get_score("snip")(model, b) == snip and len(calls) == 2


def test_grasp_matches_finite_difference_hessian_vector_product():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x = torch.randn(8, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    b = Batch(x, y, 3, "test", 0)
    ws = [model[0].weight, model[2].weight]

    def grads():
        loss = nn.functional.cross_entropy(model(x), y)
        return [t.detach().clone() for t in torch.autograd.grad(loss, ws)]

    g = grads()
    eps = 1e-5
    with torch.no_grad():
        for w, gi in zip(ws, g):
            w += eps * gi
    plus = grads()
    with torch.no_grad():
        for w, gi in zip(ws, g):
            w -= 2 * eps * gi
    minus = grads()
    with torch.no_grad():
        for w, gi in zip(ws, g):
            w += eps * gi
    hg = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    expected = -sum(float((w.detach() * h).sum()) for w, h in zip(ws, hg))
    assert get_score("grasp")(model, b) == pytest.approx(expected, rel=1e-4)


def test_synflow_of_two_layer_net_is_twice_the_path_sum_and_keeps_the_model():
    # for a bias-free positive chain, sum over a layer of |w dR/dw| equals R for every layer
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU(), nn.Linear(6, 3, bias=False))
    before = [p.detach().clone() for p in model.parameters()]
    w1, w2 = model[0].weight.detach().double().abs(), model[2].weight.detach().double().abs()
    r = float(torch.ones(3, dtype=torch.float64) @ w2 @ w1 @ torch.ones(4, dtype=torch.float64))
    b = _batch(RNG.normal(size=(5, 4)))
    assert get_score("synflow")(model, b) == pytest.approx(2 * r, rel=1e-12)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))  # signs and dtype kept
    # data-free: another batch of the same shape gives the same value
    assert get_score("synflow")(model, _batch(np.zeros((1, 4)))) == pytest.approx(2 * r, rel=1e-12)


def test_l2_norm_params_flops_by_hand():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(256, 10),
    )
    b = _batch(torch.zeros(2, 3, 8, 8))
    expected_l2 = float(model[0].weight.detach().norm() + model[4].weight.detach().norm())
    assert get_score("l2_norm")(model, b) == pytest.approx(expected_l2, rel=1e-6)
    assert get_score("params")(model, b) == pytest.approx((4 * 3 * 9 + 8 + 2560 + 10) / 1e6)
    assert get_score("flops")(model, b) == pytest.approx((4 * 64 * 3 * 9 + 256 * 10) / 1e6)


def test_params_of_nb201_cell_matches_published_count():
    # NAS-Bench-201 arch |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|...| with 10 classes: 1.531546 M
    model = NB201.build_model((3, 3, 3, 3, 3, 3), num_classes=10)
    assert get_score("params")(model, _batch(torch.zeros(1, 3, 32, 32))) == pytest.approx(1.531546, abs=1e-6)


# -- parameter-space Jacobian scores ----------------------------------------------------------
def _expected_pjs_parts(model, b):
    loss = nn.functional.cross_entropy(model(b.x), b.y)
    gs = torch.autograd.grad(loss, [model[0].weight, model[2].weight])
    out = []
    for g in gs:
        c = np.corrcoef(g.double().numpy())
        lam = np.linalg.eigvalsh(c)
        out.append(-np.sum(np.log(lam + K_EPS) + 1 / (lam + K_EPS)))
    return out


def test_pjs_wpjs_wpjsi_by_hand_on_two_layers():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 4, bias=False), nn.Tanh(), nn.Linear(4, 3, bias=False))
    b = _batch(X, Y)
    s1, s2 = _expected_pjs_parts(model, b)
    assert get_score("pjs")(model, b) == pytest.approx((s1 + s2) / 2, rel=1e-5)
    assert get_score("wpjs")(model, b) == pytest.approx((s1 + 2 * s2) / 3, rel=1e-5)
    assert get_score("wpjsi")(model, b) == pytest.approx((2 * s1 + s2) / 3, rel=1e-5)


def test_pjs_skips_tensors_with_undefined_correlation():
    g_ok = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    dead = np.zeros((2, 3))  # a weight whose output never reaches the loss
    s = tensor_jacobian_scores([g_ok, dead, np.ones((1, 3))])
    assert len(s) == 1 and math.isfinite(s[0])


# -- ensemble ---------------------------------------------------------------------------------
def test_ensemble_is_mean_rank_and_never_ranks_missing():
    a = np.array([1.0, 3.0, 2.0, np.nan])
    b = np.array([10.0, 20.0, 30.0, 40.0])
    out = ensemble_rank({"a": a, "b": b})
    np.testing.assert_allclose(out[:3], [(1 + 1) / 2, (3 + 2) / 2, (2 + 3) / 2])
    assert math.isnan(out[3])
    # invariant to monotone transforms of a member
    np.testing.assert_allclose(ensemble_rank([np.exp(a), b]), out)


# -- every score on a (small) NAS-Bench-201 network -------------------------------------------
def test_every_score_is_finite_on_a_small_nb201_network():
    torch.manual_seed(0)
    model = NB201.build_model((3, 1, 2, 4, 3, 1), num_classes=10, channels=4, cells_per_stage=1)
    b = load_batch("digits", 16, 0, image_size=16)
    for name in available_scores():
        v = get_score(name)(model, b)
        assert math.isfinite(v), name


def test_disconnected_nb201_cell_gives_missing_not_a_number_for_relu_and_jacobian_scores():
    torch.manual_seed(0)
    model = NB201.build_model((0, 0, 0, 0, 0, 0), num_classes=10, channels=4, cells_per_stage=1)
    b = load_batch("digits", 16, 0, image_size=16)
    assert get_score("naswot")(model, b) == float("-inf")
    assert math.isnan(get_score("jacob_cov")(model, b))


# -- data -------------------------------------------------------------------------------------
def test_batches_are_deterministic_per_seed_and_shaped():
    a, b, c = load_batch("digits", 32, 3), load_batch("digits", 32, 3), load_batch("digits", 32, 4)
    assert a.x.shape == (32, 3, 32, 32) and a.num_classes == 10 and a.y.max() <= 9
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)
    n1, n2 = load_batch("noise", 8, 1), load_batch("noise", 8, 1)
    assert torch.equal(n1.x, n2.x) and n1.x.shape == (8, 3, 32, 32)


# -- bad input --------------------------------------------------------------------------------
def test_unknown_score_and_data_names_are_clear_config_errors():
    with pytest.raises(ConfigError, match="unknown zero-shot score 'nwot'.*naswot"):
        get_score("nwot")
    with pytest.raises(ConfigError, match="unknown zero-shot score"):
        parse_scores("naswot,bogus")
    with pytest.raises(ConfigError, match="unknown zero-shot data 'mnist'"):
        load_batch("mnist")
    with pytest.raises(ConfigError, match="larger than"):
        load_batch("digits", 5000)


def test_cifar_without_torchvision_or_data_is_a_clear_data_error(tmp_path):
    with pytest.raises(DataError, match="torchvision|no cifar10 data"):
        load_batch("cifar10", 8, root=tmp_path)


def test_relu_score_on_a_model_without_relu_is_refused():
    for name in ("naswot", "relu_count"):
        with pytest.raises(ZeroShotError, match="no nn.ReLU"):
            get_score(name)(_linear(W), _batch(X))


def test_batch_too_small_is_refused():
    model = nn.Sequential(_linear(np.eye(2)), nn.ReLU())
    for name in ("naswot", "jacob_cov", "jsc"):
        with pytest.raises(ZeroShotError, match="at least 2 samples"):
            get_score(name)(model, _batch([[1.0, 2.0]]))
    with pytest.raises(ZeroShotError, match="no class has two samples"):
        get_score("epe_nas")(model, _batch([[1.0, 2.0], [2.0, 1.0]], [0, 1]))


def test_synflow_does_not_depend_on_earlier_training_mode_passes():
    torch.manual_seed(0)
    model = NB201.build_model((3, 1, 2, 4, 3, 1), num_classes=10, channels=4, cells_per_stage=1)
    b = load_batch("digits", 16, 0, image_size=16)
    before = get_score("synflow")(model, b)
    get_score("naswot")(model, b)  # a training-mode forward moves the BN running statistics
    assert get_score("synflow")(model, b) == pytest.approx(before, rel=1e-12)


def test_shared_gradient_pass_is_invalidated_when_weights_change():
    model = _linear(W)
    b = _batch(X, Y)
    first = get_score("snip")(model, b)
    with torch.no_grad():
        model.weight.mul_(2.0)
    assert get_score("snip")(model, b) != pytest.approx(first)
    gw, *_ = _softmax_grad(2 * W, X, Y)
    assert get_score("grad_norm")(model, b) == pytest.approx(np.linalg.norm(gw), rel=1e-5)


def test_channels_last_layout_gives_the_same_scores_and_restores_the_model():
    """naswot, jacob_cov and snip run in the channels-last layout for speed: the values equal a
    plain-layout computation (up to float rounding), and the model comes back unchanged."""
    from hwpred.zeroshot import passes
    from hwpred.zeroshot import scores as zs

    torch.manual_seed(0)
    model = NB201.build_model((3, 1, 2, 4, 3, 1), num_classes=10)
    batch = load_batch(batch_size=16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    got = {n: get_score(n)(model, batch) for n in ("naswot", "jacob_cov", "snip")}
    for k, v in model.state_dict().items():
        assert v.is_contiguous(), k
        if v.is_floating_point() and "running" not in k:
            assert torch.equal(v, before[k]), k
    plain = {}
    real = passes.channels_last
    try:  # the reference: the same scores with the layout change switched off
        passes.channels_last = zs.channels_last = _no_layout_change
        passes.forget_passes()
        plain = {n: get_score(n)(model, batch) for n in got}
    finally:
        passes.channels_last = zs.channels_last = real
        passes.forget_passes()
    for n in got:
        assert got[n] == pytest.approx(plain[n], rel=2e-3), n


def _no_layout_change(model, x):
    import contextlib

    @contextlib.contextmanager
    def same():
        yield x

    return same()
