"""Tables shipped inside the package: real data that loads with no mirror and no network.

Only tables whose licence allows redistribution are shipped (:data:`SHIPPED_MANIFESTS`: HELP's
latency tables, MIT; NAS-Bench-Suite-Zero's zero-cost tables, Apache-2.0; hwpred's own measured
tables, MIT), each with its licence text and citation in ``hwpred/resources/tables/<manifest>/``.
A shipped table of a public dataset is the importer's output for the upstream files, written in
the cache's own format (``<manifest>/<table>.parquet`` plus a ``.json`` record of its sha256, row
count and the stamp of the upstream files it was built from), so the values are the upstream
files' values as imported. A measured table (format ``metric-table``) ships as the file
``hwpred measure`` wrote, byte for byte, with the same record; its manifest entry holds the same
sha256.

A shipped table is used for a name only while its stamp equals what the name's manifest and
importer would build now (the same upstream sha256s, the same importer version) and its bytes
match its record (for a measured table: and its manifest's sha256); otherwise the name falls back
to the cache and the mirror, as unshipped names do. ``python -m hwpred.data.ship`` regenerates
the converted tables from the mirror and adds measured ones (``--measured``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from .._resources import resource_dir
from .cache import matches_record, read_table_file, record_path, stamp
from .manifests import catalog
from .sources import NamedSpec, importer
from .table import MetricTable

log = logging.getLogger(__name__)

#: manifests whose tables ship in the wheel (licence allows redistribution), with that licence
SHIPPED_MANIFESTS: dict[str, str] = {
    "help-nb201": "MIT",
    "zc-nasbench201": "Apache-2.0",
    "zc-transnas-macro": "Apache-2.0",
    "hwpred-measured": "MIT",
}


def shipped_dir() -> Path:
    """``hwpred/resources/tables`` of the installed package."""
    return resource_dir("tables")


def shipped_path(table_key: str) -> Path:
    return shipped_dir() / f"{table_key}.parquet"


def ships_verbatim(manifest_id: str) -> bool:
    """Whether a manifest's shipped tables are its own files (measured tables), not an importer's output."""
    return bool(getattr(importer(catalog()[0][manifest_id].format), "VERBATIM", False))


def _is_manifest_file(path: Path, current: dict) -> bool:
    """A verbatim table's record names the file its manifest lists: one file, the same sha256."""
    try:
        sha = json.loads(record_path(path).read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        return False
    return list(current["files"].values()) == [sha]


def is_shipped(spec: NamedSpec) -> bool:
    """Whether the package holds a current table for ``spec`` (built from, or being, its manifest's files)."""
    path = shipped_path(spec.table_key)
    if spec.manifest not in SHIPPED_MANIFESTS or not path.is_file():
        return False
    current = stamp(spec)
    if not matches_record(path, current):
        return False
    return not ships_verbatim(spec.manifest) or _is_manifest_file(path, current)


def shipped_table(spec: NamedSpec, columns: Iterable[str] | None) -> MetricTable | None:
    """The shipped table for ``spec`` (only ``columns``), or None when none is shipped or it is stale."""
    path = shipped_path(spec.table_key)
    if spec.manifest not in SHIPPED_MANIFESTS or not path.is_file():
        return None
    if not is_shipped(spec):
        log.warning(
            "the shipped table %s does not match its record or its manifest's files; "
            "using the cache and the mirror instead",
            path,
        )
        return None
    # a verbatim table is the manifest's file, checked above: it carries no stamp of its own
    return read_table_file(path, columns, None if ships_verbatim(spec.manifest) else stamp(spec))
