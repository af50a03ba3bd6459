"""Feed-forward MLP regressors on the adjacency one-hot encoding: MLP large and MLP small.

Both train a plain MLP with Adam on the z-scored target (MSE), mini-batches of 32, for a fixed
number of epochs. The default budget (MLP large: 100 epochs; small: 150 epochs) fits 1,000
NAS-Bench-201 samples in a few seconds on one CPU thread; the epoch count is a hyper-parameter.
:class:`MLPEnsembleBase` is also the building block of BANANAS (an ensemble of three).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from . import _torchutil as tu
from .base import Predictor, PredictorError


class BatchedMLP(nn.Module):
    """``n_models`` MLPs of the same shape evaluated together with batched matmuls.

    Training an ensemble this way costs about as much as one member on a CPU (the work is in
    per-call overhead, not flops), and Adam's per-parameter updates keep the members independent.
    ``forward(x)`` takes (batch, dim) shared by all members or (n_models, batch, dim) and returns
    (n_models, batch).
    """

    def __init__(self, n_models: int, in_dim: int, layers: int, width: int, activation: str = "relu"):
        super().__init__()
        if activation not in tu.ACTIVATIONS:
            raise PredictorError(f"unknown activation {activation!r}; choose one of {sorted(tu.ACTIVATIONS)}")
        if int(layers) < 1 or int(width) < 1:
            raise PredictorError(
                f"an MLP needs layers >= 1 and width >= 1, got layers={layers}, width={width}"
            )
        dims = [int(in_dim)] + [int(width)] * int(layers) + [1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(d_in)  # the same range as torch.nn.Linear's default initialisation
            self.weights.append(nn.Parameter(torch.empty(n_models, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n_models, 1, d_out).uniform_(-bound, bound)))
        self.act = tu.ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return batched_mlp_forward(x, list(self.weights), list(self.biases), self.act)


def batched_mlp_forward(
    x: torch.Tensor,
    weights: list[torch.Tensor],
    biases: list[torch.Tensor],
    act: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """The functional form of :class:`BatchedMLP` (weights (M, in, out), biases (M, 1, out))."""
    h = x.unsqueeze(0).expand(weights[0].shape[0], -1, -1) if x.dim() == 2 else x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = torch.baddbmm(b, h, w)
        if i < last:
            h = act(h)
    return h.squeeze(-1)


def dead_members(net: BatchedMLP, X: torch.Tensor, tol: float = 1e-6) -> list[int]:
    """Members whose output does not vary over the inputs ``X`` (std below ``tol``, z units)."""
    if X.shape[0] < 2:
        return []
    with torch.no_grad():
        spread = net(X).std(1)
    return [int(i) for i in torch.nonzero(spread < tol).flatten()]


class MLPEnsembleBase(Predictor):
    """``n_models`` independently initialised MLPs trained on the same data; prediction = their mean.

    Each member sees its own mini-batches (a fixed per-member relabelling of the shared shuffle).
    A member that ends training dead (the same output for every training input) is re-drawn
    and retrained, up to :attr:`max_restarts` times; ``restarts_`` counts the re-draws.
    """

    differentiable: ClassVar[bool] = True
    n_models: ClassVar[int] = 1
    weights_file: ClassVar[str] = "mlp.pt"

    def _build(self, in_dim: int) -> BatchedMLP:
        return BatchedMLP(
            self.n_models, in_dim, self.num_layers, self.layer_width, getattr(self, "activation", "relu")
        )

    #: how many times a dead member (constant output: every path through its ReLUs switched off,
    #: which deep narrow default networks hit on some seeds) is re-drawn and trained again
    max_restarts: ClassVar[int] = 3

    def _fit(self, X, z, archs) -> None:
        dev = tu.resolve_device(self.device)
        Xt, zt = tu.to_tensor(X, dev), tu.to_tensor(z, dev)
        n, self.in_dim_ = int(Xt.shape[0]), int(Xt.shape[1])
        with tu.seeded(self.random_state, dev) as gen:
            self.model_ = self._build(self.in_dim_).to(dev)
            relabel = torch.stack(
                [torch.arange(n)] + [torch.randperm(n, generator=gen) for _ in range(self.n_models - 1)]
            ).to(dev)
            self.train_result_ = self._train(self.model_, relabel, Xt, zt, gen)
            self.restarts_ = 0
            dead = dead_members(self.model_, Xt)
            for _ in range(self.max_restarts):
                if not dead:
                    break
                # members train independently, so a dead one is replaced by a fresh draw trained
                # on its own mini-batch order; the live members are kept as they are
                fresh = BatchedMLP(
                    len(dead),
                    self.in_dim_,
                    self.num_layers,
                    self.layer_width,
                    getattr(self, "activation", "relu"),
                ).to(dev)
                self._train(fresh, relabel[dead], Xt, zt, gen)
                with torch.no_grad():
                    for mine, new in zip(
                        list(self.model_.weights) + list(self.model_.biases),
                        list(fresh.weights) + list(fresh.biases),
                    ):
                        mine[dead] = new
                self.restarts_ += len(dead)
                dead = dead_members(self.model_, Xt)
            if len(dead) == self.n_models:
                raise PredictorError(
                    f"{self.name}: every network stayed dead after {self.max_restarts} re-draws (the same output "
                    f"for every training architecture, so it ranks nothing); num_layers={self.num_layers}, "
                    f"layer_width={self.layer_width}, lr={self.lr:g}: try a smaller lr or a shallower, wider network"
                )
        self.model_.eval()

    def _train(
        self, net: BatchedMLP, relabel: torch.Tensor, Xt: torch.Tensor, zt: torch.Tensor, gen: torch.Generator
    ) -> tu.TrainResult:
        def batch_loss(idx: torch.Tensor) -> torch.Tensor:
            rows = relabel[:, idx.to(relabel.device)]  # (members, batch)
            pred = net(Xt[rows])
            # sum over members of each member's mean loss: independent gradients per member
            return ((pred - zt[rows]) ** 2).mean(1).sum()

        return tu.train_loop(
            net,
            int(Xt.shape[0]),
            batch_loss,
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            generator=gen,
        )

    def torch_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        p = self.model_.weights[0]
        return self.model_(x.to(device=p.device, dtype=p.dtype)).mean(0)

    def _predict(self, X, archs) -> np.ndarray:
        with torch.no_grad():
            return tu.to_numpy(self.torch_forward(tu.to_tensor(X)))

    def _state(self, folder: Path) -> dict:
        tu.save_state(self.model_, folder / self.weights_file)
        return {"in_dim": self.in_dim_}

    def _load_state(self, folder: Path, state: dict) -> None:
        dev = tu.resolve_device(self.device)
        self.in_dim_ = int(state["in_dim"])
        self.model_ = self._build(self.in_dim_).to(dev)
        self.model_.load_state_dict(tu.load_state(folder / self.weights_file, dev))
        self.model_.eval()


class MLPLargePredictor(MLPEnsembleBase):
    """MLP large: a deep narrow ReLU network (the seed study's 20 x 20 default)."""

    name = "mlp"
    family = "MLP large"
    default_encoding = "onehot"

    def __init__(
        self,
        num_layers: int = 20,
        layer_width: int = 20,
        lr: float = 1e-3,
        epochs: int = 100,
        batch_size: int = 32,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.num_layers = num_layers
        self.layer_width = layer_width
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {
            "num_layers": trial.suggest_int("num_layers", 5, 25),
            "layer_width": trial.suggest_int("layer_width", 5, 25),
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        }


class MLPSmallPredictor(MLPEnsembleBase):
    """MLP small: a shallow, wider network with a choice of activation."""

    name = "minimlp"
    family = "MLP small"
    default_encoding = "onehot"

    def __init__(
        self,
        num_layers: int = 3,
        layer_width: int = 32,
        lr: float = 1e-3,
        activation: str = "relu",
        epochs: int = 150,
        batch_size: int = 32,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int | None = 0,
    ):
        self.num_layers = num_layers
        self.layer_width = layer_width
        self.lr = lr
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict:
        return {
            "num_layers": trial.suggest_int("num_layers", 2, 5),
            "layer_width": trial.suggest_int("layer_width", 16, 128, log=True),
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "activation": trial.suggest_categorical("activation", ["relu", "tanh", "hardswish"]),
        }
