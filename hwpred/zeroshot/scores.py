"""The built-in training-free (zero-shot) scores of an untrained network, each ``(model, batch) -> float``.

Each is registered by name (:mod:`hwpred.zeroshot.registry`) with what it needs. Scores that
use data run the model in training mode (batch-norm on batch statistics, as the literature's
implementations do) and never change the model's weights: synflow works on a copy.

"Weights" below are the ``weight`` tensors of ``nn.Conv2d`` and ``nn.Linear`` layers (the
layers the zero-cost literature prunes); L is the mean cross-entropy of the batch.
A score may return NaN or inf (e.g. a correlation of constant Jacobians); the scoring runner
records such a value as missing, with a warning, and never ranks it.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from .batches import Batch
from .passes import (
    K_EPS,
    channels_last,
    clear_grads,
    corrcoef_rows,
    forward_one_zero_input,
    input_grads,
    jacobian_score,
    loss_pass,
    relu_modules,
    weight_layers,
)
from .registry import register


# -- activation-pattern scores ----------------------------------------------------------------
def _code_kernel(c: np.ndarray) -> np.ndarray:
    """K = C C^T + (1-C)(1-C)^T for one float32 0/1 code matrix C (n, units), in float64.

    (1-C)(1-C)^T = units - s_i - s_j + C C^T with s the row sums, which for 0/1 codes are the
    diagonal of C C^T, so one product suffices. numpy hands ``c @ c.T`` to BLAS's symmetric
    rank-k update (half the work of the general product torch would run). Counts stay below
    2^24, so float32 is exact.
    """
    cc = (c @ c.T).astype(np.float64)
    s = np.diag(cc)[:, None]
    return 2.0 * cc - s - s.T + c.shape[1]


def _rows(x: torch.Tensor) -> torch.Tensor:
    """(n, rest) view of ``x`` without a copy: channels-last tensors are flattened in memory
    order (a fixed permutation of each row, which C C^T does not see)."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
    return x.reshape(x.shape[0], -1)


def _relu_codes(x: torch.Tensor) -> np.ndarray:
    """float32 (n, units) matrix of 1[x > 0], written straight into a float buffer (a bool
    tensor converted afterwards costs several times more)."""
    rows = _rows(x.detach())
    out = torch.empty(rows.shape, dtype=torch.float32)
    torch.gt(rows, 0, out=out)
    return out.numpy()


class _KernelAccumulator:
    """Adds each ReLU's Hamming kernel to K as the forward pass runs (codes are not kept).

    Several ReLUs often read the same tensor (a cell node feeding three conv edges); the
    kernel of a tensor seen recently is reused instead of recomputed, which is exact and
    saves up to half of the work on conv-heavy NAS-Bench-201 cells.
    """

    def __init__(self, n: int, recent: int = 8):
        self.k = np.zeros((n, n))
        self.recent: list[tuple[torch.Tensor, np.ndarray]] = []
        self.size = recent

    def __call__(self, _m, inp, _out) -> None:
        x = inp[0]
        for seen, kern in self.recent:
            if seen is x:
                self.k += kern
                return
        kern = _code_kernel(_relu_codes(x))
        self.k += kern
        self.recent.append((x, kern))
        if len(self.recent) > self.size:
            self.recent.pop(0)


@register("naswot", needs_relu=True, min_batch=2)
def naswot(model: nn.Module, batch: Batch) -> float:
    """log|det K|, K = sum_layers C C^T + (1-C)(1-C)^T, C_ij = 1[input of ReLU > 0] (Mellor et al.).

    K_ij counts the ReLU units on which samples i and j agree (units minus Hamming distance);
    every call of an nn.ReLU module contributes its codes. -inf when K is singular.
    """
    acc = _KernelAccumulator(len(batch))
    handles = [m.register_forward_hook(acc) for m in relu_modules(model)]
    try:
        model.train()
        with torch.no_grad(), channels_last(model, batch.x) as x:
            model(x)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = np.linalg.slogdet(acc.k)
    return float(logdet) if sign > 0 else float("-inf")


@register("relu_count", needs_data=False, needs_relu=True, unit="units")
def relu_count(model: nn.Module, batch: Batch) -> float:
    """Number of ReLU output elements for one input: sum over nn.ReLU calls of numel(output)/n."""
    total = [0]

    def hook(_m, _inp, out):
        total[0] += out[0].numel()

    forward_one_zero_input(model, batch, relu_modules(model), hook)
    return float(total[0])


