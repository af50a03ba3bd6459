"""Training-free (zero-shot) scores of an untrained network, each ``(model, batch) -> float``.

Every score is registered by name with what it needs (data, ReLUs, a minimum batch size),
so that callers can validate a request before building thousands of networks. Scores that
use data run the model in training mode (batch-norm on batch statistics, as the literature's
implementations do) and never change the model's weights: synflow works on a copy.

"Weights" below are the ``weight`` tensors of ``nn.Conv2d`` and ``nn.Linear`` layers (the
layers the zero-cost literature prunes); L is the mean cross-entropy of the batch.
A score may return NaN or inf (e.g. a correlation of constant Jacobians); the runner records
such a value as missing, with a warning, and never ranks it.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, HwpredError
from .batches import Batch

K_EPS = 1e-5  # the k of the Jacobian-covariance family


class ZeroShotError(HwpredError):
    """A score cannot be computed for this model/batch (no ReLU, batch too small...)."""


ScoreFn = Callable[[nn.Module, Batch], float]


@dataclass(frozen=True)
class ScoreSpec:
    name: str
    fn: ScoreFn
    needs_data: bool  # False: only the input shape of the batch is used
    needs_relu: bool
    min_batch: int
    unit: str = ""

    def __call__(self, model: nn.Module, batch: Batch) -> float:
        check_inputs(self, model, batch)
        return float(self.fn(model, batch))


_REGISTRY: dict[str, ScoreSpec] = {}


def register(name: str, *, needs_data: bool = True, needs_relu: bool = False, min_batch: int = 1,
             unit: str = "") -> Callable[[ScoreFn], ScoreFn]:
    def deco(fn: ScoreFn) -> ScoreFn:
        _REGISTRY[name] = ScoreSpec(name, fn, needs_data, needs_relu, min_batch, unit)
        return fn
    return deco


def available_scores() -> list[str]:
    return list(_REGISTRY)


def get_score(name: str) -> ScoreSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown zero-shot score {name!r}; available: {', '.join(_REGISTRY)} "
                          "(and 'ensemble' of scored columns, see hwpred.zeroshot.ensemble)") from None


def parse_scores(text: str | list[str]) -> list[str]:
    """Validate a comma-separated list (or list) of score names, keeping order, no repeats."""
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not names:
        raise ConfigError("no score names given; e.g. --scores naswot,synflow")
    out: list[str] = []
    for n in names:
        get_score(n)
        if n not in out:
            out.append(n)
    return out


def has_relu(model: nn.Module) -> bool:
    return any(isinstance(m, nn.ReLU) for m in model.modules())


def check_inputs(spec: ScoreSpec, model: nn.Module, batch: Batch) -> None:
    """Raise a clear ZeroShotError before computing a score that cannot be defined."""
    if spec.needs_relu and not has_relu(model):
        raise ZeroShotError(f"score {spec.name!r} reads ReLU activation patterns but the model has no "
                            "nn.ReLU module; use a score that does not need ReLUs (e.g. synflow, snip)")
    if len(batch) < spec.min_batch:
        raise ZeroShotError(f"score {spec.name!r} needs a batch of at least {spec.min_batch} samples, "
                            f"got {len(batch)}; raise --batch-size")
    if spec.name == "epe_nas":
        _, counts = torch.unique(batch.y, return_counts=True)
        if int(counts.max()) < 2:
            raise ZeroShotError("score 'epe_nas' correlates Jacobians within a class but no class has two "
                                "samples in this batch; use a larger batch")


# -- helpers ----------------------------------------------------------------------------------
def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _loss_backward(model: nn.Module, batch: Batch, x: torch.Tensor | None = None) -> torch.Tensor:
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(batch.x if x is None else x)
    loss = nn.functional.cross_entropy(out, batch.y)
    loss.backward()
    return loss


def _clear(model: nn.Module) -> None:
    model.zero_grad(set_to_none=True)


@contextlib.contextmanager
def _channels_last(model: nn.Module, x: torch.Tensor):
    """Run ``model`` on ``x`` in the channels-last memory layout, then restore the model.

    On the CPU, oneDNN's channels-last kernels make NAS-Bench-201's 3x3 average pooling about
    5x and its 1x1 convolutions about 2x faster at batch 128 (whole forward pass: ~1.9x). Only
    the memory layout changes: tensors keep their logical shape and indexing, so scores read
    the same values (up to float rounding). Models without 4-D weights, or inputs that are not
    images, run unchanged.
    """
    if x.dim() != 4 or not any(p.dim() == 4 for p in model.parameters()):
        yield x
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield x.contiguous(memory_format=torch.channels_last)
    finally:
        model.to(memory_format=torch.contiguous_format)


_MEMO: dict[str, tuple] = {}


def _memo(kind: str, model: nn.Module, batch: Batch, compute: Callable[[], object]):
    """Reuse one pass over (model, batch) between scores that need the same gradients.

    Keyed on object identity plus autograd version counters, so editing the weights or the
    batch in place invalidates it. Only the last pass of each kind is kept.
    """
    key = (tuple(p._version for p in model.parameters()), batch.x._version, batch.y._version)
    hit = _MEMO.get(kind)
    if hit is not None and hit[0] is model and hit[1] is batch and hit[2] == key:
        return hit[3]
    value = compute()
    _MEMO[kind] = (model, batch, key, value)
    return value


@dataclass
class _LossPass:
    """One forward/backward of the mean cross-entropy: weights, their gradients, Fisher."""

    weights: list[torch.Tensor]  # conv/linear weights reached by the loss, forward order
    grads: list[torch.Tensor]
    fisher: float


def _loss_pass(model: nn.Module, batch: Batch) -> _LossPass:
    return _memo("loss", model, batch, lambda: _compute_loss_pass(model, batch))


def _compute_loss_pass(model: nn.Module, batch: Batch) -> _LossPass:
    order: list[nn.Module] = []
    acts: list[torch.Tensor] = []

    def hook(m, _inp, out):
        if m not in order:
            order.append(m)
        if out.requires_grad:
            out.retain_grad()
            acts.append(out)

    handles = [m.register_forward_hook(hook) for m in _weight_layers(model)]
    try:
        with _channels_last(model, batch.x) as x:
            _loss_backward(model, batch, x)
            used = [m for m in order if m.weight.grad is not None]
            weights = [m.weight.detach().clone(memory_format=torch.contiguous_format) for m in used]
            grads = [m.weight.grad.detach().clone(memory_format=torch.contiguous_format) for m in used]
    finally:
        for h in handles:
            h.remove()
    fisher_total = 0.0
    for a in acts:
        if a.grad is None:
            continue
        prod = (a.detach() * a.grad).double()
        g = prod.sum(dim=(2, 3)) if prod.dim() == 4 else prod
        fisher_total += float((0.5 * g.pow(2).mean(0)).sum())
    out = _LossPass(weights, grads, fisher_total)
    _clear(model)
    return out


def _input_grads(model: nn.Module, batch: Batch, of_loss: bool) -> np.ndarray:
    return _memo(f"input_grads_{of_loss}", model, batch, lambda: _compute_input_grads(model, batch, of_loss))


def _compute_input_grads(model: nn.Module, batch: Batch, of_loss: bool) -> np.ndarray:
    """Per-sample input gradients: of sum(outputs) (Jacobian scores) or of the summed loss."""
    model.train()
    model.zero_grad(set_to_none=True)
    with _channels_last(model, batch.x) as x0:
        x = x0.clone().requires_grad_(True)
        out = model(x)
        if of_loss:
            nn.functional.cross_entropy(out, batch.y, reduction="sum").backward()
        else:
            out.backward(torch.ones_like(out))
    g = x.grad.detach().reshape(len(x), -1).double().numpy()
    _clear(model)
    return g


def _corrcoef_rows(g: np.ndarray) -> np.ndarray:
    """Correlation of the rows; NaN where a row is constant (correlation undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(g)


def jacobian_score(corr: np.ndarray, k: float = K_EPS) -> float:
    """-sum_i [log(l_i + k) + 1/(l_i + k)] over the eigenvalues l_i of a correlation matrix."""
    if not np.all(np.isfinite(corr)):
        return float("nan")
    lam = np.linalg.eigvalsh(corr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-np.sum(np.log(lam + k) + 1.0 / (lam + k)))


def _relu_modules(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.ReLU)]


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
    handles = [m.register_forward_hook(acc) for m in _relu_modules(model)]
    try:
        model.train()
        with torch.no_grad(), _channels_last(model, batch.x) as x:
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

    _forward_one_zero_input(model, batch, _relu_modules(model), hook)
    return float(total[0])


