"""GCN predictor: graph convolutions (torch-geometric ``GCNConv``) over the op graph of a cell.

Each architecture is the graph of :func:`hwpred.encoders.graph` (input node, one node per
op/layer position, output node). ``GCNConv`` layers propagate op features along the edges; the
graph is read out as the mean of its node embeddings next to the output node's embedding (the
output node has seen everything upstream of it) and an MLP head regresses the standardised
target.

Training runs on PyG's sparse propagation. :meth:`GCNPredictor.torch_forward` runs the *same*
layers on a dense, batched adjacency so that a NAS loop can feed relaxed (softmax) op one-hots
and take gradients; on hard one-hots both paths give the same numbers (tested).

Epochs: the seed study's defaults (batch 7, lr 1e-4) learn slowly — Adam moves each weight by
about lr per step, so the default needs thousands of steps whatever the training-set size — and a
fixed epoch count either starves tiny training sets (25 samples = 4 steps per epoch) or wastes
time on large ones. ``epochs=None`` (the default) therefore runs ``ceil(min_steps /
steps_per_epoch)`` epochs, capped at ``max_epochs``: about 8,000 Adam steps (56 epochs on 1,000
samples, 534 on 100; the 600-epoch cap, 2,400 steps, on 25), roughly 30-60 s on one shared CPU
thread. More steps keep improving the default (Kendall tau on help:raspi4 at 1,000 samples:
0.77 after 7k steps, 0.85 after 25k); pass ``epochs=<int>`` or a larger ``min_steps`` to trade
time for quality, or tune ``lr``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..encoders import GraphBatch, graph, graph_dims
from . import _torchutil as tu
from .base import Predictor, PredictorError

STATE_FILE = "gcn_state.pt"


# ---- the network -------------------------------------------------------------------------------


class GCNNet(nn.Module):
    """GCNConv stack + (mean pool, output node) readout + MLP head, with a dense twin of the forward."""

    def __init__(self, n_feat: int, hidden: int, num_layers: int, dropout: float = 0.0):
        super().__init__()
        from torch_geometric.nn import GCNConv

        if num_layers < 1 or hidden < 1:
            raise PredictorError(f"gcn: needs num_layers >= 1 and hidden >= 1, got {num_layers}, {hidden}")
        dims = [n_feat] + [hidden] * num_layers
        self.convs = nn.ModuleList(GCNConv(dims[i], dims[i + 1]) for i in range(num_layers))
        self.dropout = float(dropout)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def _readout(self, h: torch.Tensor) -> torch.Tensor:
        """h: (graphs, nodes, hidden) -> (graphs,)."""
        pooled = torch.cat([h.mean(dim=1), h[:, -1, :]], dim=1)
        return self.head(pooled).squeeze(-1)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        n_graphs: int,
        edge_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sparse path: x (graphs*nodes, F) with every graph's nodes contiguous, same node count per graph."""
        from torch_geometric.nn import global_mean_pool

        h = x
        for conv in self.convs:
            h = torch.relu(conv(h, edge_index, edge_weight))
            h = nn.functional.dropout(h, self.dropout, self.training)
        n_nodes = h.shape[0] // n_graphs
        batch = torch.arange(n_graphs, device=h.device).repeat_interleave(n_nodes)
        mean = global_mean_pool(h, batch, size=n_graphs)
        out_node = h.view(n_graphs, n_nodes, -1)[:, -1, :]
        return self.head(torch.cat([mean, out_node], dim=1)).squeeze(-1)

    def dense_forward(self, feats: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """Dense path: feats (b, N, F), adj (b, N, N) or (N, N) with adj[s, t] = weight of edge s -> t.

        Reproduces GCNConv's normalisation exactly: self-loops of weight 1, degree = weighted
        in-degree of the target, message s -> t scaled by deg[s]^-1/2 * w * deg[t]^-1/2.
        """
        # a (N, N) adjacency shared by the whole batch broadcasts: one small matrix, not b copies
        eye = torch.eye(adj.shape[-1], dtype=adj.dtype, device=adj.device)
        a_hat = adj + eye
        dinv = a_hat.sum(dim=-2).pow(-0.5)  # in-degree of each target node
        prop = (dinv.unsqueeze(-1) * a_hat * dinv.unsqueeze(-2)).transpose(-1, -2)  # prop[t, s]
        h = feats
        for conv in self.convs:
            h = prop @ conv.lin(h)
            if conv.bias is not None:
                h = h + conv.bias
            h = torch.relu(h)
            h = nn.functional.dropout(h, self.dropout, self.training)
        return self._readout(h)


# ---- graph batching helpers -------------------------------------------------------------------------


def _edges(adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(b, N, N) dense adjacency -> (edge_index over the b*N stacked nodes, edge weights)."""
    b, s, t = torch.nonzero(adj, as_tuple=True)
    n = adj.shape[1]
    return torch.stack([b * n + s, b * n + t]), adj[b, s, t]


def soft_adjacency(feats: torch.Tensor, space_name: str) -> torch.Tensor:
    """Adjacency implied by (possibly relaxed) node features, differentiable in them.

    NAS-Bench-201: the cell's wiring does not depend on the ops (``none`` is still a node), so
    it is the fixed adjacency. TransNAS macro: node k is present with probability
    ``1 - p(absent)``; edge u -> v (u < v in chain order) has weight
    ``present(u) * present(v) * prod_{u<w<v} (1 - present(w))`` — on hard one-hots that is exactly
    the chain that skips absent trailing layers, as the graph encoder builds it.
    """
    n = feats.shape[1]
    if space_name == "nb201":
        base = torch.as_tensor(
            graph([(0,) * (n - 2)], space_name).adjacency[0], dtype=feats.dtype, device=feats.device
        )
        return base.unsqueeze(0).expand(feats.shape[0], -1, -1)
    present = 1.0 - feats[:, :, 2]  # feature column 2 = op 0 = "absent"
    ones = torch.ones_like(present[:, :1])
    present = torch.cat([ones, present[:, 1:-1], ones], dim=1)  # input and output always present
    rows = []
    for u in range(n):
        cols = []
        skip = torch.ones_like(present[:, 0])
        for v in range(n):
            if v <= u:
                cols.append(torch.zeros_like(skip))
                continue
            cols.append(present[:, u] * present[:, v] * skip)
            skip = skip * (1.0 - present[:, v])
        rows.append(torch.stack(cols, dim=1))
    return torch.stack(rows, dim=1)


class _GraphData:
    """Training graphs as tensors, batched by index without PyG's per-object collation."""

    def __init__(self, g: GraphBatch, device: torch.device):
        self.feats = torch.as_tensor(g.features, device=device)
        self.adj = torch.as_tensor(g.adjacency, device=device)
        #: the one adjacency every graph has (NB201 cells), else None (TransNAS: depends on the depth)
        same = len(g) > 0 and bool(np.all(g.adjacency == g.adjacency[:1]))
        self.shared_adj = self.adj[0] if same else None

    def dense_adj(self, sl) -> torch.Tensor:
        return self.shared_adj if self.shared_adj is not None else self.adj[sl]

    def __len__(self) -> int:
        return self.feats.shape[0]

    def batch(self, idx: torch.Tensor):
        f = self.feats[idx]
        ei, w = _edges(self.adj[idx])
        return f.reshape(-1, f.shape[-1]), ei, len(idx), w


def train_gcn(
    net: GCNNet,
    data: _GraphData,
    z: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
    generator: torch.Generator,
    idx_subset: torch.Tensor | None = None,
) -> None:
    """MSE on standardised targets through the shared mini-batch Adam loop."""
    sub = torch.arange(len(data)) if idx_subset is None else idx_subset

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        rows = sub[idx]
        x, ei, nb, w = data.batch(rows)
        return nn.functional.mse_loss(net(x, ei, nb, w), z[rows])

    tu.train_loop(
        net,
        len(sub),
        batch_loss,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        generator=generator,
    )


def predict_gcn(net: GCNNet, data: _GraphData, chunk: int = 4096) -> np.ndarray:
    """Inference on the dense path: same numbers as the sparse one (tested), several times faster
    for these 8-node graphs, which keeps a 625-architecture query well under 50 ms."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(data), chunk):
            sl = slice(start, start + chunk)
            out.append(tu.to_numpy(net.dense_forward(data.feats[sl], data.dense_adj(sl))))
    return np.concatenate(out) if out else np.zeros(0)


def auto_epochs(
    epochs: int | None, n: int, batch_size: int, min_steps: int, min_epochs: int, max_epochs: int
) -> int:
    """Epoch count for a training-set size: fixed when given, else about ``min_steps`` optimiser steps."""
    if epochs is not None:
        if int(epochs) < 1:
            raise PredictorError(f"epochs must be >= 1, got {epochs}")
        return int(epochs)
    steps_per_epoch = max(1, math.ceil(n / max(1, min(int(batch_size), n))))
    return int(min(max_epochs, max(min_epochs, math.ceil(min_steps / steps_per_epoch))))


def check_flat_input(x, space_name: str, name: str) -> tuple[torch.Tensor, int, int]:
    n_nodes, n_feat = graph_dims(space_name)
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2 or x.shape[1] != n_nodes * n_feat:
        raise PredictorError(
            f"{name}: torch_forward expects a (batch, {n_nodes * n_feat}) flattened graph "
            f"node-feature tensor ({n_nodes} nodes x {n_feat} features), got {tuple(x.shape)}"
        )
    return x.to(torch.float32), n_nodes, n_feat


# ---- the predictor ----------------------------------------------------------------------------------


class GCNPredictor(Predictor):
    name: ClassVar[str] = "gcn"
    family: ClassVar[str] = "Graph Convolutional Network (torch-geometric)"
    default_encoding: ClassVar[str] = "graph"
    differentiable: ClassVar[bool] = True
    min_samples: ClassVar[int] = 2

    def __init__(
        self,
        hidden: int = 144,
        num_layers: int = 3,
        batch_size: int = 7,
        lr: float = 1e-4,
        weight_decay: float = 3e-4,
        epochs: int | None = None,
        min_steps: int = 8000,
        max_epochs: int = 600,
        dropout: float = 0.0,
        device: str = "cpu",
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.hidden = hidden
        self.num_layers = num_layers
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.min_steps = min_steps
        self.max_epochs = max_epochs
        self.dropout = dropout
        self.device = device
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "hidden": trial.suggest_int("hidden", 64, 200, log=True),
            "batch_size": trial.suggest_int("batch_size", 5, 32, log=True),
            "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-1, log=True),
        }

    def _build(self) -> GCNNet:
        _, n_feat = graph_dims(self._space())
        return GCNNet(n_feat, int(self.hidden), int(self.num_layers), float(self.dropout))

    def _fit(self, X: GraphBatch, z: np.ndarray, archs: np.ndarray) -> None:
        dev = tu.resolve_device(self.device)
        epochs = auto_epochs(self.epochs, len(z), self.batch_size, self.min_steps, 1, self.max_epochs)
        with tu.seeded(self.random_state, dev) as gen:
            self.net_ = self._build().to(dev)
            data = _GraphData(X, dev)
            train_gcn(
                self.net_,
                data,
                tu.to_tensor(z, dev),
                epochs=epochs,
                lr=float(self.lr),
                batch_size=int(self.batch_size),
                weight_decay=float(self.weight_decay),
                generator=gen,
            )
        self.epochs_ = epochs
        self.net_.eval()

    def _predict(self, X: GraphBatch, archs: np.ndarray) -> np.ndarray:
        return predict_gcn(self.net_, _GraphData(X, tu.resolve_device(self.device)))

    def torch_forward(self, x):
        """Standardised prediction from a (batch, nodes*features) soft node-feature tensor."""
        self._check_fitted()
        x, n_nodes, n_feat = check_flat_input(x, self._space().name, self.name)
        dev = next(self.net_.parameters()).device
        feats = x.to(dev).view(-1, n_nodes, n_feat)
        self.net_.eval()
        return self.net_.dense_forward(feats, soft_adjacency(feats, self._space().name))

    def _state(self, folder: Path) -> dict:
        tu.save_state(self.net_, folder / STATE_FILE)
        return {"weights": STATE_FILE, "epochs": self.epochs_}

    def _load_state(self, folder: Path, state: dict) -> None:
        net = self._build()
        net.load_state_dict(tu.load_state(folder / state["weights"]))
        self.net_ = net.to(tu.resolve_device(self.device)).eval()
        self.epochs_ = int(state["epochs"])
