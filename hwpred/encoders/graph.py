"""Graph encoding: ops as nodes between an input and an output node.

NB201: 8 nodes (input, the 6 edge-ops, output); op node j follows op node i when j starts at
the node i ends in. TransNAS macro: 8 nodes (input, 6 layer positions, output) in a chain.
Node features: one-hot over [input, output, op 0 .. op num_ops-1]. Returned as dense numpy
arrays (adjacency (n, N, N), features (n, N, F)) or as torch-geometric ``Data`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spaces import SearchSpace, as_arch_array, get_space
from ..spaces.nb201 import EDGES


def _nb201_adjacency() -> np.ndarray:
    n = 8
    adj = np.zeros((n, n), dtype=np.float32)
    for i, (t_i, s_i) in enumerate(EDGES):
        if s_i == 0:
            adj[0, 1 + i] = 1
        if t_i == 3:
            adj[1 + i, n - 1] = 1
        for j, (_, s_j) in enumerate(EDGES):
            if s_j == t_i:
                adj[1 + i, 1 + j] = 1
    return adj


def _chain_adjacency(n: int) -> np.ndarray:
    adj = np.zeros((n, n), dtype=np.float32)
    adj[np.arange(n - 1), np.arange(1, n)] = 1
    return adj


@dataclass
class GraphBatch:
    adjacency: np.ndarray  # (n, N, N), adjacency[k, i, j] = 1 for an edge i -> j
    features: np.ndarray  # (n, N, F)

    def __len__(self) -> int:
        return len(self.adjacency)


def graph(archs, space: SearchSpace | str) -> GraphBatch:
    sp = get_space(space)
    a = as_arch_array(archs, sp)
    n_nodes = sp.num_positions + 2
    base = _nb201_adjacency() if sp.name == "nb201" else _chain_adjacency(n_nodes)
    n_feat = 2 + sp.num_ops
    feats = np.zeros((len(a), n_nodes, n_feat), dtype=np.float32)
    feats[:, 0, 0] = 1
    feats[:, -1, 1] = 1
    rows = np.arange(len(a))[:, None]
    feats[rows, 1 + np.arange(sp.num_positions)[None, :], 2 + a] = 1
    adj = np.broadcast_to(base, (len(a), n_nodes, n_nodes)).copy()
    if sp.name == "transnas_macro":
        # absent trailing layers are skipped: the last present layer feeds the output directly
        for k, row in enumerate(a):
            n_layers = int(np.count_nonzero(row))
            adj[k] = 0
            chain = list(range(0, n_layers + 1)) + [n_nodes - 1]
            for u, v in zip(chain[:-1], chain[1:]):
                adj[k, u, v] = 1
    return GraphBatch(adj, feats)


def graph_dims(space: SearchSpace | str) -> tuple[int, int]:
    """(number of nodes, node-feature width)."""
    sp = get_space(space)
    return sp.num_positions + 2, 2 + sp.num_ops


def to_pyg(archs, space: SearchSpace | str, y=None) -> list:
    """torch-geometric ``Data`` objects (x, edge_index[, y]) for the same graphs."""
    import torch
    from torch_geometric.data import Data

    g = graph(archs, space)
    out = []
    for k in range(len(g)):
        src, dst = np.nonzero(g.adjacency[k])
        d = Data(
            x=torch.from_numpy(g.features[k]),
            edge_index=torch.from_numpy(np.stack([src, dst]).astype(np.int64)),
        )
        if y is not None:
            d.y = torch.tensor([float(y[k])], dtype=torch.float32)
        out.append(d)
    return out
