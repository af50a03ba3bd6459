"""Continuous (relaxed) versions of the encodings, for gradient-based NAS.

``weights`` is a (positions, ops) tensor of op probabilities per position (e.g. a softmax of
DARTS architecture parameters). On a hard one-hot ``weights`` every function here equals the
corresponding discrete encoding exactly, so a predictor trained on discrete codes can be
evaluated, with gradients, on relaxed ones.
"""

from __future__ import annotations

import numpy as np
import torch

from ..spaces import SearchSpace, get_space
from .graph import graph_dims
from .path import _NB201_INDEX, NB201_ROUTES


def relaxed_onehot(weights: torch.Tensor) -> torch.Tensor:
    """(..., positions, ops) -> (..., positions*ops)."""
    return weights.flatten(-2)


def relaxed_path(weights: torch.Tensor, space: SearchSpace | str = "nb201") -> torch.Tensor:
    """Probability that each (route, op sequence) path feature is on, assuming independent edges."""
    sp = get_space(space)
    if sp.name != "nb201":
        raise ValueError("relaxed path encoding is defined for the nb201 cell space")
    feats = []
    for r, ops in _NB201_INDEX:  # dict order == feature order
        route = NB201_ROUTES[r]
        p = weights[..., route[0], ops[0]]
        for e, o in zip(route[1:], ops[1:]):
            p = p * weights[..., e, o]
        feats.append(p)
    return torch.stack(feats, dim=-1)


def relaxed_graph_features(weights: torch.Tensor, space: SearchSpace | str = "nb201") -> torch.Tensor:
    """(..., positions, ops) -> (..., nodes*features): node features with op nodes relaxed."""
    sp = get_space(space)
    n_nodes, n_feat = graph_dims(sp)
    lead = weights.shape[:-2]
    io = torch.zeros(*lead, 2, n_feat, dtype=weights.dtype, device=weights.device)
    io[..., 0, 0] = 1
    io[..., 1, 1] = 1
    ops = torch.cat(
        [torch.zeros(*lead, sp.num_positions, 2, dtype=weights.dtype, device=weights.device), weights], -1
    )
    nodes = torch.cat([io[..., :1, :], ops, io[..., 1:, :]], dim=-2)
    return nodes.flatten(-2)


def relax(weights: torch.Tensor, space: SearchSpace | str, encoding: str) -> torch.Tensor:
    if encoding in ("onehot", "tuple"):
        return relaxed_onehot(weights)
    if encoding == "path":
        return relaxed_path(weights, space)
    if encoding == "graph":
        return relaxed_graph_features(weights, space)
    raise ValueError(f"no relaxed form of encoding {encoding!r}")


def hard_weights(archs, space: SearchSpace | str) -> torch.Tensor:
    """One-hot op weights (n, positions, ops) of discrete architectures."""
    sp = get_space(space)
    a = torch.as_tensor(np.asarray(archs, dtype=np.int64))
    return torch.nn.functional.one_hot(a, sp.num_ops).to(torch.float32)
