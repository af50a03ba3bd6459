"""MetricTable: the one data model. Rows keyed by op tuple, named metric columns, provenance.

Stored as Parquet: an ``arch`` column (list of ints) and one float column per metric; the
space name, provenance and units live in the Parquet schema metadata under ``hwpred``.

A :class:`Dataset` is the one dataset shape the rest of the library uses: a named view of one
column of a MetricTable (what a predictor is fitted on, a study cell scores, a simulation pairs).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_write_bytes
from ..errors import DataError
from ..spaces import Arch, SpaceError, get_space

_META_KEY = b"hwpred"


@dataclass
class MetricTable:
    """Per-architecture metrics of one search space.

    ``archs`` is an (n, positions) int array of valid, unique architectures; ``columns`` maps a
    metric name (e.g. ``raspi4/latency_ms``) to a float array of length n, all finite.
    ``meta`` holds provenance (source, device, software versions, date...) and ``units`` the
    unit of each column.
    """

    space: str
    archs: np.ndarray
    columns: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        sp = get_space(self.space)
        self.space = sp.name
        archs = self.archs
        if not isinstance(archs, np.ndarray) or archs.dtype.kind not in "iu":
            archs = [sp.from_string(a) if isinstance(a, str) else a for a in archs]
        archs = np.asarray(archs, dtype=np.int64)
        if archs.size == 0:  # no rows (e.g. read back from Parquet, where it comes as shape (0,))
            archs = archs.reshape(0, sp.num_positions)
        if archs.ndim != 2 or archs.shape[1] != sp.num_positions:
            raise DataError(
                f"MetricTable archs must be an (n, {sp.num_positions}) array for space {sp.name}, "
                f"got shape {archs.shape}"
            )
        bad = ~sp.valid_mask(archs)
        if bad.any():
            row = archs[np.flatnonzero(bad)[0]]
            raise DataError(f"table holds an invalid {sp.name} architecture {tuple(int(v) for v in row)}")
        # rows as base-num_ops integers: uniqueness with a 1-D sort instead of np.unique(axis=0)
        keys = archs @ (sp.num_ops ** np.arange(sp.num_positions - 1, -1, -1, dtype=np.int64))
        uniq, counts = np.unique(keys, return_counts=True)
        if len(uniq) != len(keys):
            dup = archs[np.flatnonzero(keys == uniq[counts > 1][0])[0]]
            raise DataError(
                f"table holds architecture {tuple(int(v) for v in dup)} more than once; "
                "aggregate duplicate measurements before building a table"
            )
        self.archs = archs
        cols = {}
        for name, values in self.columns.items():
            v = np.asarray(values, dtype=np.float64).reshape(-1)
            if len(v) != len(archs):
                raise DataError(f"column {name!r} has {len(v)} values for {len(archs)} architectures")
            bad = ~np.isfinite(v)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"column {name!r} has {int(bad.sum())} NaN/non-finite value(s), first at "
                    f"architecture {sp.to_string(archs[i])}; drop those rows or fix the source"
                )
            cols[str(name)] = v
        self.columns = cols
        self.meta = dict(self.meta)
        self.units = {k: v for k, v in dict(self.units).items() if k in cols}
        self._index: tuple[np.ndarray, np.ndarray] | None = None  # (sorted row keys, their rows)

    # -- access -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.archs)

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    @property
    def arch_tuples(self) -> list[Arch]:
        return [tuple(int(v) for v in row) for row in self.archs]

    def _row_keys(self, archs: np.ndarray) -> np.ndarray:
        """Each row as one base-``num_ops`` integer (rows must hold values in ``[0, num_ops)``)."""
        sp = get_space(self.space)
        return archs @ (sp.num_ops ** np.arange(sp.num_positions - 1, -1, -1, dtype=np.int64))

    def _query(self, archs) -> np.ndarray:
        """Architectures to look up (an int array, op tuples or arch strings) as an (m, positions) array."""
        sp = get_space(self.space)
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            a = archs.astype(np.int64, copy=False)
        else:
            try:
                a = np.asarray(
                    [sp.from_string(x) if isinstance(x, str) else tuple(int(v) for v in x) for x in archs],
                    dtype=np.int64,
                )
            except (SpaceError, TypeError, ValueError) as exc:
                raise DataError(f"cannot look up these {sp.name} architectures: {exc}") from None
        if a.size == 0:
            a = a.reshape(0, sp.num_positions)
        if a.ndim != 2 or a.shape[1] != sp.num_positions:
            raise DataError(
                f"architectures to look up must be {sp.num_positions}-position {sp.name} op "
                f"tuples, got an array of shape {a.shape}"
            )
        return a

    def _find(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of each architecture, whether the table has it): a join on the op tuple, by sorted keys."""
        if self._index is None:
            keys = self._row_keys(self.archs)
            order = np.argsort(keys, kind="stable")
            self._index = (keys[order], order)
        sorted_keys, order = self._index
        inside = ((archs >= 0) & (archs < get_space(self.space).num_ops)).all(axis=1)
        wanted = self._row_keys(np.where(inside[:, None], archs, 0))
        if not len(sorted_keys):
            return np.zeros(len(archs), dtype=np.int64), np.zeros(len(archs), dtype=bool)
        pos = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
        return order[pos], inside & (sorted_keys[pos] == wanted)

    def rows_of(self, archs) -> np.ndarray:
        """Row numbers of ``archs`` (int array, op tuples or arch strings) in this table, in their order.

        A vectorised join on the op tuple; a DataError names the first architecture the table lacks.
        """
        a = self._query(archs)
        rows, found = self._find(a)
        if not found.all():
            missing = tuple(int(v) for v in a[np.flatnonzero(~found)[0]])
            raise DataError(f"architecture {missing} is not in this {self.space} table")
        return rows

    def index_of(self, arch: Sequence[int]) -> int:
        if len(arch) != get_space(self.space).num_positions:
            raise DataError(f"architecture {tuple(arch)} is not in this {self.space} table")
        return int(self.rows_of([arch])[0])

    def lookup(self, column: str, archs: Iterable[Sequence[int]]) -> np.ndarray:
        col = self.column(column)
        return col[self.rows_of(list(archs) if not isinstance(archs, np.ndarray) else archs)]

    def column(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise DataError(f"no column {name!r} in table; columns: {', '.join(self.columns)}") from None

    def dataset(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """One column as a study dataset: (archs (n, positions) int array, values)."""
        return self.archs.copy(), self.column(column).copy()

    def select(self, columns: Sequence[str]) -> MetricTable:
        return MetricTable(
            self.space, self.archs, {c: self.column(c) for c in columns}, self.meta, self.units
        )

    def subset(self, mask_or_index) -> MetricTable:
        idx = np.asarray(mask_or_index)
        return MetricTable(
            self.space, self.archs[idx], {k: v[idx] for k, v in self.columns.items()}, self.meta, self.units
        )

    def join(self, other: MetricTable, how: str = "inner") -> MetricTable:
        """Join on the op tuple (never on row order). Only inner joins keep every value finite."""
        if how != "inner":
            raise DataError("only inner joins are supported (an outer join would create missing values)")
        if get_space(other.space).name != self.space:
            raise DataError(
                f"cannot join a {self.space} table with a {other.space} table: different search spaces"
            )
        clash = set(self.columns) & set(other.columns)
        if clash:
            raise DataError(f"both tables have column(s) {sorted(clash)}; rename one side before joining")
        theirs, found = other._find(self.archs)  # sorted row keys: no Python object per row
        mine = np.flatnonzero(found)
        if not len(mine):
            raise DataError(f"the two {self.space} tables share no architecture")
        theirs = theirs[mine]
        cols = {k: v[mine] for k, v in self.columns.items()}
        cols.update({k: v[theirs] for k, v in other.columns.items()})
        meta = {"joined": [self.meta, other.meta]}
        return MetricTable._checked_rows(
            self.space, self.archs[mine], cols, meta, {**self.units, **other.units}
        )

    @classmethod
    def _checked_rows(
        cls, space: str, archs: np.ndarray, columns: dict[str, np.ndarray], meta: dict, units: dict[str, str]
    ) -> MetricTable:
        """A table from rows and columns taken out of validated tables (valid, unique, finite
        already), skipping the per-row checks of ``__post_init__``, which would dominate a join."""
        table = cls.__new__(cls)
        table.space, table.archs, table.columns = space, archs, columns
        table.meta = dict(meta)
        table.units = {k: v for k, v in units.items() if k in columns}
        table._index = None
        return table

    def rename(self, mapping: Mapping[str, str]) -> MetricTable:
        cols = {mapping.get(k, k): v for k, v in self.columns.items()}
        units = {mapping.get(k, k): v for k, v in self.units.items()}
        return MetricTable(self.space, self.archs, cols, self.meta, units)

    def to_frame(self) -> pd.DataFrame:
        sp = get_space(self.space)
        df = pd.DataFrame(self.columns)
        df.insert(0, "arch", [sp.to_string(a) for a in self.archs])
        return df

    def summary(self) -> pd.DataFrame:
        rows = []
        for name, v in self.columns.items():
            rows.append(
                {
                    "column": name,
                    "unit": self.units.get(name, ""),
                    "n": len(v),
                    "min": v.min() if len(v) else np.nan,
                    "median": np.median(v) if len(v) else np.nan,
                    "mean": v.mean() if len(v) else np.nan,
                    "max": v.max() if len(v) else np.nan,
                }
            )
        return pd.DataFrame(rows)

    # -- storage ------------------------------------------------------------------------------
    def to_parquet(self, path: str | os.PathLike, compression: str = "snappy") -> Path:
        """Write atomically (temp file + rename), keeping space, provenance and units.

        ``compression`` is Parquet's codec (the shipped tables use ``zstd``: smaller, same values).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        arrays = [pa.array([list(map(int, a)) for a in self.archs], type=pa.list_(pa.int8()))]
        names = ["arch"]
        for k, v in self.columns.items():
            arrays.append(pa.array(v, type=pa.float64()))
            names.append(k)
        meta = {"space": self.space, "meta": self.meta, "units": self.units, "format": 1}
        tbl = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(
            {_META_KEY: json.dumps(meta, default=str).encode()}
        )
        buf = io.BytesIO()
        pq.write_table(tbl, buf, compression=compression)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def read_parquet(cls, path: str | os.PathLike) -> MetricTable:
        import pyarrow.parquet as pq

        path = Path(path)
        if not path.exists():
            raise DataError(f"no table file at {path}")
        try:
            tbl = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for truncated/corrupt files
            raise DataError(
                f"{path} is not a readable Parquet file ({exc}); re-create or re-fetch it"
            ) from None
        raw = (tbl.schema.metadata or {}).get(_META_KEY)
        if raw is None or "arch" not in tbl.column_names:
            raise DataError(
                f"{path} is a Parquet file but not an hwpred MetricTable (no 'hwpred' metadata/arch column)"
            )
        info = json.loads(raw)
        archs = np.asarray(tbl.column("arch").to_pylist(), dtype=np.int64)
        cols = {n: tbl.column(n).to_numpy() for n in tbl.column_names if n != "arch"}
        try:
            return cls(info["space"], archs, cols, info.get("meta", {}), info.get("units", {}))
        except SpaceError as exc:
            raise DataError(f"{path}: {exc}") from None


@dataclass
class Dataset:
    """A named ``(MetricTable, column)`` view: the target a predictor is fitted on and scored against.

    A view, not a copy: ``table`` is shared, and :meth:`arrays` hands out copies. Make one from
    a table with :meth:`Dataset.of`; :func:`hwpred.data.load_dataset` makes one from a name.
    """

    name: str
    table: MetricTable
    column: str

    def __post_init__(self):
        if not isinstance(self.table, MetricTable):
            raise DataError(f"dataset {self.name!r}: expected a MetricTable, got {type(self.table).__name__}")
        if self.column not in self.table.columns:
            raise DataError(
                f"dataset {self.name!r}: no column {self.column!r}; columns: {', '.join(self.table.columns)}"
            )

    @classmethod
    def of(cls, table: MetricTable, column: str, name: str | None = None) -> Dataset:
        """The view of ``table``'s ``column``, named ``name`` (by default the column's name)."""
        return cls(name=column if name is None else name, table=table, column=column)

    @property
    def space(self) -> str:
        return self.table.space

    @property
    def unit(self) -> str:
        return self.table.units.get(self.column, "")

    def __len__(self) -> int:
        return len(self.table)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(archs (n, positions) int array, values) in the table's row order — copies, safe to modify."""
        return self.table.dataset(self.column)

    def lookup(self, archs) -> np.ndarray:
        """Values of ``archs`` (int array, op tuples or arch strings), in the order given.

        A join on the op tuple, never on row order; a DataError names the first architecture
        the table lacks.
        """
        a = self.table._query(archs)
        rows, found = self.table._find(a)
        if not found.all():
            missing = a[np.flatnonzero(~found)[0]]
            key = tuple(int(v) for v in missing)
            sp = get_space(self.space)
            text = f" ({sp.to_string(key)})" if sp.is_valid(key) else ""
            raise DataError(f"dataset {self.name} has no measurement for architecture {key}{text}")
        return self.table.column(self.column)[rows]