# -- input-Jacobian scores --------------------------------------------------------------------
@register("jacob_cov", min_batch=2)
def jacob_cov(model: nn.Module, batch: Batch) -> float:
    """-sum_i [log(l_i + k) + 1/(l_i + k)], l_i eigenvalues of corr(J), k = 1e-5.

    J (n, inputs) holds the per-sample gradients of sum(outputs) w.r.t. the input
    (Mellor et al., v1 of "NAS without training").
    """
    return jacobian_score(_corrcoef_rows(_input_grads(model, batch, of_loss=False)))


@register("epe_nas", min_batch=2)
def epe_nas(model: nn.Module, batch: Batch) -> float:
    """Per class c: s_c = sum_ij log(|corr(J_c)_ij| + k); score = sum_c |s_c| (k = 1e-5).

    J_c are the input Jacobians (as in jacob_cov) of the samples of class c; classes with one
    sample are skipped. With more than 100 classes (Lopes et al.) s_c is divided by the class
    size and the score is sum_{c,c'} |s_c - s_c'| / (number of classes seen).
    """
    g = _input_grads(model, batch, of_loss=False)
    y = batch.y.numpy()
    per_class = []
    for c in np.unique(y):
        rows = g[y == c]
        if len(rows) < 2:
            continue
        corr = _corrcoef_rows(rows)
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
    return jsc_from_grads(_input_grads(model, batch, of_loss=True))