# -- input-Jacobian scores --------------------------------------------------------------------
@register("jacob_cov", min_batch=2)
def jacob_cov(model: nn.Module, batch: Batch) -> float:
    """-sum_i [log(l_i + k) + 1/(l_i + k)], l_i eigenvalues of corr(J), k = 1e-5.

    J (n, inputs) holds the per-sample gradients of sum(outputs) w.r.t. the input
    (Mellor et al., v1 of "NAS without training").
    """
    return jacobian_score(corrcoef_rows(input_grads(model, batch, of_loss=False)))


@register("epe_nas", min_batch=2)
def epe_nas(model: nn.Module, batch: Batch) -> float:
    """Per class c: s_c = sum_ij log(|corr(J_c)_ij| + k); score = sum_c |s_c| (k = 1e-5).

    J_c are the input Jacobians (as in jacob_cov) of the samples of class c; classes with one
    sample are skipped. With more than 100 classes (Lopes et al.) s_c is divided by the class
    size and the score is sum_{c,c'} |s_c - s_c'| / (number of classes seen).
    """
    g = input_grads(model, batch, of_loss=False)
    y = batch.y.numpy()
    per_class = []
    for c in np.unique(y):
        rows = g[y == c]
        if len(rows) < 2:
            continue
        corr = corrcoef_rows(rows)
        if not np.all(np.isfinite(corr)):
            return float("nan")
        s = float(np.sum(np.log(np.abs(corr) + K_EPS)))
        if batch.num_classes > 100:
            s /= len(corr)
        per_class.append(s)
    s = np.asarray(per_class)
    if batch.num_classes <= 100:
        return float(np.sum(np.abs(s)))
    return float(np.sum(np.abs(s[:, None] - s[None, :])) / len(s))


def jsc_from_grads(g: np.ndarray) -> float:
    """1 - mean_{i != j} |cos(g_i, g_j)|^(1/20); NaN if a gradient is zero."""
    norms = np.linalg.norm(g, axis=1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(g)):
        return float("nan")
    u = g / norms
    cos = np.clip(np.abs(u @ u.T), 0.0, 1.0)
    n = len(g)
    off = cos[~np.eye(n, dtype=bool)]
    return float(1.0 - np.mean(off ** (1.0 / 20.0)))


@register("jsc", min_batch=2)
def jsc(model: nn.Module, batch: Batch) -> float:
    """1 - mean over pairs i != j of |cos(g_i, g_j)|^(1/20), g_i = d loss_i / d x_i.

    Per-sample input gradients of the (summed) cross-entropy; near 1 when the network
    separates the samples' gradients, 0 when all gradients are parallel.
    """
    return jsc_from_grads(input_grads(model, batch, of_loss=True))


# -- pruning-at-init scores -------------------------------------------------------------------
@register("snip")
def snip(model: nn.Module, batch: Batch) -> float:
    """sum over weights |w * dL/dw| (connection sensitivity, Lee et al.)."""
    lp = loss_pass(model, batch)
    return float(sum(float((w * g).abs().sum()) for w, g in zip(lp.weights, lp.grads)))


@register("grad_norm")
def grad_norm(model: nn.Module, batch: Batch) -> float:
    """sum over weight tensors of ||dL/dW||_2 (Frobenius norm per tensor, summed)."""
    return float(sum(float(g.norm()) for g in loss_pass(model, batch).grads))


@register("grasp")
def grasp(model: nn.Module, batch: Batch) -> float:
    """-sum over weights w * (H g), g = dL/dw, H the Hessian of L (Wang et al., GraSP).

    H g is the gradient of z = sum(stop_grad(g) * g(w)): one forward, one double backward.
    Runs in the default memory layout: the channels-last double backward is slower here, and
    this score's cancelling sum is sensitive to the changed rounding.
    """
    layers = weight_layers(model)
    weights = [m.weight for m in layers]
    model.train()
    model.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(batch.x), batch.y)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True, materialize_grads=True)
    z = sum((gf.detach() * gf).sum() for gf in grads)
    if not z.requires_grad:  # the loss does not depend on any weight
        return 0.0
    hg = torch.autograd.grad(z, weights, allow_unused=True, materialize_grads=True)
    clear_grads(model)
    return float(-sum((w.detach() * h).sum() for w, h in zip(weights, hg)))


@register("fisher")
def fisher(model: nn.Module, batch: Batch) -> float:
    """sum over conv/linear outputs a, channels k: 0.5 * mean_n (sum_spatial a_nk * dL/da_nk)^2.

    The channel-pruning Fisher estimate of Turner et al. (BlockSwap) at initialisation.
    """
    return loss_pass(model, batch).fisher


