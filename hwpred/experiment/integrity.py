"""Self-checking part files: every Parquet part carries a record of what it holds.

The record (Parquet key-value metadata ``hwpred.part``) names the part's id, the config hash of
the store that wrote it, its row count and a SHA-256 of its decoded content. Reading a part
re-decodes it and compares, so a truncated file, random bytes, a flipped bit in the data, a
valid part copied under another unit's name, or a part of another store is recognised and named
instead of being read as a result.

Why a digest of the decoded content and not of the file bytes: the record lives inside the
file it describes. The data pages of a table do not depend on the key-value metadata, so the
table decoded from the final file is the table decoded from an encoding without the record,
and its Arrow IPC serialisation is a canonical form to hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

RECORD_KEY = b"hwpred.part"


def _encode(table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


class _HashSink:
    """A write-only file that hashes what is written to it instead of keeping it."""

    closed = False

    def __init__(self):
        self.hash, self.size = hashlib.sha256(), 0

    def write(self, data) -> int:
        view = memoryview(data)
        self.hash.update(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass


def content_digest(table) -> str:
    """SHA-256 of a table's columns (schema metadata ignored) in Arrow IPC form, hashed as the
    stream is written (a large table is not serialised into memory a second time)."""
    import pyarrow as pa

    table = table.replace_schema_metadata(None).combine_chunks()
    sink = _HashSink()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), table.schema) as writer:
        writer.write_table(table)
    return sink.hash.hexdigest()


def as_table(data):
    """A pyarrow Table from a DataFrame or a Table."""
    import pandas as pd
    import pyarrow as pa

    return pa.Table.from_pandas(data, preserve_index=False) if isinstance(data, pd.DataFrame) else data


def part_bytes(data, part_id: str, owner: str | None) -> bytes:
    """The Parquet bytes of one part, with its integrity record."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = as_table(data)
    decoded = pq.read_table(pa.BufferReader(_encode(table)))
    record = {"id": part_id, "owner": owner, "rows": table.num_rows, "digest": content_digest(decoded)}
    meta = dict(table.schema.metadata or {})
    meta[RECORD_KEY] = json.dumps(record, sort_keys=True).encode()
    return _encode(table.replace_schema_metadata(meta))


@dataclass(frozen=True)
class Verified:
    """The outcome of reading one part file: its table, or why it cannot be trusted."""

    name: str
    table: object | None = None
    problem: str | None = None
    part_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_part(path: Path, expected_name: str | None, owner: str | None, legacy: bool = False) -> Verified:
    """Read ``path`` and check its record: readable, this store's, this unit's, content intact.

    ``expected_name`` is the file name the part's id must map to (None: not checked); ``owner``
    the store's config hash (None: not checked). ``legacy`` accepts a readable part without a
    record (stores written before parts carried one).
    """
    import pyarrow.parquet as pq

    from .._io import part_filename

    name = path.name
    try:
        table = pq.read_table(path)
    except Exception as exc:  # truncated, random bytes, not Parquet, unreadable
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return Verified(name, problem=f"unreadable ({reason})")
    raw = (table.schema.metadata or {}).get(RECORD_KEY)
    if raw is None:
        if legacy:
            return Verified(name, table=table)
        return Verified(name, problem="carries no integrity record (not written by this store)")
    try:
        record = json.loads(raw)
        part_id = str(record["id"])
    except (ValueError, KeyError, TypeError):
        return Verified(name, problem="its integrity record is damaged")
    if expected_name is not None and part_filename(part_id) != expected_name:
        return Verified(name, problem=f"holds the part {part_id!r}, which belongs under another name")
    if owner is not None and record.get("owner") not in (None, owner):
        return Verified(name, problem=f"belongs to another store (config hash {record.get('owner')})")
    if table.num_rows != record.get("rows") or content_digest(table) != record.get("digest"):
        return Verified(name, problem="its content does not match its checksum")
    return Verified(name, table=table, part_id=part_id)
