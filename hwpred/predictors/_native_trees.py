"""Packed trees handed to scikit-learn's compiled tree code, for fast prediction.

:class:`~hwpred.predictors.forest.PackedTrees` keeps plain node arrays (saved without pickle);
walking them in numpy costs several times scikit-learn's own predict. scikit-learn's ``Tree``
can be rebuilt from the same arrays through its state-restoring method (called directly: no
pickle is involved), after which ``Tree.apply`` finds each sample's leaf in compiled code.
Leaves are identical to the numpy walk (same ``float32(x) <= threshold`` test), so predictions do
not change; when the arrays cannot be handed over (another scikit-learn layout, unusual node
order), :meth:`NativeTrees.build` returns None and the numpy walk is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class NativeTrees:
    trees: list[Any]  # sklearn.tree._tree.Tree, one per packed tree
    roots: np.ndarray  # global index of each tree's node 0

    @classmethod
    def build(cls, packed) -> NativeTrees | None:
        try:
            from sklearn.tree._tree import NODE_DTYPE, Tree
        except ImportError:  # pragma: no cover - scikit-learn moved its tree module
            return None
        roots = np.asarray(packed.roots, dtype=np.int64)
        m_total = len(packed.left)
        if len(roots) == 0 or roots[0] != 0 or np.any(np.diff(roots) <= 0) or roots[-1] >= m_total:
            return None  # trees not stored as consecutive node blocks
        ends = np.append(roots[1:], m_total)
        try:
            trees = [
                _one_tree(packed, int(a), int(b), NODE_DTYPE, Tree) for a, b in zip(roots, ends, strict=True)
            ]
        except (ValueError, TypeError, KeyError):
            return None  # a layout this scikit-learn does not accept: the numpy walk answers
        return cls(trees, roots)

    def leaves(self, X: np.ndarray, which: np.ndarray) -> np.ndarray:
        """(n_samples, len(which)) global leaf indices of the trees ``which`` (X float32, C order)."""
        out = np.empty((X.shape[0], len(which)), dtype=np.int64)
        for j, t in enumerate(which):
            out[:, j] = self.trees[t].apply(X)
            out[:, j] += self.roots[t]
        return out


def _one_tree(packed, start: int, end: int, node_dtype, tree_cls):
    m = end - start
    left = packed.left[start:end]
    leaf = left < 0
    if np.any(~leaf & ((left < start) | (left >= end))):
        raise ValueError("a child outside its tree")
    nodes = np.zeros(m, dtype=node_dtype)
    nodes["left_child"] = np.where(leaf, -1, left - start)
    nodes["right_child"] = np.where(leaf, -1, packed.right[start:end] - start)
    nodes["feature"] = np.where(leaf, -2, packed.feature[start:end])
    nodes["threshold"] = np.where(leaf, -2.0, packed.threshold[start:end])
    values = np.ascontiguousarray(packed.value[start:end], dtype=np.float64).reshape(m, 1, 1)
    tree = tree_cls(int(packed.n_features), np.ones(1, dtype=np.intp), 1)
    tree.__setstate__({"max_depth": _depth(nodes, leaf), "node_count": m, "nodes": nodes, "values": values})
    return tree


def _depth(nodes: np.ndarray, leaf: np.ndarray) -> int:
    """Tree depth; children always follow their parent, so relaxing level by level converges."""
    depth = np.zeros(len(nodes), dtype=np.int64)
    inner = np.flatnonzero(~leaf)
    while True:
        new = depth.copy()
        new[nodes["left_child"][inner]] = depth[inner] + 1
        new[nodes["right_child"][inner]] = depth[inner] + 1
        if np.array_equal(new, depth):
            return int(depth.max(initial=0))
        depth = new
