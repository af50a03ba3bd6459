"""The converted-table cache: each imported table once as ``$HWPRED_HOME/cache/tables/<key>.parquet``.

A cached table carries a stamp (importer version, manifest id, the sha256 of every file it was
built from), and a record beside it (``<key>.json``: the table file's sha256 and row count, taken
when it was built). A table whose stamp no longer matches its manifest, whose bytes or row count
differ from its record (a truncated, edited or swapped file, even a valid table of another
dataset), or that cannot be read back, is rebuilt from the verified raw files, never trusted.
Later loads read only the columns they need.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..spaces import get_space
from .fetching import ensure_file
from .locations import cache_dir
from .manifests import catalog, file_entry
from .sources import IMPORTER_VERSION, NamedSpec, importer
from .table import MetricTable

log = logging.getLogger(__name__)


def table_path(key: str) -> Path:
    return cache_dir() / "tables" / f"{key}.parquet"


def record_path(table_file: Path) -> Path:
    return table_file.with_suffix(".json")


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_record(table_file: Path, table: MetricTable, built_from: dict) -> None:
    """Record what a cached table file must hash to and hold, beside it."""
    from .._io import atomic_write_bytes

    doc = {"sha256": _file_sha256(table_file), "rows": len(table), "built_from": built_from}
    atomic_write_bytes(record_path(table_file), json.dumps(doc, indent=1).encode())


def matches_record(table_file: Path, built_from: dict) -> bool:
    """Whether a cached table file is the one its record describes (bytes, rows, raw files)."""
    import pyarrow.parquet as pq

    try:
        rec = json.loads(record_path(table_file).read_text())
        if rec.get("built_from") != built_from or _file_sha256(table_file) != rec.get("sha256"):
            return False
        return pq.ParquetFile(table_file).metadata.num_rows == rec.get("rows")
    except (OSError, ValueError, TypeError):
        return False
    except Exception:  # noqa: BLE001 - pyarrow's errors for a file that is not Parquet
        return False


def stamp(spec: NamedSpec) -> dict:
    """What a cached table must have been built from to be used for ``spec``."""
    return {
        "importer": IMPORTER_VERSION,
        "manifest": spec.manifest,
        "files": {rel: file_entry(rel, spec.manifest).sha256 for rel in spec.files},
    }


_TABLE_FIELDS: frozenset[str] | None = None


def _fast_table(
    space: str, archs: np.ndarray, cols: dict[str, np.ndarray], meta: dict, units: dict
) -> MetricTable:
    """Rebuild a MetricTable read back from our own cache with vectorised checks.

    MetricTable's constructor validates row by row (~0.1 s per 15k rows); the cached files were
    written from validated tables, so we re-check the same invariants (valid, unique archs, finite
    values) with numpy and skip the per-row pass. Falls back to the constructor when unsure.
    """
    global _TABLE_FIELDS
    sp = get_space(space)
    ok = (
        archs.ndim == 2
        and archs.shape[1] == sp.num_positions
        and all(np.isfinite(v).all() for v in cols.values())
    )
    if ok and len(archs):
        codes = np.zeros(len(archs), dtype=np.int64)
        for j in range(archs.shape[1]):
            codes = codes * 16 + archs[:, j]
        ok = archs.min() >= 0 and archs.max() < 16 and len(np.unique(codes)) == len(archs)
        if ok and sp.name == "nb201":
            ok = bool(archs.max() < 5)
        elif ok:
            uniq = np.unique(archs, axis=0)
            ok = all(sp.is_valid(tuple(int(v) for v in row)) for row in uniq)
    if _TABLE_FIELDS is None:
        probe = MetricTable("nb201", np.zeros((1, 6), dtype=np.int64), {"x": np.zeros(1)})
        _TABLE_FIELDS = frozenset(vars(probe))
    expected = {f.name for f in fields(MetricTable)} | {"_index"}
    if not ok or _TABLE_FIELDS != expected:
        return MetricTable(space, archs, cols, meta, units)
    t = object.__new__(MetricTable)
    t.space, t.archs, t.columns = sp.name, archs.astype(np.int64, copy=False), cols
    t.meta, t.units = dict(meta), {k: v for k, v in units.items() if k in cols}
    t._index = None
    return t


def read_table_file(
    path: Path, columns: Iterable[str] | None = None, stamp: dict | None = None, trusted: bool = True
) -> MetricTable | None:
    """Read a cached table (only ``columns``); None if absent, unreadable or built from other files."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    try:
        pf = pq.ParquetFile(path)
        raw = (pf.schema_arrow.metadata or {}).get(b"hwpred")
        if raw is None:
            return None
        info = json.loads(raw)
        meta = info.get("meta", {})
        if stamp is not None and meta.get("hwpred_cache") != stamp:
            return None
        names = [n for n in pf.schema_arrow.names if n != "arch"]
        want = list(columns) if columns is not None else names
        missing = [c for c in want if c not in names]
        if missing:
            raise DataError(f"cached table {path} has no column(s) {missing}; columns: {names}")
        tbl = pf.read(columns=["arch", *want])
        arch_col = tbl.column("arch").combine_chunks()
        width = get_space(info["space"]).num_positions
        flat = arch_col.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
        if len(flat) != len(arch_col) * width:
            return None
        archs = flat.reshape(len(arch_col), width)
        cols = {c: tbl.column(c).to_numpy().astype(np.float64, copy=False) for c in want}
    except DataError:
        raise
    except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt, not fatal
        return None
    if trusted:
        return _fast_table(info["space"], archs, cols, meta, info.get("units", {}))
    return MetricTable(info["space"], archs, cols, meta, info.get("units", {}))


