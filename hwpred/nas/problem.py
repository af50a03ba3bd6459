"""pymoo problems over the search spaces, evaluated a whole population at a time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.core.problem import Problem

from ..spaces import get_space
from .objectives import NASError, Objective


class ArchEncoding:
    """Decision variables <-> architectures. NB201: one integer op per edge. TransNAS macro: one
    integer indexing the list of valid codes, so every point the algorithm makes is a valid
    backbone (the variable-length code never has to be repaired)."""

    def __init__(self, space):
        self.space = get_space(space)
        if self.space.name == "nb201":
            self.n_var, self.xl, self.xu = 6, 0, 4
            self._table = None
        else:
            self._table = np.asarray(self.space.enumerate(), dtype=np.int64)
            self._index = {tuple(a): i for i, a in enumerate(self._table.tolist())}
            self.n_var, self.xl, self.xu = 1, 0, len(self._table) - 1

    def decode(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(np.rint(X), dtype=np.int64).reshape(len(X), self.n_var)
        return X if self._table is None else self._table[X[:, 0]]

    def encode(self, archs: np.ndarray) -> np.ndarray:
        archs = np.asarray(archs, dtype=np.int64)
        if self._table is None:
            return archs
        return np.array([[self._index[tuple(a)]] for a in archs.tolist()], dtype=np.int64)


class ArchProblem(Problem):
    """Minimises every objective (maximised ones negated); optional upper bounds as constraints.

    ``constraints`` maps an objective name to its upper bound (e.g. latency <= 20 ms). Every
    evaluated architecture is kept in an archive, so the search result can be the non-dominated
    set of everything seen, not only of the last population.
    """

    def __init__(self, space, objectives: Sequence[Objective], constraints: dict[str, float] | None = None):
        if len(objectives) < 2:
            raise NASError(
                "a multi-objective problem needs at least two objectives (accuracy and a hardware metric)"
            )
        self.encoding = ArchEncoding(space)
        self.objectives = list(objectives)
        names = [o.name for o in self.objectives]
        self.constraints = dict(constraints or {})
        for name in self.constraints:
            if name not in names:
                raise NASError(f"constraint on {name!r} but the objectives are {names}")
        super().__init__(
            n_var=self.encoding.n_var,
            n_obj=len(self.objectives),
            n_ieq_constr=len(self.constraints),
            xl=self.encoding.xl,
            xu=self.encoding.xu,
            vtype=int,
        )
        self.archive: dict[tuple, np.ndarray] = {}
        self.n_evaluations = 0

    def objective_values(self, archs: np.ndarray) -> np.ndarray:
        """(n, n_obj) values in their natural sense (accuracy as accuracy, latency as latency)."""
        return np.column_stack([o.evaluate(archs) for o in self.objectives])

    def _evaluate(self, X, out, *args, **kwargs):
        archs = self.encoding.decode(X)
        values = self.objective_values(archs)
        self.n_evaluations += len(archs)
        for a, v in zip(archs.tolist(), values):
            self.archive[tuple(a)] = v
        sign = np.array([-1.0 if o.maximize else 1.0 for o in self.objectives])
        out["F"] = values * sign
        if self.constraints:
            idx = {o.name: i for i, o in enumerate(self.objectives)}
            out["G"] = np.column_stack([values[:, idx[n]] - b for n, b in self.constraints.items()])
