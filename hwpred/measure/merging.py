"""One table from several measured with the same protocol on the same kind of machine: shards of a
space measured side by side (one process per core, or one board each), or a run continued in a
new file.

Nothing is averaged: the shards' architectures must be disjoint, so every row of the merged table
is exactly one shard's row. The shards must agree on everything that would make their figures
incomparable (space, columns and units, the measurement protocol, and the machine's fingerprint:
CPU or GPU model, torch and runtime versions, threads, batch and input size); the merged table
keeps each shard's own provenance (its measure block, its reference drift, its file's sha256).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.sources import sha256_file
from ..data.table import MetricTable
from .device import fingerprint
from .tables import SOURCE
from .timers import MeasureError


def _read(path: Path) -> MetricTable:
    if not path.is_file():
        raise MeasureError(f"{path} does not exist")
    try:
        table = MetricTable.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear error
        raise MeasureError(f"{path} is not a readable measured table: {exc}") from None
    if table.meta.get("source") != SOURCE or "measure" not in table.meta:
        raise MeasureError(
            f"{path} was not written by hwpred measure (source {table.meta.get('source')!r}); "
            "only measured tables can be merged"
        )
    return table


def _first_difference(a: dict, b: dict) -> str:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            return f"{k}: {a.get(k)!r} vs {b.get(k)!r}"
    return ""


def merge_measured(paths: Sequence[str | os.PathLike]) -> MetricTable:
    """The union of measured tables with disjoint architectures and one protocol and machine kind."""
    files = [Path(p) for p in paths]
    if len(files) < 2:
        raise MeasureError("merging needs at least two measured tables")
    if len({f.resolve() for f in files}) < len(files):
        raise MeasureError("the same table is named twice")
    tables = [_read(f) for f in files]
    first, ref = tables[0], files[0]
    protocol = first.meta["measure"].get("protocol")
    machine = fingerprint(first.meta.get("device", {}))
    seen: dict[tuple, Path] = {}
    for f, t in zip(files, tables, strict=True):
        if t.space != first.space:
            raise MeasureError(f"{f} is a table of {t.space}, {ref} of {first.space}")
        other = t.meta["measure"].get("protocol")
        if other != protocol:
            raise MeasureError(
                f"{f} was measured with another protocol than {ref} "
                f"({_first_difference(protocol or {}, other or {})})"
            )
        fp = fingerprint(t.meta.get("device", {}))
        if fp != machine:
            raise MeasureError(
                f"{f} was measured on another machine or software than {ref} "
                f"({_first_difference(machine, fp)})"
            )
        if t.column_names != first.column_names or t.units != first.units:
            raise MeasureError(
                f"{f} has columns {t.column_names}, {ref} has {first.column_names}: not measured the same way"
            )
        for arch in t.arch_tuples:
            if arch in seen:
                raise MeasureError(
                    f"{first.space} architecture {arch} is in both {seen[arch]} and {f}; "
                    "shards must be disjoint (nothing is averaged)"
                )
            seen[arch] = f
    archs = np.concatenate([t.archs for t in tables])
    order = np.lexsort(archs.T[::-1])
    columns = {c: np.concatenate([t.column(c) for t in tables])[order] for c in first.column_names}
    shards = [
        {
            "file": f.name,
            "sha256": sha256_file(f),
            "rows": len(t),
            "measure": t.meta["measure"],
            "reference": t.meta.get("reference"),
            "date": t.meta.get("device", {}).get("date"),
            "failed": t.meta.get("failed", []),
        }
        for f, t in zip(files, tables, strict=True)
    ]
    measures = [t.meta["measure"] for t in tables]
    meta = {
        "source": SOURCE,
        "device": first.meta.get("device", {}),
        "measure": {
            "protocol": protocol,
            "complete": all(m.get("complete") for m in measures),
            "requested": sum(int(m.get("requested") or 0) for m in measures),
            "rows": int(len(archs)),
            "failed": sum(int(m.get("failed") or 0) for m in measures),
            "jobs_done": sum(int(m.get("jobs_done") or 0) for m in measures),
            "wall_s": max(float(m.get("wall_s") or 0.0) for m in measures),
            "order": f"{len(tables)} disjoint shards, each: {measures[0].get('order')}",
        },
        "reference": first.meta.get("reference"),
        "failed": [row for t in tables for row in t.meta.get("failed", [])],
        "energy": first.meta.get("energy"),
        "merged": {"shards": shards},
    }
    return MetricTable(first.space, archs[order], columns, meta, dict(first.units))


__all__ = ["merge_measured"]
