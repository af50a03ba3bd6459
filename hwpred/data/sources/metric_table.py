"""MetricTable Parquet files taken as they are: tables hwpred wrote itself (its measured latency tables).

Format ``metric-table``: the manifest's ``tables`` mapping gives each table's name (the dataset
is ``<prefix>:<name>``), its ``file`` (mirror-relative), the file's ``sha256`` and ``size``, its
``space``, its default ``column`` and ``unit``, the other ``columns`` a name returns, a
``description`` and a ``provenance`` summary. Nothing is converted: a file is read only after its
sha256 matches the manifest, with :meth:`MetricTable.read_parquet` (Parquet and JSON, never a
pickle), and its values, columns and metadata are the file's.

A shipped table of this format is the manifest's file itself (:data:`VERBATIM`), so it carries no
stamp of its own; :mod:`hwpred.data.shipped` checks its bytes against the manifest's sha256 instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ...errors import DataError
from ..table import MetricTable
from . import Manifest, NamedSpec, require_sha256

#: the shipped file is the manifest's file, byte for byte (not an importer's output)
VERBATIM = True


def _entry(manifest: Manifest, name: str) -> dict:
    entry = manifest.tables.get(name)
    if entry is None:
        raise DataError(f"manifest {manifest.source_path} has no table {name!r}")
    for key in ("file", "sha256", "column"):
        if not entry.get(key):
            raise DataError(f"manifest {manifest.source_path}: tables.{name} needs {key!r}")
    return entry


def read_table(path: str | Path, sha256: str, what: str) -> MetricTable:
    """The MetricTable in ``path``, once the file's sha256 is ``sha256``."""
    require_sha256(path, sha256, what)
    return MetricTable.read_parquet(path)


def datasets(manifest: Manifest) -> list[NamedSpec]:
    if not manifest.prefix:
        raise DataError(
            f"manifest {manifest.source_path}: a metric-table manifest needs a 'prefix' (its names' "
            "first part, e.g. 'hwpred' for hwpred:<name>)"
        )
    out = []
    for name in sorted(manifest.tables):
        entry = _entry(manifest, name)
        column = str(entry["column"])
        columns = tuple(dict.fromkeys([column, *(str(c) for c in entry.get("columns") or ())]))
        out.append(
            NamedSpec(
                name=f"{manifest.prefix}:{name}",
                table_key=f"{manifest.id}/{name}",
                column=column,
                description=str(entry.get("description") or f"{manifest.title}: {name}"),
                files=(str(entry["file"]),),
                manifest=manifest.id,
                columns=columns,
                unit=str(entry.get("unit", "")),
            )
        )
    return out


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    out = {}
    for key in table_keys:
        name = key.split("/", 1)[-1]
        entry = _entry(manifest, name)
        rel = str(entry["file"])
        if rel not in files:
            raise DataError(f"{manifest.prefix}:{name}: its file {rel} is not among the fetched files")
        table = read_table(files[rel], str(entry["sha256"]), f"{manifest.prefix}:{name}")
        space = entry.get("space")
        if space and table.space != space:
            raise DataError(
                f"{manifest.prefix}:{name}: {rel} is a {table.space} table, its manifest says {space}"
            )
        missing = [c for c in (entry["column"], *(entry.get("columns") or ())) if c not in table.columns]
        if missing:
            raise DataError(
                f"{manifest.prefix}:{name}: {rel} has no column(s) {missing}; columns: {table.column_names}"
            )
        out[key] = table
    return out
