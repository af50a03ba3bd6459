"""Random Forest (scikit-learn), saved as plain node arrays instead of a pickled estimator.

scikit-learn has no non-pickle format for fitted trees, so after fitting we copy every tree's
node arrays (children, split feature, threshold, leaf value) into one packed forest and predict
from those arrays ourselves, vectorised over all trees at once. The same code runs before and
after loading, so a loaded forest gives bit-identical predictions; ``tests`` also check it
agrees with scikit-learn's own ``predict``. :class:`PackedTrees` is shared with NGBoost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Predictor, PredictorError

TREES_FILE = "trees.npz"


@dataclass
class PackedTrees:
    """Many regression trees in flat arrays; node ``k`` of tree ``t`` is ``roots[t] + k``.

    ``left``/``right`` are global node indices (-1 at leaves); ``value`` is the leaf output.
    """

    left: np.ndarray  # int64
    right: np.ndarray  # int64
    feature: np.ndarray  # int64 (-2 at leaves)
    threshold: np.ndarray  # float64
    value: np.ndarray  # float64
    roots: np.ndarray  # int64, one per tree
    n_features: int

    @classmethod
    def from_sklearn(cls, trees: Sequence[Any], n_features: int) -> PackedTrees:
        parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("left", "right", "feature", "threshold", "value")
        }
        roots, offset = [], 0
        for est in trees:
            t = est.tree_
            if t.value.shape[1] != 1 or t.value.shape[2] != 1:
                raise PredictorError("only single-output regression trees can be packed")
            n = t.node_count
            leaf = t.children_left < 0
            parts["left"].append(np.where(leaf, -1, t.children_left + offset).astype(np.int64))
            parts["right"].append(np.where(leaf, -1, t.children_right + offset).astype(np.int64))
            parts["feature"].append(np.where(leaf, -2, t.feature).astype(np.int64))
            parts["threshold"].append(t.threshold.astype(np.float64))
            parts["value"].append(t.value[:, 0, 0].astype(np.float64))
            roots.append(offset)
            offset += n
        packed = cls(
            **{k: np.concatenate(v) for k, v in parts.items()},
            roots=np.asarray(roots, dtype=np.int64),
            n_features=int(n_features),
        )
        from ._native_trees import NativeTrees

        # the fitted trees are scikit-learn's already: predict with them until a save/load round trip
        packed.__dict__["_native_cache"] = NativeTrees([est.tree_ for est in trees], packed.roots)
        return packed

    def leaf_values(self, X: np.ndarray, trees: np.ndarray | None = None) -> np.ndarray:
        """(n_samples, n_trees) leaf outputs; the split test is scikit-learn's ``float32(x) <= threshold``.

        ``trees`` (indices) evaluates only those trees, e.g. NGBoost's location trees. The walk runs
        in scikit-learn's compiled tree code when the arrays can be handed to it (see
        :mod:`._native_trees`), else in numpy; both reach the same leaves, so the values are identical.
        """
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise PredictorError(
                f"trees were fitted on {self.n_features} features, got input of shape {X.shape}"
            )
        idx = np.arange(len(self.roots)) if trees is None else np.asarray(trees, dtype=np.int64)
        native = self._native()
        if native is not None:
            leaves = native.leaves(np.ascontiguousarray(X), idx)
        else:
            leaves = self.walk(X, self.roots[idx])
        return self.value[leaves]

    def walk(self, X: np.ndarray, roots: np.ndarray) -> np.ndarray:
        """(n_samples, len(roots)) global leaf indices, in numpy.

        Walks all (sample, tree) pairs at once and drops pairs from the active set as they reach a
        leaf, so the cost follows the real path lengths rather than the deepest tree.
        """
        n, t = X.shape[0], len(roots)
        leaf = self.left < 0
        child = np.stack([self.left, self.right], axis=1).ravel()
        xflat = X.ravel()
        rowoff = np.repeat(np.arange(n, dtype=np.int64) * X.shape[1], t)
        cur = np.tile(roots, n)
        active = np.flatnonzero(~leaf[cur])
        while active.size:
            nd = cur[active]
            go_right = xflat[rowoff[active] + self.feature[nd]] > self.threshold[nd]
            nxt = child[2 * nd + go_right]
            cur[active] = nxt
            active = active[~leaf[nxt]]
        return cur.reshape(n, t)

    def _native(self):
        """scikit-learn trees rebuilt from these arrays (cached), or None where that is not possible."""
        cached = self.__dict__.get("_native_cache")
        if cached is None:
            from ._native_trees import NativeTrees

            cached = self.__dict__["_native_cache"] = NativeTrees.build(self) or False
        return cached or None

    def save(self, path: Path) -> None:
        np.savez(
            path,
            allow_pickle=False,
            left=self.left,
            right=self.right,
            feature=self.feature,
            threshold=self.threshold,
            value=self.value,
            roots=self.roots,
            n_features=np.asarray(self.n_features, dtype=np.int64),
        )

    @classmethod
    def load(cls, path: Path) -> PackedTrees:
        with np.load(path, allow_pickle=False) as z:
            out = cls(
                left=z["left"],
                right=z["right"],
                feature=z["feature"],
                threshold=z["threshold"],
                value=z["value"],
                roots=z["roots"],
                n_features=int(z["n_features"]),
            )
        out.check()
        return out

    def check(self) -> None:
        """Reject a damaged file before it can index out of bounds or loop forever."""
        m = len(self.left)
        if not (len(self.right) == len(self.feature) == len(self.threshold) == len(self.value) == m):
            raise PredictorError("packed trees: node arrays differ in length")
        inner = self.left >= 0
        if (
            np.any(self.left >= m)
            or np.any(self.right >= m)
            or np.any(inner != (self.right >= 0))
            or np.any(self.roots < 0)
            or np.any(self.roots >= max(m, 1))
            or np.any(inner & ((self.feature < 0) | (self.feature >= self.n_features)))
            or np.any(inner & ((self.left <= np.arange(m)) | (self.right <= np.arange(m))))
        ):
            raise PredictorError("packed trees: node arrays are inconsistent (damaged file?)")
        if not (np.all(np.isfinite(self.value)) and np.all(np.isfinite(self.threshold[inner]))):
            raise PredictorError("packed trees: non-finite values (damaged file?)")


class RandomForestPredictor(Predictor):
    name: ClassVar[str] = "rf"
    family: ClassVar[str] = "Random Forest"
    default_encoding: ClassVar[str] = "onehot"
    differentiable: ClassVar[bool] = False
    min_samples: ClassVar[int] = 2

    def __init__(
        self,
        n_estimators: int = 116,
        max_features: float = 0.17,
        min_samples_leaf: int = 2,
        min_samples_split: int = 2,
        space: str = "nb201",
        random_state: int = 0,
    ):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.min_samples_split = min_samples_split
        self.space = space
        self.random_state = random_state

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 16, 128, log=True),
            "max_features": trial.suggest_float("max_features", 0.1, 0.9, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 20),
            "min_samples_split": trial.suggest_int("min_samples_split", 2, 20, log=True),
        }

    def _make_model(self):
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=int(self.n_estimators),
            max_features=float(self.max_features),
            min_samples_leaf=int(self.min_samples_leaf),
            min_samples_split=int(self.min_samples_split),
            random_state=int(self.random_state),
            n_jobs=1,
        )

    def _fit(self, X, z: np.ndarray, archs: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float32)
        model = self._make_model().fit(X, z)
        self.trees_ = PackedTrees.from_sklearn(model.estimators_, X.shape[1])

    def _predict(self, X, archs: np.ndarray) -> np.ndarray:
        return self.trees_.leaf_values(X).mean(axis=1)

    def _state(self, folder: Path) -> dict:
        self.trees_.save(folder / TREES_FILE)
        return {"file": TREES_FILE, "n_trees": len(self.trees_.roots), "n_nodes": len(self.trees_.left)}

    def _load_state(self, folder: Path, state: dict) -> None:
        trees = PackedTrees.load(folder / state.get("file", TREES_FILE))
        if len(trees.roots) != int(state["n_trees"]) or len(trees.left) != int(state["n_nodes"]):
            raise PredictorError(
                f"{folder / TREES_FILE}: holds {len(trees.roots)} trees / {len(trees.left)} nodes, "
                f"predictor.json says {state['n_trees']} / {state['n_nodes']}"
            )
        self.trees_ = trees
