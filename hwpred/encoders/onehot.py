"""Adjacency one-hot encoding: one block of ``num_ops`` per position (NB201: 6 x 5 = 30 dims)."""

from __future__ import annotations

import numpy as np

from ..spaces import SearchSpace, as_arch_array, get_space


def onehot(archs, space: SearchSpace | str) -> np.ndarray:
    sp = get_space(space)
    a = as_arch_array(archs, sp)
    out = np.zeros((len(a), sp.num_positions * sp.num_ops), dtype=np.float32)
    rows = np.arange(len(a))[:, None]
    out[rows, np.arange(sp.num_positions)[None, :] * sp.num_ops + a] = 1.0
    return out