def build_tables(spec: NamedSpec, upstream: bool = False, force: bool = False) -> None:
    """Fetch the spec's files (verified) and convert them to cached Parquet tables."""
    ms, specs = catalog()
    manifest = ms[spec.manifest]
    files = {rel: ensure_file(rel, spec.manifest, upstream=upstream, force=force) for rel in spec.files}
    keys = sorted(
        {s.table_key for s in specs.values() if s.manifest == spec.manifest and set(s.files) <= set(files)}
        | {spec.table_key}
    )
    tables = importer(manifest.format).build(manifest, files, keys)
    if spec.table_key not in tables:
        part = spec.table_key.split("/", 1)[-1]
        found = ", ".join(k.split("/", 1)[-1] for k in tables) or "nothing"
        raise DataError(
            f"{spec.name}: {', '.join(spec.files)} hold(s) no {part!r} data (found: {found}); "
            "the file is incomplete or another version of the benchmark"
        )
    for key, table in tables.items():
        owner = next((s for s in specs.values() if s.table_key == key), spec)
        table.meta["hwpred_cache"] = stamp(owner)
        table.meta.setdefault("imported", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        write_record(table.to_parquet(table_path(key)), table, table.meta["hwpred_cache"])


def _verified_read(spec: NamedSpec, columns: Iterable[str] | None) -> MetricTable | None:
    current = stamp(spec)
    path = table_path(spec.table_key)
    if not path.is_file():
        return None
    if not matches_record(path, current):
        log.warning("cached table %s does not match its record; rebuilding it from the raw files", path)
        return None
    return read_table_file(path, columns, current)


def is_current(spec: NamedSpec) -> bool:
    """Whether the spec's table is cached, matches its record and was built from the files its manifest names now."""
    return _verified_read(spec, []) is not None


def spec_table(spec: NamedSpec, columns: Iterable[str] | None) -> MetricTable:
    """The spec's table (only ``columns``), built into the cache first when it is not current."""
    current = stamp(spec)
    path = table_path(spec.table_key)
    table = _verified_read(spec, columns)
    if table is None:
        build_tables(spec)
        table = read_table_file(path, columns, current)
        if table is None:
            raise DataError(f"could not read back the cached table {path}; delete {cache_dir()} and retry")
    return table


def clear_cache() -> None:
    """Remove every cached file and table (the local-table index is kept)."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
