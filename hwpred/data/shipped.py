"""Tables shipped inside the package: real data that loads with no mirror and no network.

Only tables whose upstream licence allows redistribution are shipped (:data:`SHIPPED_MANIFESTS`:
HELP's latency tables, MIT; NAS-Bench-Suite-Zero's zero-cost tables, Apache-2.0), each with its
licence text and citation in ``hwpred/resources/tables/<manifest>/``. A shipped table is the
importer's output for the upstream files, written in the cache's own format
(``<manifest>/<table>.parquet`` plus a ``.json`` record of its sha256, row count and the stamp of
the upstream files it was built from), so the values are the upstream files' values as imported.

A shipped table is used for a name only while its stamp equals what the name's manifest and
importer would build now (the same upstream sha256s, the same importer version) and its bytes
match its record; otherwise the name falls back to the cache and the mirror, as unshipped names
do. ``python -m hwpred.data.ship`` regenerates the folder from the mirror.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from .._resources import resource_dir
from .cache import matches_record, read_table_file, stamp
from .sources import NamedSpec
from .table import MetricTable

log = logging.getLogger(__name__)

#: manifests whose tables ship in the wheel (licence allows redistribution), with that licence
SHIPPED_MANIFESTS: dict[str, str] = {
    "help-nb201": "MIT",
    "zc-nasbench201": "Apache-2.0",
    "zc-transnas-macro": "Apache-2.0",
}


def shipped_dir() -> Path:
    """``hwpred/resources/tables`` of the installed package."""
    return resource_dir("tables")


def shipped_path(table_key: str) -> Path:
    return shipped_dir() / f"{table_key}.parquet"


def is_shipped(spec: NamedSpec) -> bool:
    """Whether the package holds a current table for ``spec`` (built from its manifest's files)."""
    path = shipped_path(spec.table_key)
    return spec.manifest in SHIPPED_MANIFESTS and path.is_file() and matches_record(path, stamp(spec))


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
    return read_table_file(path, columns, stamp(spec))