@register("synflow", needs_data=False)
def synflow(model: nn.Module, batch: Batch) -> float:
    """sum over weights |w * dR/dw|, R = 1^T f_{|theta|}(1) (Tanaka et al.), in float64.

    On a copy of the model: every parameter and buffer replaced by its absolute value,
    converted to double, batch-norm in eval mode with its running statistics reset (mean 0,
    variance 1, so the normalisation is the identity up to its eps), one all-ones input
    of the batch's shape. No data are used.
    """
    net = copy.deepcopy(model).double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
        for m in net.modules():  # other scores' training-mode passes move the running stats
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                m.reset_running_stats()
    net.eval()
    net.zero_grad(set_to_none=True)
    out = net(torch.ones(1, *batch.input_shape, dtype=torch.float64))
    out.sum().backward()
    total = 0.0
    for m in weight_layers(net):
        if m.weight.grad is not None:
            total += float((m.weight.detach() * m.weight.grad).abs().sum())
    return total


@register("l2_norm", needs_data=False)
def l2_norm(model: nn.Module, batch: Batch) -> float:
    """sum over weight tensors of ||W||_2 (Frobenius); depends only on the initialisation."""
    return float(sum(float(m.weight.detach().norm()) for m in weight_layers(model)))


@register("params", needs_data=False, unit="M")
def params(model: nn.Module, batch: Batch) -> float:
    """Number of parameters (all tensors, BN included), in millions."""
    return sum(p.numel() for p in model.parameters()) / 1e6


@register("flops", needs_data=False, unit="MFLOPs")
def flops(model: nn.Module, batch: Batch) -> float:
    """Multiply-accumulates of the conv and linear layers for one input, in millions.

    Conv: numel(output) * in_channels/groups * kh * kw; linear: in * out features (the
    convention of the NAS-Bench-201 papers' "FLOPs").
    """
    total = [0]

    def hook(m, _inp, out):
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total[0] += out[0].numel() * (m.in_channels // m.groups) * kh * kw
        else:
            total[0] += m.in_features * m.out_features

    forward_one_zero_input(model, batch, weight_layers(model), hook)
    return total[0] / 1e6


# -- parameter-space Jacobian scores ----------------------------------------------------------
def _ordered_weight_grads(model: nn.Module, batch: Batch) -> list[np.ndarray]:
    """Loss gradients of the weights, in forward-execution order (input -> output), as (out, rest)."""
    return [g.double().reshape(g.shape[0], -1).numpy() for g in loss_pass(model, batch).grads]


def tensor_jacobian_scores(grads: list[np.ndarray]) -> np.ndarray:
    """The Jacobian score of corr(rows of G) for each gradient G (out_channels, rest).

    Tensors where the correlation is undefined (fewer than 2 rows or columns, or a constant
    row, e.g. a weight whose output never reaches the loss) are left out.
    """
    scores = []
    for g in grads:
        if g.shape[0] < 2 or g.shape[1] < 2 or np.any(np.ptp(g, axis=1) == 0):
            continue
        s = jacobian_score(corrcoef_rows(g))
        if math.isfinite(s):
            scores.append(s)
    return np.asarray(scores, dtype=np.float64)


def _weighted(s: np.ndarray, reverse: bool) -> float:
    if len(s) == 0:
        return float("nan")
    w = np.arange(1, len(s) + 1, dtype=np.float64)
    if reverse:
        w = w[::-1]
    return float(np.sum(w / w.sum() * s))


@register("pjs")
def pjs(model: nn.Module, batch: Batch) -> float:
    """mean over weight tensors of the Jacobian score of corr(rows of dL/dW as (out, rest))."""
    s = tensor_jacobian_scores(_ordered_weight_grads(model, batch))
    return float(np.mean(s)) if len(s) else float("nan")


@register("wpjs")
def wpjs(model: nn.Module, batch: Batch) -> float:
    """sum_i (i / sum_j j) * s_i over tensors i = 1..T ordered input -> output (pjs's s_i)."""
    return _weighted(tensor_jacobian_scores(_ordered_weight_grads(model, batch)), reverse=False)


@register("wpjsi")
def wpjsi(model: nn.Module, batch: Batch) -> float:
    """As wpjs with reversed weights (T + 1 - i) / sum_j j: tensors near the input count most."""
    return _weighted(tensor_jacobian_scores(_ordered_weight_grads(model, batch)), reverse=True)
