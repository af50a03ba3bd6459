"""Small shared helpers for the torch predictor families (MLP, BOHAMIANN, BANANAS, NAO, GP, GCN, BONAS).

Kept deliberately small: seeding that does not leak into the caller's global RNG, tensor
conversion, one mini-batch training loop (Adam, optional early stopping on a
held-out slice), and state-dict files read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .base import PredictorError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "hardswish": nn.Hardswish}


# ---- device, seeding, tensors ------------------------------------------------------------------


def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"`` (CUDA when available); clear error otherwise."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise PredictorError(f"unknown torch device {device!r}; use 'cpu', 'cuda' or 'auto'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PredictorError(
            f"device {device!r} requested but CUDA is not available; use device='cpu' or 'auto'"
        )
    return dev


@contextlib.contextmanager
def seeded(seed: int | None, device: str | torch.device = "cpu") -> Iterator[torch.Generator]:
    """Run a block with torch's RNG seeded from ``seed`` and restore the caller's RNG state afterwards.

    Yields a CPU ``torch.Generator`` (same seed) for shuffling, so that fitting a predictor is
    deterministic without changing what the user's own ``torch.rand`` calls return.
    """
    dev = resolve_device(device)
    cuda = [dev.index or 0] if dev.type == "cuda" else []
    s = 0 if seed is None else int(seed)
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(s)
        gen = torch.Generator()
        gen.manual_seed(s)
        yield gen


def to_tensor(x, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Array-like -> tensor on ``device`` (no copy when it already is one there)."""
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


# ---- training loop ------------------------------------------------------------------------------


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)


def train_loop(
    model: nn.Module,
    n: int,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    *,
    epochs: int,
    lr: float,
    batch_size: int = 32,
    weight_decay: float = 0.0,
    generator: torch.Generator | None = None,
    val_fraction: float = 0.0,
    patience: int = 20,
    min_val: int = 8,
    min_steps: int = 0,
    params=None,
    max_norm: float | None = None,
) -> TrainResult:
    """Mini-batch Adam over ``n`` samples for ``epochs`` epochs.

    ``batch_loss(idx)`` returns the mean loss of the samples ``idx`` (a CPU int64 tensor), so the
    loop works for any data layout (tensors, PyG graph lists, sequences). With ``val_fraction > 0``
    and at least ``min_val`` held-out samples, training stops after ``patience`` epochs without a
    better validation loss and the best weights are restored; otherwise it runs all epochs.
    ``min_steps`` raises the epoch count so that tiny training sets still get that many updates.
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if n_val < min_val or n - n_val < 2:
        n_val = 0
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    opt = torch.optim.Adam(model.parameters() if params is None else params, lr=lr, weight_decay=weight_decay)
    bs = max(1, min(int(batch_size), len(tr_idx)))
    epochs = max(int(epochs), math.ceil(int(min_steps) / math.ceil(len(tr_idx) / bs)))
    res = TrainResult(0, 0)
    best, best_state, since = math.inf, None, 0
    for epoch in range(int(epochs)):
        model.train()
        order = tr_idx[torch.randperm(len(tr_idx), generator=gen)]
        total = 0.0
        for start in range(0, len(order), bs):
            idx = order[start : start + bs]
            loss = batch_loss(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if max_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            opt.step()
            total += float(loss.detach()) * len(idx)
        res.train_loss.append(total / len(order))
        res.epochs_run = epoch + 1
        if n_val:
            model.eval()
            with torch.no_grad():
                v = float(batch_loss(val_idx))
            res.val_loss.append(v)
            if v < best - 1e-7:
                best, since, res.best_epoch = v, 0, epoch + 1
                best_state = copy.deepcopy(model.state_dict())
            else:
                since += 1
                if since >= patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        res.best_epoch = res.epochs_run
    model.eval()
    return res


# ---- persistence ----------------------------------------------------------------------------------


def save_state(obj: nn.Module | dict, path: str | Path) -> None:
    """Write a state dict (of tensors, or nested dict/list of tensors and numbers) with ``torch.save``."""
    state = obj.state_dict() if isinstance(obj, nn.Module) else obj
    torch.save(_to_cpu(state), Path(path))


def load_state(path: str | Path, device: str | torch.device = "cpu"):
    """Read what :func:`save_state` wrote, without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise PredictorError(f"saved predictor file {path} is missing; save the predictor again")
    return torch.load(path, map_location=device, weights_only=True)


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj
