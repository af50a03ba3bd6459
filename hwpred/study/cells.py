"""The study's plan: its datasets in a fixed row order, the seeded splits, and the grid of cells.

A cell is (dataset, predictor, train size, seed). Splits follow the seed study: for a dataset of
n architectures and a seed, one permutation of the (lexicographically ordered) architectures
gives the test set (its first ``test_size`` entries) and the training pool (the rest). A training
set of size k is the first k of the pool, so the test set depends only on (dataset, seed), never
overlaps a training set of that seed, and larger training sets contain the smaller ones.

Reference families (the lookup table) are not trained on random samples: they declare the
architectures they need (``required_archs(space)``), which are looked up in the table; they get
one cell per (dataset, seed) and are scored on the same test set minus those architectures.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError, HwpredError
from .config import StudyConfig, TuningSpec, Validated, validate

if TYPE_CHECKING:
    from ..data import Dataset

_SPLIT_SALT = 0x5EED_201


# ---- datasets ----------------------------------------------------------------------------------
class DatasetMissing(HwpredError):
    """A known dataset whose data is not on this machine (a config may choose to skip it)."""


#: how the data layer words a missing ``file:`` table (a manifest file neither cached nor in the
#: mirror raises FileUnavailable)
_NO_FILE = "no table file at "
_CACHE: dict[str, Dataset] = {}
_LOCK = threading.Lock()


def study_dataset(name: str) -> Dataset:
    """Load a dataset once per process, as a view whose rows are in lexicographic op-tuple order, so
    that a split depends on the set of architectures and the seed only, never on a file's row order.

    A worker runs many cells of the same dataset, and loading a 15,625-row table for each cell would
    dominate small cells.
    """
    with _LOCK:
        ds = _CACHE.get(name)
        if ds is None:
            ds = _CACHE[name] = _load(name)
        return ds


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _load(name: str) -> Dataset:
    from ..data import Dataset, load_dataset
    from ..data.fetching import FileUnavailable

    try:
        ds = load_dataset(name)
    except (FileNotFoundError, FileUnavailable) as exc:
        raise DatasetMissing(str(exc)) from None
    except DataError as exc:
        if _NO_FILE in str(exc):
            raise DatasetMissing(str(exc)) from None
        raise
    order = np.lexsort(ds.table.archs.T[::-1])
    return Dataset.of(ds.table.select([ds.column]).subset(order), ds.column, name=name)


# ---- splits ------------------------------------------------------------------------------------
def split(n: int, test_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(test indices, training pool in draw order) for a dataset of n rows and a seed.

    Read-only arrays, cached: every predictor and training size of a (dataset, seed) shares them,
    and drawing the permutation would otherwise be a sizeable part of a cheap cell.
    """
    if not 0 < test_size < n:
        raise ValueError(f"test_size {test_size} must be in (0, {n})")
    return _split(int(n), int(test_size), int(seed))


@functools.lru_cache(maxsize=256)
def _split(n: int, test_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_SALT])).permutation(n)
    perm.setflags(write=False)
    return perm[:test_size], perm[test_size:]


def train_indices(n: int, test_size: int, seed: int, size: int) -> np.ndarray:
    _, pool = split(n, test_size, seed)
    if size > len(pool):
        raise ValueError(f"train size {size} exceeds the {len(pool)} architectures outside the test set")
    return pool[:size]


# ---- the grid of cells -------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One unit of work; small and picklable, so that it travels to any worker."""

    study: str
    config_hash: str
    dataset: str
    test_size: int
    predictor: str
    params_json: str  # fixed hyper-parameters from the config, JSON (hashable, picklable)
    tuning: TuningSpec
    train_size: int
    seed: int
    reference: bool = False
    score_unmeasured: bool = False  # also Spearman over every architecture outside the training set

    @property
    def cell_id(self) -> str:
        return f"{self.dataset}|{self.predictor}|n{self.train_size}|s{self.seed}"

    @property
    def params(self) -> dict[str, Any]:
        return json.loads(self.params_json)


@dataclass
class Grid:
    cells: list[Cell]
    notes: list[str]  # cells left out, and why (reported, not fatal)


def reference_archs(predictor: str, space: str) -> np.ndarray | None:
    """The architectures a reference family is fitted on, or None for a learning family."""
    from ..predictors.registry import get_class
    from ..spaces import as_arch_array, get_space

    cls = get_class(predictor)
    req = getattr(cls, "required_archs", None)
    if req is None:
        return None
    sp = get_space(space)
    return as_arch_array(list(req(sp.name)), sp)


def build_grid(v: Validated) -> Grid:
    """All cells of a validated config, in a longest-first order (the pool then balances best)."""
    from ..predictors.registry import get_class

    cfg: StudyConfig = v.config
    cells: list[Cell] = []
    notes: list[str] = []
    for name, why in v.skipped.items():
        notes.append(f"dataset {name} skipped: {why}")
    for d in v.datasets:
        space = v.spaces[d.name]
        for p in cfg.predictors:
            cls = get_class(p.name)
            params = json.dumps(dict(p.params), sort_keys=True, default=str)

            def cell(size: int, seed: int, reference: bool = False, d=d, p=p, params=params) -> Cell:
                return Cell(
                    cfg.name,
                    cfg.config_hash,
                    d.name,
                    d.test_size,
                    p.name,
                    params,
                    p.tuning,
                    size,
                    seed,
                    reference=reference,
                    score_unmeasured=cfg.score_unmeasured,
                )

            req = reference_archs(p.name, space)
            if req is not None:
                try:
                    study_dataset(d.name).lookup(req)
                except Exception as exc:
                    notes.append(
                        f"{p.name} on {d.name} skipped: it needs its {len(req)} reference "
                        f"architectures measured ({exc})"
                    )
                    continue
                cells.extend(cell(len(req), seed, reference=True) for seed in cfg.seeds)
                continue
            min_n = int(getattr(cls, "min_samples", 2))
            small = [s for s in d.train_sizes if s < min_n]
            if small:
                notes.append(
                    f"{p.name} on {d.name}: train size(s) {small} skipped, the family needs >= {min_n}"
                )
            cells.extend(cell(size, seed) for size in d.train_sizes if size >= min_n for seed in cfg.seeds)
    cells.sort(key=lambda c: (-c.train_size, c.predictor, c.dataset, c.seed))
    return Grid(cells, notes)


def plan(cfg: StudyConfig) -> tuple[Validated, Grid]:
    """Every check, then the grid; nothing runs and nothing is written but the output folder.

    Parameters
    ----------
    cfg : StudyConfig
        A parsed config (:func:`~hwpred.study.parse_config` or :func:`~hwpred.study.load_config`).

    Returns
    -------
    (Validated, Grid)
        The config checked against this machine (which datasets run, which are skipped), and
        every cell with the notes on cells left out.
    """
    v = validate(cfg)
    return v, build_grid(v)
