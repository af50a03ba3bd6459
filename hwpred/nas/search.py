"""Multi-objective search (NSGA-II by default, random search as the baseline)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.mutation import Mutation
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.ux import UniformCrossover
from pymoo.optimize import minimize
from pymoo.termination import get_termination
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from .objectives import NASError
from .problem import ArchProblem


class IntegerSampling(Sampling):
    """Uniform integer sampling from pymoo's seeded random state (duplicates are removed by NSGA-II)."""

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        return random_state.integers(problem.xl, problem.xu + 1, size=(n_samples, problem.n_var))


class ResetMutation(Mutation):
    """Categorical mutation: each variable is redrawn (to another value) with probability 1/n_var."""

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        X = np.asarray(X, dtype=np.int64).copy()
        n, m = X.shape
        hit = random_state.random((n, m)) < 1.0 / m
        new = random_state.integers(problem.xl, problem.xu + 1, size=(n, m))
        X[hit] = new[hit]
        return X


@dataclass
class SearchResult:
    archs: np.ndarray  # (k, positions) predicted Pareto set
    values: np.ndarray  # (k, n_obj) predicted objective values, natural sense
    objective_names: list[str]
    n_evaluations: int
    seconds: float
    feasible: bool = True
    message: str = ""
    history: list = field(default_factory=list)


def _front(problem: ArchProblem) -> tuple[np.ndarray, np.ndarray, bool]:
    archs = np.array(list(problem.archive.keys()), dtype=np.int64)
    values = np.array(list(problem.archive.values()), dtype=np.float64)
    feasible = np.ones(len(archs), dtype=bool)
    idx = {o.name: i for i, o in enumerate(problem.objectives)}
    for name, bound in problem.constraints.items():
        feasible &= values[:, idx[name]] <= bound
    if not feasible.any():
        return archs[:0], values[:0], False
    archs, values = archs[feasible], values[feasible]
    sign = np.array([-1.0 if o.maximize else 1.0 for o in problem.objectives])
    front = NonDominatedSorting().do(values * sign, only_non_dominated_front=True)
    order = np.argsort(values[front, 0])
    return archs[front][order], values[front][order], True


def _result(problem, t0, algorithm_name):
    archs, values, ok = _front(problem)
    msg = (
        ""
        if ok
        else (
            f"no evaluated architecture meets the constraints {problem.constraints}; "
            "relax the budget or search longer"
        )
    )
    return SearchResult(
        archs,
        values,
        [o.name for o in problem.objectives],
        problem.n_evaluations,
        time.perf_counter() - t0,
        ok,
        msg or algorithm_name,
    )


def nsga2_search(
    problem: ArchProblem, budget: int = 2000, population: int = 50, seed: int = 0
) -> SearchResult:
    """NSGA-II until ``budget`` architecture evaluations; the result is the predicted Pareto set of
    every architecture evaluated (the archive)."""
    if budget <= 0 or population <= 1:
        raise NASError(
            f"the search needs a positive budget and a population of at least 2 (got budget={budget}, "
            f"population={population})"
        )
    t0 = time.perf_counter()
    algorithm = NSGA2(
        pop_size=population,
        sampling=IntegerSampling(),
        crossover=UniformCrossover(),
        mutation=ResetMutation(),
        eliminate_duplicates=True,
    )
    minimize(problem, algorithm, get_termination("n_eval", budget), seed=seed, verbose=False)
    return _result(problem, t0, "nsga2")


def random_search(problem: ArchProblem, budget: int = 2000, seed: int = 0) -> SearchResult:
    if budget <= 0:
        raise NASError(f"the search needs a positive budget, got {budget}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_space = problem.encoding.xu + 1 if problem.n_var == 1 else 5**6
    budget = min(budget, n_space)
    if problem.n_var == 1:
        X = rng.choice(n_space, size=budget, replace=False)[:, None]
    else:
        idx = rng.choice(n_space, size=budget, replace=False)
        X = np.array([[int(d) for d in np.base_repr(int(i), 5).zfill(6)] for i in idx])
    out: dict = {}
    problem._evaluate(X, out)
    return _result(problem, t0, "random")