# -- pruning-at-init scores -------------------------------------------------------------------
@register("snip")
def snip(model: nn.Module, batch: Batch) -> float:
    """sum over weights |w * dL/dw| (connection sensitivity, Lee et al.)."""
    lp = _loss_pass(model, batch)
    return float(sum(float((w * g).abs().sum()) for w, g in zip(lp.weights, lp.grads)))


@register("grad_norm")
def grad_norm(model: nn.Module, batch: Batch) -> float:
    """sum over weight tensors of ||dL/dW||_2 (Frobenius norm per tensor, summed)."""
    return float(sum(float(g.norm()) for g in _loss_pass(model, batch).grads))


@register("grasp")
def grasp(model: nn.Module, batch: Batch) -> float:
    """-sum over weights w * (H g), g = dL/dw, H the Hessian of L (Wang et al., GraSP).

    H g is the gradient of z = sum(stop_grad(g) * g(w)): one forward, one double backward.
    Runs in the default memory layout: the channels-last double backward is slower here, and
    this score's cancelling sum is sensitive to the changed rounding.
    """
    layers = _weight_layers(model)
    weights = [m.weight for m in layers]
    model.train()
    model.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(batch.x), batch.y)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True, materialize_grads=True)
    z = sum((gf.detach() * gf).sum() for gf in grads)
    if not z.requires_grad:  # the loss does not depend on any weight
        return 0.0
    hg = torch.autograd.grad(z, weights, allow_unused=True, materialize_grads=True)
    _clear(model)
    return float(-sum((w.detach() * h).sum() for w, h in zip(weights, hg)))


@register("fisher")
def fisher(model: nn.Module, batch: Batch) -> float:
    """sum over conv/linear outputs a, channels k: 0.5 * mean_n (sum_spatial a_nk * dL/da_nk)^2.

    The channel-pruning Fisher estimate of Turner et al. (BlockSwap) at initialisation.
    """
    return _loss_pass(model, batch).fisher


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
    for m in _weight_layers(net):
        if m.weight.grad is not None:
            total += float((m.weight.detach() * m.weight.grad).abs().sum())
    return total


@register("l2_norm", needs_data=False)
def l2_norm(model: nn.Module, batch: Batch) -> float:
    """sum over weight tensors of ||W||_2 (Frobenius); depends only on the initialisation."""
    return float(sum(float(m.weight.detach().norm()) for m in _weight_layers(model)))


def _forward_one_zero_input(model: nn.Module, batch: Batch, modules, hook) -> None:
    """Run one all-zeros input through ``model`` in eval mode with ``hook`` on ``modules`` (for
    data-free counts), then remove the hooks and restore training mode."""
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *batch.input_shape))
    finally:
        for h in handles:
            h.remove()
        model.train()


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

    _forward_one_zero_input(model, batch, _weight_layers(model), hook)
    return total[0] / 1e6


# -- parameter-space Jacobian scores ----------------------------------------------------------
def _ordered_weight_grads(model: nn.Module, batch: Batch) -> list[np.ndarray]:
    """Loss gradients of the weights, in forward-execution order (input -> output), as (out, rest)."""
    return [g.double().reshape(g.shape[0], -1).numpy() for g in _loss_pass(model, batch).grads]


def tensor_jacobian_scores(grads: list[np.ndarray]) -> np.ndarray:
    """The Jacobian score of corr(rows of G) for each gradient G (out_channels, rest).

    Tensors where the correlation is undefined (fewer than 2 rows or columns, or a constant
    row, e.g. a weight whose output never reaches the loss) are left out.
    """
    scores = []
    for g in grads:
        if g.shape[0] < 2 or g.shape[1] < 2 or np.any(np.ptp(g, axis=1) == 0):
            continue
        s = jacobian_score(_corrcoef_rows(g))
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


# -- ensemble ---------------------------------------------------------------------------------
def ensemble_rank(columns: dict[str, np.ndarray] | list[np.ndarray]) -> np.ndarray:
    """Mean rank of several scores (higher score -> higher rank, ties averaged).

    Rows where any member is missing (NaN/inf) are NaN: a missing score is never ranked.
    """
    from scipy.stats import rankdata

    cols = list(columns.values()) if isinstance(columns, dict) else list(columns)
    if not cols:
        raise ConfigError("an ensemble needs at least one score column")
    m = np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])
    ok = np.all(np.isfinite(m), axis=1)
    out = np.full(len(m), np.nan)
    if ok.any():
        ranks = np.column_stack([rankdata(m[ok, j]) for j in range(m.shape[1])])
        out[ok] = ranks.mean(axis=1)
    return out


def ensemble_name(members: list[str], data: str) -> str:
    """``ensemble-naswot+synflow/digits``: no brackets or globs, so it works in dataset names."""
    return f"ensemble-{'+'.join(members)}/{data}"
