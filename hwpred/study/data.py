"""Study datasets as the grid needs them, loaded once per process.

A worker runs many cells of the same dataset; loading (and validating) a 15,625-row table for
each cell would dominate small cells, so every process keeps the datasets it has seen. Rows are
put in lexicographic op-tuple order, so that a split depends on the set of architectures and the
seed only, never on the row order of a file.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, HwpredError


class DatasetMissing(HwpredError):
    """A known dataset whose data is not on this machine (a config may choose to skip it)."""


@dataclass(frozen=True)
class StudyDataset:
    name: str
    space: str
    archs: np.ndarray  # (n, positions) int64, lexicographically sorted
    y: np.ndarray      # (n,) float64
    table: object      # the MetricTable, for look-ups (the LUT's required architectures)
    column: str

    def lookup(self, archs: np.ndarray) -> np.ndarray:
        """Values of the given architectures; DataError naming the first one the table lacks."""
        idx = {tuple(int(v) for v in row): i for i, row in enumerate(self.archs)}
        out = np.empty(len(archs))
        for k, row in enumerate(np.asarray(archs)):
            key = tuple(int(v) for v in row)
            if key not in idx:
                raise DataError(f"dataset {self.name} has no measurement for architecture {key}")
            out[k] = self.y[idx[key]]
        return out


_CACHE: dict[str, StudyDataset] = {}
_LOCK = threading.Lock()


def load_study_dataset(name: str) -> StudyDataset:
    """Load (once per process) a registry dataset or ``file:<path>#<column>``."""
    with _LOCK:
        ds = _CACHE.get(name)
        if ds is None:
            ds = _load(name)
            _CACHE[name] = ds
        return ds


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _load(name: str) -> StudyDataset:
    table, column = _table_and_column(name)
    archs, y = table.dataset(column)
    order = np.lexsort(archs.T[::-1])
    return StudyDataset(name=name, space=table.space, archs=np.ascontiguousarray(archs[order]),
                        y=np.ascontiguousarray(y[order]), table=table, column=column)


def _table_and_column(name: str):
    if name.startswith("file:"):
        return _from_file(name)
    try:
        from ..data.names import describe, load_dataset  # the named-dataset registry
    except ImportError:
        raise DatasetMissing(f"the dataset registry (hwpred.data.registry) is not available in this build, "
                             f"so {name!r} cannot be resolved; use file:<table.parquet>#<column>") from None
    try:
        info = describe(name)  # unknown names fail here, without touching any data
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    if not info.get("available", True) and not info.get("cached", False):
        where = info.get("path") or ", ".join(info.get("files", [])) or "its files"
        raise DatasetMissing(f"its data ({where}) is neither cached nor in the mirror "
                             "(set HWPRED_DATA_MIRROR, or `hwpred data fetch NAME`)")
    try:
        ds = load_dataset(name)
    except FileNotFoundError as exc:
        raise DatasetMissing(str(exc)) from None
    return ds.table, ds.column


def _from_file(name: str):
    from ..data import MetricTable

    spec = name[len("file:"):]
    if "#" not in spec:
        raise ConfigError(f"dataset {name!r}: write file:<table.parquet>#<column>, the column after '#'")
    path, column = spec.rsplit("#", 1)
    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetMissing(f"no table file at {p}")
    table = MetricTable.read_parquet(p)
    if column not in table.columns:
        raise ConfigError(f"dataset {name!r}: table {p} has no column {column!r}; columns: "
                          f"{', '.join(table.column_names)}")
    return table, column
