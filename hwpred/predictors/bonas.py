"""BONAS: a GCN ensemble whose uncertainty chooses, Bayesian-optimisation style, the order of training batches.

The predictor does not get to query new architectures (the training set is given), so the BO
loop runs *inside* the training set: start from a small random subset, train the ensemble on
it, score the not-yet-used training architectures with an acquisition function on the
ensemble's standardised prediction (mean, spread across members), add the best-scoring batch,
train on, and repeat until every training architecture is in. The ensemble keeps its weights
between rounds (warm start), so the acquisition order is the training curriculum; a final phase
trains on the whole set. The prediction is the ensemble mean.

Acquisitions (``acquisition``): ``"ucb"`` (optimistic: mean + kappa * std towards the goal),
``"ei"`` (expected improvement over the best target seen so far) and ``"std"`` (pure
uncertainty sampling). The goal is the *smallest* metric by default (fast architectures are
what hardware-aware NAS looks for); ``maximize=True`` flips it for accuracy-like targets.

Epochs: like :mod:`hwpred.predictors.gcn`, ``epochs=None`` aims at ``min_steps`` optimiser steps
for the final phase (each BO round gets ``round_steps``); the seed study's default (batch 128,
lr 1e-4) needs thousands of steps to learn.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..encoders import GraphBatch, graph_dims
from . import _torchutil as tu
from .base import Predictor, PredictorError
from .gcn import GCNNet, _GraphData, auto_epochs, check_flat_input, soft_adjacency

STATE_FILE = "bonas_state.pt"
ACQUISITIONS = ("ucb", "ei", "std")


def acquisition_scores(
    mu: np.ndarray, sigma: np.ndarray, kind: str, kappa: float, best: float, maximize: bool
) -> np.ndarray:
    """Higher = pick first. ``mu``/``sigma`` are on the standardised scale; ``best`` the best target so far."""
    s = 1.0 if maximize else -1.0
    if kind == "ucb":
        return s * mu + kappa * sigma
    if kind == "std":
        return sigma.copy()
    if kind == "ei":
        from scipy.stats import norm

        sig = np.maximum(sigma, 1e-9)
        imp = s * (mu - best)
        u = imp / sig
        return imp * norm.cdf(u) + sig * norm.pdf(u)
    raise PredictorError(f"bonas: unknown acquisition {kind!r}; choose one of {ACQUISITIONS}")


class _Ensemble(nn.Module):
    def __init__(self, members: list[GCNNet]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x, edge_index, n_graphs, edge_weight=None) -> torch.Tensor:
        """(members, graphs) predictions."""
        return torch.stack([m(x, edge_index, n_graphs, edge_weight) for m in self.members])

    def dense(self, feats, adj) -> torch.Tensor:
        return torch.stack([m.dense_forward(feats, adj) for m in self.members])


class BonasPredictor(Predictor):
    name: ClassVar[str] = "bonas"
    family: ClassVar[str] = "BONAS (GCN ensemble + Bayesian-optimisation batch selection, torch-geometric)"
    default_encoding: ClassVar[str] = "graph"
    differentiable: ClassVar[bool] = True
    min_samples: ClassVar[int] = 2

    def __init__(
        self,
        hidden: int = 64,
        num_layers: int = 3,
        batch_size: int = 128,
        lr: float = 1e-4,
        weight_decay: float = 0.0,
        n_models: int = 3,
        bo_rounds: int = 3,
        init_fraction: float = 0.25,
        acquisition: str = "ucb",
        kappa: float = 1.0,
        maximize: bool = False,
        epochs: int | None = None,
        min_steps: int = 2000,
        round_steps: int = 250,
        max_epochs: int = 2000,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.hidden = hidden
        self.num_layers = num_layers
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_models = n_models
        self.bo_rounds = bo_rounds
        self.init_fraction = init_fraction
        self.acquisition = acquisition
        self.kappa = kappa
        self.maximize = maximize
        self.epochs = epochs
        self.min_steps = min_steps
        self.round_steps = round_steps
        self.max_epochs = max_epochs
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "hidden": trial.suggest_int("hidden", 16, 128, log=True),
            "batch_size": trial.suggest_int("batch_size", 32, 256, log=True),
            "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        }

    def _check_params(self) -> None:
        if self.acquisition not in ACQUISITIONS:
            raise PredictorError(
                f"bonas: unknown acquisition {self.acquisition!r}; choose one of {ACQUISITIONS}"
            )
        if int(self.n_models) < 2:
            raise PredictorError(
                f"bonas: n_models must be >= 2 (the ensemble spread is the uncertainty), got {self.n_models}"
            )
        if not 0.0 < float(self.init_fraction) <= 1.0:
            raise PredictorError(f"bonas: init_fraction must be in (0, 1], got {self.init_fraction}")
        if int(self.bo_rounds) < 0:
            raise PredictorError(f"bonas: bo_rounds must be >= 0, got {self.bo_rounds}")

    def _build(self) -> _Ensemble:
        _, n_feat = graph_dims(self._space())
        return _Ensemble(
            [GCNNet(n_feat, int(self.hidden), int(self.num_layers)) for _ in range(int(self.n_models))]
        )

    def _train(
        self,
        ens: _Ensemble,
        data: _GraphData,
        z: torch.Tensor,
        subset: np.ndarray,
        steps: int,
        final: bool,
        gen: torch.Generator,
    ) -> None:
        """All members on the same mini-batches (independent inits, one Adam over all of them)."""
        sub = torch.as_tensor(subset, dtype=torch.long)
        if final:
            epochs = auto_epochs(self.epochs, len(sub), self.batch_size, steps, 1, int(self.max_epochs))
        else:
            epochs = auto_epochs(None, len(sub), self.batch_size, steps, 1, int(self.max_epochs))

        def batch_loss(idx: torch.Tensor) -> torch.Tensor:
            rows = sub[idx]
            x, ei, nb, w = data.batch(rows)
            pred = ens(x, ei, nb, w)
            return ((pred - z[rows].unsqueeze(0)) ** 2).mean(dim=1).sum()

        tu.train_loop(
            ens,
            len(sub),
            batch_loss,
            epochs=epochs,
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            weight_decay=float(self.weight_decay),
            generator=gen,
        )
        if final:
            self.epochs_ = epochs

    def _fit(self, X: GraphBatch, z: np.ndarray, archs: np.ndarray) -> None:
        self._check_params()
        dev = tu.resolve_device(self.device)
        n = len(z)
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(n)
        n0 = min(n, max(2, math.ceil(float(self.init_fraction) * n)))
        chosen, rest = list(order[:n0]), list(order[n0:])
        history: list[int] = [len(chosen)]
        with tu.seeded(self.random_state, dev) as gen:
            ens = self._build().to(dev)
            data = _GraphData(X, dev)
            zt = tu.to_tensor(z, dev)
            for r in range(int(self.bo_rounds)):
                if not rest:
                    break
                self._train(ens, data, zt, np.asarray(chosen), int(self.round_steps), False, gen)
                ens.eval()
                with torch.no_grad():
                    ridx = torch.as_tensor(rest, dtype=torch.long)
                    pred = tu.to_numpy(ens.dense(data.feats[ridx], data.dense_adj(ridx)))
                mu, sigma = pred.mean(axis=0), pred.std(axis=0)
                seen = z[np.asarray(chosen)]
                best = float(seen.max() if self.maximize else seen.min())
                scores = acquisition_scores(
                    mu, sigma, self.acquisition, float(self.kappa), best, bool(self.maximize)
                )
                k = math.ceil(len(rest) / (int(self.bo_rounds) - r))
                top = np.argsort(-scores, kind="stable")[:k]
                picked = set(top.tolist())
                chosen += [rest[i] for i in top]
                rest = [c for i, c in enumerate(rest) if i not in picked]
                history.append(len(chosen))
            self._train(ens, data, zt, np.arange(n), int(self.min_steps), True, gen)
        self.ens_ = ens.eval()
        self.selection_order_ = np.asarray(chosen + rest, dtype=np.int64)
        self.round_sizes_ = history

    def _predict(self, X: GraphBatch, archs: np.ndarray) -> np.ndarray:
        return self.predict_members(X).mean(axis=0)

    def predict_members(self, X: GraphBatch) -> np.ndarray:
        """(members, n) standardised predictions; their spread is the uncertainty the BO loop uses."""
        data = _GraphData(X, next(self.ens_.parameters()).device)
        with torch.no_grad():
            return tu.to_numpy(self.ens_.dense(data.feats, data.dense_adj(slice(None))))

    def predict_std(self, archs) -> np.ndarray:
        """Ensemble standard deviation in the target's unit."""
        self._check_fitted()
        a = self._archs(archs)
        return self.predict_members(self._encode(a)).std(axis=0) * self.y_std_

    def torch_forward(self, x):
        """Standardised ensemble-mean prediction from a (batch, nodes*features) soft node-feature tensor."""
        self._check_fitted()
        x, n_nodes, n_feat = check_flat_input(x, self._space().name, self.name)
        dev = next(self.ens_.parameters()).device
        feats = x.to(dev).view(-1, n_nodes, n_feat)
        self.ens_.eval()
        return self.ens_.dense(feats, soft_adjacency(feats, self._space().name)).mean(dim=0)

    def _state(self, folder: Path) -> dict:
        tu.save_state(self.ens_, folder / STATE_FILE)
        return {"weights": STATE_FILE, "epochs": self.epochs_, "round_sizes": list(self.round_sizes_)}

    def _load_state(self, folder: Path, state: dict) -> None:
        ens = self._build()
        ens.load_state_dict(tu.load_state(folder / state["weights"]))
        self.ens_ = ens.to(tu.resolve_device(self.device)).eval()
        self.epochs_ = int(state["epochs"])
        self.round_sizes_ = [int(v) for v in state.get("round_sizes", [])]
