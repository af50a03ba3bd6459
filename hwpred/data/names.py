"""Dataset names: what ``load_dataset``, ``load_table`` and ``fetch`` accept.

Names (stable, readable; ``hwpred data list`` prints them all):

======================================  ===========================================================
``help:<device>``                       HELP NB201 latency (ms), 27 devices: ``help:raspi4``,
                                        ``help:pixel3``, ``help:gold_6226``, ``help:titan_rtx_256``...
``nats:<dataset>``                      NATS-Bench 200-epoch test accuracy (%), ``cifar10``,
                                        ``cifar100``, ``ImageNet16-120``
``hwnb360:<device>-<runtime>-<task>``   HW-NAS-Bench-360 median latency (ms), e.g.
                                        ``hwnb360:pi5-onnx-cifar100``; ``...-energy`` (mJ),
                                        ``...-latency_var`` (ms^2); ``hwnb360:<task>-accuracy``
``hw-nas-bench:<dataset>-<metric>``     HW-NAS-Bench pickle, e.g. ``hw-nas-bench:cifar10-edgegpu_latency``
``transnas:<task>-<metric>``            TransNAS-Bench-101 macro, e.g. ``transnas:class_scene-inference_time``
``zc:nb201-<dataset>``                  NAS-Bench-Suite-Zero proxies + validation accuracy (target)
``zc:transnas-<task>``                  the same for the TransNAS macro space
``hwpred:<name>``                       a table measured by hwpred, shipped in the package
``local:<name>``                        a table registered with :func:`register_local`
``file:<path.parquet>#<column>``        any MetricTable Parquet file
======================================  ===========================================================

Any name may end in ``#<column>`` to pick another column of its table as the target, e.g.
``zc:nb201-cifar10#cifar10/synflow``.

Column scheme: ``<scope>/<metric>[_<unit>]`` where scope is the device (``raspi4/latency_ms``),
the device-runtime-task (``pi5-onnx/cifar100/energy_mj``) or the dataset/task
(``cifar10/test_acc`` in percent, ``cifar10/val_acc``, ``cifar10/synflow``,
``class_scene/inference_time``). Units are also stored per column in the table.

Registry names come from the manifests (:mod:`.manifests`). A name whose table ships in the package
(:mod:`.shipped`: HELP, NAS-Bench-Suite-Zero and hwpred's own measured tables) loads from there; the others' files are fetched
and verified by :mod:`.fetching` and converted once into :mod:`.cache`. ``local:`` names are kept in the index
``$HWPRED_HOME/local.json``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from .._io import atomic_write_bytes
from ..errors import DataError
from .cache import build_tables, is_current, spec_table, table_path
from .fetching import ensure_file, file_available, file_status
from .locations import hwpred_home
from .manifests import catalog
from .shipped import is_shipped, shipped_table
from .sources import NamedSpec
from .table import Dataset, MetricTable

_LOCAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _split_column(name: str) -> tuple[str, str | None]:
    if "#" in name:
        base, col = name.rsplit("#", 1)
        return base, (col or None)
    return name, None


# -- local tables ---------------------------------------------------------------------------------
def _local_index_path() -> Path:
    return hwpred_home() / "local.json"


def _read_local_index() -> dict[str, dict]:
    p = _local_index_path()
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text())
        return dict(data.get("tables", {}))
    except (OSError, ValueError, AttributeError):
        raise DataError(
            f"the local-table index {p} is damaged; fix or delete it (tables can be registered "
            "again with register_local)"
        ) from None


def _write_local_index(index: dict[str, dict]) -> None:
    doc = {"version": 1, "tables": index}
    atomic_write_bytes(_local_index_path(), json.dumps(doc, indent=2, sort_keys=True).encode())


def register_local(
    name: str, path: str | os.PathLike, column: str | None = None, description: str = ""
) -> str:
    """Register a MetricTable Parquet file as ``local:<name>`` (e.g. a freshly measured device table).

    The file is read and validated now; re-registering a name points it at the new file.
    Returns the full dataset name.
    """
    if name.startswith("local:"):
        name = name[len("local:") :]
    if not _LOCAL_NAME.match(name):
        raise DataError(
            f"local table name {name!r} must be letters, digits, '_', '-', '.' (e.g. 'my-laptop-cpu')"
        )
    p = Path(path).expanduser().resolve()
    table = MetricTable.read_parquet(p)  # raises DataError if missing or malformed
    if column is not None and column not in table.columns:
        raise DataError(f"{p} has no column {column!r}; columns: {', '.join(table.columns)}")
    index = _read_local_index()
    index[name] = {
        "path": str(p),
        "column": column,
        "description": description,
        "space": table.space,
        "rows": len(table),
        "registered": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_local_index(index)
    return f"local:{name}"


def unregister_local(name: str) -> None:
    name = name[len("local:") :] if name.startswith("local:") else name
    index = _read_local_index()
    if name not in index:
        raise _unknown(f"local:{name}")
    del index[name]
    _write_local_index(index)


# -- name resolution ------------------------------------------------------------------------------
def _unknown(name: str) -> DataError:
    _, specs = catalog()
    known = list(specs) + [f"local:{n}" for n in _read_local_index()]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return DataError(
        f"unknown dataset name {name!r}{hint} Run `hwpred data list` for all names "
        "(or use file:<path.parquet>#<column>, local:<name>)"
    )


def get_spec(name: str) -> NamedSpec:
    _, specs = catalog()
    base, _ = _split_column(name)
    try:
        return specs[base]
    except KeyError:
        raise _unknown(base) from None


def _default_column(table: MetricTable, declared: str | None, name: str) -> str:
    if declared:
        return declared
    if len(table.columns) == 1:
        return next(iter(table.columns))
    raise DataError(
        f"{name}: the table has several columns ({', '.join(table.columns)}); name one with '{name}#<column>'"
    )


def _resolve(name: str, all_columns: bool = False) -> tuple[MetricTable, str]:
    base, col = _split_column(name)
    if base.startswith("file:"):
        table = MetricTable.read_parquet(Path(base[len("file:") :]).expanduser())
        column = _default_column(table, col, name)
    elif base.startswith("local:"):
        entry = _read_local_index().get(base[len("local:") :])
        if entry is None:
            raise _unknown(base)
        table = MetricTable.read_parquet(entry["path"])
        column = _default_column(table, col or entry.get("column"), name)
    else:
        spec = get_spec(base)
        column = col or spec.column
        cols = None if (all_columns or spec.columns is None) else list(dict.fromkeys([*spec.columns, column]))
        # the package's shipped copy when it has a current one, else the cache (built on first use)
        table = shipped_table(spec, cols) or spec_table(spec, cols)
    if column not in table.columns:
        raise DataError(f"{name}: no column {column!r}; columns: {', '.join(table.columns)}")
    return table, column


# -- public API -----------------------------------------------------------------------------------
def load_table(name: str, all_columns: bool = False) -> MetricTable:
    """The MetricTable behind a dataset name (fetched from the mirror and cached on first use).

    Returns the name's own columns (e.g. ``raspi4/latency_ms`` for ``help:raspi4``; every proxy
    for ``zc:...``); ``all_columns=True`` returns every column of the underlying table.
    """
    return _resolve(name, all_columns)[0]


def load_dataset(name: str) -> Dataset:
    """The dataset a name stands for: one target column of a MetricTable.

    Registry names are fetched from the mirror, verified and cached on first use; ``local:`` and
    ``file:`` names read their Parquet file.

    Parameters
    ----------
    name : str
        A registry name (``help:raspi4``, ``nats:cifar10``, ``zc:nb201-cifar10`` ...), a
        registered ``local:<name>``, or ``file:<path.parquet>#<column>``; any of them may end in
        ``#<column>`` to pick another column of the same table as the target.

    Returns
    -------
    Dataset
        The ``(table, column)`` view, named ``name``; ``arrays()`` gives (archs, values).

    Raises
    ------
    DataError
        An unknown name (with close matches), a column the table lacks, data neither cached
        nor in the mirror, or a file whose checksum does not match its manifest.

    Examples
    --------
    >>> import tempfile
    >>> from hwpred.data import MetricTable, load_dataset
    >>> t = MetricTable("nb201", [(0, 1, 2, 3, 4, 0), (1, 1, 1, 1, 1, 1)],
    ...                 {"cpu/latency_ms": [1.5, 2.5]}, units={"cpu/latency_ms": "ms"})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = t.to_parquet(f"{folder}/cpu.parquet")
    ...     ds = load_dataset(f"file:{path}#cpu/latency_ms")
    >>> len(ds), ds.unit
    (2, 'ms')
    >>> ds.lookup([(1, 1, 1, 1, 1, 1)])
    array([2.5])
    """
    table, column = _resolve(name)
    return Dataset(name=name, table=table, column=column)


def dataset_names() -> list[str]:
    return list(catalog()[1]) + [f"local:{n}" for n in _read_local_index()]


def _spec_available(spec: NamedSpec) -> bool:
    return (
        is_shipped(spec)
        or table_path(spec.table_key).is_file()
        or all(file_available(f, spec.manifest) for f in spec.files)
    )


def describe(name: str) -> dict:
    """Metadata of a name without loading it: source, column, unit, files, licence, availability."""
    base, col = _split_column(name)
    if base.startswith("local:"):
        entry = _read_local_index().get(base[len("local:") :])
        if entry is None:
            raise _unknown(base)
        return {
            "name": base,
            "source": "local",
            "column": col or entry.get("column"),
            "path": entry["path"],
            "available": Path(entry["path"]).is_file(),
            "description": entry.get("description", ""),
        }
    spec = get_spec(base)
    m = catalog()[0][spec.manifest]
    return {
        "name": spec.name,
        "source": m.title,
        "column": col or spec.column,
        "unit": spec.unit,
        "table": spec.table_key,
        "files": list(spec.files),
        "license": m.license,
        "citation": m.citation.strip(),
        "upstream": m.upstream,
        "manifest": m.source_path,
        "available": _spec_available(spec),
        "shipped": is_shipped(spec),
        "cached": table_path(spec.table_key).is_file(),
        "description": spec.description,
    }


#: how far a file is from loading, best first (a dataset is as far as its farthest file)
STATUSES = ("shipped", "cached", "mirror", "download", "manual")
#: statuses that load with no download
AVAILABLE = ("shipped", "cached", "mirror")


def dataset_status(spec: NamedSpec) -> str:
    """``shipped`` (its table is inside the package), ``cached`` (imported, or its files cached),
    ``mirror`` (copied from it on first load), ``download`` (``fetch(name, upstream=True)`` gets
    it) or ``manual`` (no URL or checksum known)."""
    if is_shipped(spec):
        return "shipped"
    if table_path(spec.table_key).is_file():
        return "cached"
    return max((file_status(f, spec.manifest) for f in spec.files), key=STATUSES.index, default="manual")


def list_datasets() -> list[dict]:
    """Every named dataset as a JSON-able record: name, status, available, description, manifest.

    ``manifest_source`` is ``shipped`` for the manifests inside the package, else the file's path.
    """
    from .manifests import MANIFEST_DIR

    ms, specs = catalog()
    out = []
    for spec in specs.values():
        status = dataset_status(spec)
        source = ms[spec.manifest].source_path
        out.append(
            {
                "name": spec.name,
                "status": status,
                "available": status in AVAILABLE,
                "description": spec.description,
                "unit": spec.unit,
                "manifest": spec.manifest,
                "manifest_source": "shipped" if Path(source).parent == MANIFEST_DIR else source,
            }
        )
    for n, entry in _read_local_index().items():
        ok = Path(entry["path"]).is_file()
        out.append(
            {
                "name": f"local:{n}",
                "status": "local" if ok else "missing",
                "available": ok,
                "description": entry.get("description") or f"local table {entry['path']}",
                "unit": "",
                "manifest": None,
                "manifest_source": str(_local_index_path()),
            }
        )
    return out


def available_datasets() -> list[tuple[str, bool, str]]:
    """Every named dataset as (name, available now from cache or mirror, description)."""
    _, specs = catalog()
    out = [(spec.name, _spec_available(spec), spec.description) for spec in specs.values()]
    for n, entry in _read_local_index().items():
        out.append(
            (
                f"local:{n}",
                Path(entry["path"]).is_file(),
                entry.get("description") or f"local table {entry['path']}",
            )
        )
    return out


def _specs_for(target: str) -> list[NamedSpec]:
    ms, specs = catalog()
    base, _ = _split_column(target)
    if base == "all":
        return list(specs.values())
    if base in ms:
        return [s for s in specs.values() if s.manifest == base]
    if base.endswith(":*") or base.endswith(":"):
        prefix = base.rstrip("*")
        found = [s for s in specs.values() if s.name.startswith(prefix)]
        if found:
            return found
    return [get_spec(base)]


def fetch(
    name: str, upstream: bool = False, force: bool = False, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Copy from the mirror (first) or, with ``upstream=True``, download from the manifest's pinned
    URL when the mirror has no good copy; verify sha256, cache, and import.

    A shipped table needs nothing: its name is skipped unless its files are at hand (mirror or
    cache), ``upstream`` or ``force``.

    ``name`` is a dataset name, a manifest id (``help-nb201``), a prefix (``help:*``) or ``all``.
    Returns the cached file paths. Nothing is left half-written if a check fails.
    """
    if name.startswith(("local:", "file:")):
        raise DataError(f"{name} is a local file, nothing to fetch; load it directly")
    specs = _specs_for(name)
    if not upstream and not force:  # a shipped table needs no files, unless they are at hand
        specs = [s for s in specs if not is_shipped(s) or all(file_available(f, s.manifest) for f in s.files)]
    done_files: dict[str, Path] = {}
    built: set[str] = set()
    for spec in specs:
        for rel in spec.files:
            if rel not in done_files:
                if progress:
                    progress(rel)
                done_files[rel] = ensure_file(rel, spec.manifest, upstream=upstream, force=force)
        if spec.table_key not in built:
            if force or not is_current(spec):
                build_tables(spec)
            built.add(spec.table_key)
    return list(done_files.values())
