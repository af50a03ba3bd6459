"""Named datasets: manifests, fetch (mirror or upstream) with sha256, and a Parquet table cache.

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
``local:<name>``                        a table registered with :func:`register_local`
``file:<path.parquet>#<column>``        any MetricTable Parquet file
======================================  ===========================================================

Any name may end in ``#<column>`` to pick another column of its table as the target, e.g.
``zc:nb201-cifar10#cifar10/synflow``.

Column scheme: ``<scope>/<metric>[_<unit>]`` where scope is the device (``raspi4/latency_ms``),
the device-runtime-task (``pi5-onnx/cifar100/energy_mj``) or the dataset/task
(``cifar10/test_acc`` in percent, ``cifar10/val_acc``, ``cifar10/synflow``,
``class_scene/inference_time``). Units are also stored per column in the table.

Storage: manifests live in ``datasets/*.yaml`` (then ``$HWPRED_HOME/manifests/*.yaml`` and the
folders in ``$HWPRED_MANIFESTS``, which override by ``id``). Files are fetched into
``$HWPRED_HOME/cache/files/<mirror-relative path>`` (default home ``~/.hwpred``), copied from
``$HWPRED_DATA_MIRROR`` or downloaded upstream, and installed only after their sha256 matches
the manifest (temp file + rename: nothing half-written). Each imported table is converted once
to ``$HWPRED_HOME/cache/tables/<key>.parquet``; later loads read only the needed columns.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import ConfigError, DataError
from ..spaces import get_space
from .sources import (IMPORTER_VERSION, Manifest, ManifestFile, NamedSpec, importer, sha256_file)
from .table import MetricTable

# the repository's datasets/ folder (editable installs); a wheel may ship them as package data
MANIFEST_DIR = next((p for p in (Path(__file__).resolve().parents[2] / "datasets",
                                 Path(__file__).resolve().parents[1] / "resources" / "datasets") if p.is_dir()),
                    Path(__file__).resolve().parents[2] / "datasets")
_LOCAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


# -- locations ------------------------------------------------------------------------------------
def hwpred_home() -> Path:
    return Path(os.environ.get("HWPRED_HOME") or "~/.hwpred").expanduser()


def cache_dir() -> Path:
    return hwpred_home() / "cache"


def mirror_dir() -> Path | None:
    p = os.environ.get("HWPRED_DATA_MIRROR")
    return Path(p).expanduser() if p else None


def manifest_dirs() -> list[Path]:
    dirs = [MANIFEST_DIR, hwpred_home() / "manifests"]
    extra = os.environ.get("HWPRED_MANIFESTS")
    if extra:
        dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    return dirs


# -- manifests ------------------------------------------------------------------------------------
def _parse_manifest(path: Path) -> Manifest:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"manifest {path} is not readable YAML ({str(exc)[:200]}); fix or remove it") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"manifest {path} must be a mapping with id, format, files...")
    for key in ("id", "format", "files"):
        if key not in raw:
            raise ConfigError(f"manifest {path} lacks the required key {key!r}")
    files = []
    for i, f in enumerate(raw["files"] or []):
        if not isinstance(f, dict) or "path" not in f or "sha256" not in f:
            raise ConfigError(f"manifest {path}: files[{i}] needs 'path' and 'sha256' (null only when no "
                              "published checksum is known)")
        sha = f.get("sha256")
        if sha is not None and not _SHA.match(str(sha).lower()):
            raise ConfigError(f"manifest {path}: files[{i}] sha256 {sha!r} is not 64 hex digits")
        rel = str(f["path"])
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise ConfigError(f"manifest {path}: files[{i}] path {rel!r} must be relative to the mirror")
        files.append(ManifestFile(path=rel, url=f.get("url"), sha256=str(sha).lower() if sha else None,
                                  size=f.get("size")))
    if not files:
        raise ConfigError(f"manifest {path} lists no files")
    return Manifest(id=str(raw["id"]), format=str(raw["format"]), title=str(raw.get("title", raw["id"])),
                    space=str(raw.get("space", "nb201")), license=str(raw.get("license", "unknown")),
                    citation=str(raw.get("citation", "")), upstream=str(raw.get("upstream", "")),
                    files=tuple(files), uses=tuple(raw.get("uses") or ()), source_path=str(path),
                    notes=str(raw.get("notes", "")))


_MANIFEST_CACHE: dict[tuple, tuple[dict[str, Manifest], dict[str, NamedSpec]]] = {}


def _catalog_key() -> tuple:
    key = []
    for d in manifest_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                try:
                    key.append((str(p), p.stat().st_mtime_ns))
                except OSError:
                    pass
    return tuple(key)


def _catalog() -> tuple[dict[str, Manifest], dict[str, NamedSpec]]:
    """All manifests (later folders override by id) and the named datasets they provide."""
    key = _catalog_key()
    hit = _MANIFEST_CACHE.get(key)
    if hit is not None:
        return hit
    manifests: dict[str, Manifest] = {}
    for path_s, _ in key:
        m = _parse_manifest(Path(path_s))
        manifests[m.id] = m
    specs: dict[str, NamedSpec] = {}
    for m in manifests.values():
        for spec in importer(m.format).datasets(m):
            specs[spec.name] = spec
    _MANIFEST_CACHE.clear()
    _MANIFEST_CACHE[key] = (manifests, specs)
    return manifests, specs


def manifests() -> dict[str, Manifest]:
    return dict(_catalog()[0])


def _file_entry(rel: str, spec_manifest: str) -> ManifestFile:
    ms, _ = _catalog()
    order = [spec_manifest, *ms[spec_manifest].uses, *ms]
    for mid in order:
        m = ms.get(mid)
        if m is None:
            continue
        for f in m.files:
            if f.path == rel:
                return f
    raise ConfigError(f"no manifest lists the file {rel!r} (needed by {spec_manifest!r}); "
                      f"add the manifest it comes from (manifest {spec_manifest!r} uses {list(ms[spec_manifest].uses)})")


# -- the Dataset handle ---------------------------------------------------------------------------
@dataclass
class Dataset:
    """A study dataset: one target column of a MetricTable, under a stable name."""

    name: str
    table: MetricTable
    column: str

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(archs (n, positions) int array, targets) — copies, safe to modify."""
        return self.table.dataset(self.column)

    @property
    def space(self) -> str:
        return self.table.space

    @property
    def unit(self) -> str:
        return self.table.units.get(self.column, "")

    def __len__(self) -> int:
        return len(self.table)


# -- name resolution ------------------------------------------------------------------------------
def _split_column(name: str) -> tuple[str, str | None]:
    if "#" in name:
        base, col = name.rsplit("#", 1)
        return base, (col or None)
    return name, None


def _unknown(name: str) -> DataError:
    _, specs = _catalog()
    known = list(specs) + [f"local:{n}" for n in _read_local_index()]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return DataError(f"unknown dataset name {name!r}{hint} Run `hwpred data list` for all names "
                     "(or use file:<path.parquet>#<column>, local:<name>)")


def get_spec(name: str) -> NamedSpec:
    _, specs = _catalog()
    base, _ = _split_column(name)
    try:
        return specs[base]
    except KeyError:
        raise _unknown(base) from None


# -- fetching -------------------------------------------------------------------------------------
def _cached_file(rel: str) -> Path:
    return cache_dir() / "files" / rel


def _install(chunks: Iterable[bytes], dest: Path, expected: str, what: str) -> Path:
    """Write ``chunks`` to a temp file beside ``dest``; rename into place only if the sha256 matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for block in chunks:
                h.update(block)
                out.write(block)
        got = h.hexdigest()
        if got != expected:
            raise DataError(f"checksum mismatch for {what}: sha256 {got}, manifest expects {expected}; the "
                            "source file is corrupt, truncated or another version (nothing was cached). Replace "
                            "it, or update the manifest if the upstream file changed on purpose")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _read_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            block = f.read(size)
            if not block:
                return
            yield block


def _download_chunks(url: str, what: str, size: int = 1 << 20) -> Iterator[bytes]:
    import urllib.error
    import urllib.request

    try:
        resp = urllib.request.urlopen(url, timeout=60)  # noqa: S310 - URLs come from manifests
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f"could not download {what} from {url} ({exc}); check the network, or set "
                        "HWPRED_DATA_MIRROR to a folder holding a copy") from None
    with resp:
        while True:
            try:
                block = resp.read(size)
            except OSError as exc:
                raise DataError(f"download of {what} from {url} broke off ({exc}); run the fetch again") from None
            if not block:
                return
            yield block


def _ensure_file(rel: str, spec_manifest: str, upstream: bool = False, force: bool = False,
                 verify_cached: bool = True) -> Path:
    """The verified local copy of one manifest file, copying/downloading it into the cache if needed."""
    entry = _file_entry(rel, spec_manifest)
    dest = _cached_file(rel)
    if not entry.sha256:
        raise DataError(f"{rel}: its manifest gives no sha256 (no published checksum is known here), so hwpred "
                        "will not load it. Obtain the file from upstream, verify it, and put its sha256 in a "
                        f"manifest in $HWPRED_HOME/manifests/ (see {_catalog()[0][spec_manifest].source_path})")
    if dest.is_file() and not force:
        if not verify_cached or sha256_file(dest) == entry.sha256:
            return dest
        dest.unlink()  # a stale or damaged cached copy: fetch it again below
    mirror = mirror_dir()
    src = mirror / rel if mirror else None
    if not upstream:
        if src is not None and src.is_file():
            return _install(_read_chunks(src), dest, entry.sha256, f"{src} (mirror copy of {rel})")
        where = f"it is not in the mirror {mirror}" if mirror else "HWPRED_DATA_MIRROR is not set"
        raise DataError(f"{rel} is not available: {where} and it is not cached. Set HWPRED_DATA_MIRROR "
                        "to the data mirror, or download it with `hwpred data fetch --upstream NAME`")
    if not entry.url:
        raise DataError(f"{rel}: no direct download URL is known (see {_catalog()[0][spec_manifest].upstream}); "
                        "download it by hand into the mirror folder and set HWPRED_DATA_MIRROR")
    return _install(_download_chunks(entry.url, rel), dest, entry.sha256, f"{rel} downloaded from {entry.url}")


def _file_available(rel: str, spec_manifest: str) -> bool:
    try:
        entry = _file_entry(rel, spec_manifest)
    except ConfigError:
        return False
    if not entry.sha256:
        return False
    if _cached_file(rel).is_file():
        return True
    mirror = mirror_dir()
    return bool(mirror and (mirror / rel).is_file())


# -- table cache ----------------------------------------------------------------------------------
def _table_path(key: str) -> Path:
    return cache_dir() / "tables" / f"{key}.parquet"


def _stamp(spec: NamedSpec) -> dict:
    return {"importer": IMPORTER_VERSION, "manifest": spec.manifest,
            "files": {rel: _file_entry(rel, spec.manifest).sha256 for rel in spec.files}}


_TABLE_FIELDS: frozenset[str] | None = None


def _fast_table(space: str, archs: np.ndarray, cols: dict[str, np.ndarray], meta: dict, units: dict) -> MetricTable:
    """Rebuild a MetricTable read back from our own cache with vectorised checks.

    MetricTable's constructor validates row by row (~0.1 s per 15k rows); the cached files were
    written from validated tables, so we re-check the same invariants (valid, unique archs, finite
    values) with numpy and skip the per-row pass. Falls back to the constructor when unsure.
    """
    global _TABLE_FIELDS
    sp = get_space(space)
    ok = archs.ndim == 2 and archs.shape[1] == sp.num_positions and all(np.isfinite(v).all() for v in cols.values())
    if ok and len(archs):
        codes = np.zeros(len(archs), dtype=np.int64)
        for j in range(archs.shape[1]):
            codes = codes * 16 + archs[:, j]
        ok = (archs.min() >= 0 and archs.max() < 16 and len(np.unique(codes)) == len(archs))
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


def _read_table_file(path: Path, columns: Iterable[str] | None = None, stamp: dict | None = None,
                     trusted: bool = True) -> MetricTable | None:
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


def _build_tables(spec: NamedSpec, upstream: bool = False, force: bool = False) -> None:
    """Fetch the spec's files (verified) and convert them to cached Parquet tables."""
    ms, specs = _catalog()
    manifest = ms[spec.manifest]
    files = {rel: _ensure_file(rel, spec.manifest, upstream=upstream, force=force) for rel in spec.files}
    keys = sorted({s.table_key for s in specs.values() if s.manifest == spec.manifest and set(s.files) <= set(files)}
                  | {spec.table_key})
    tables = importer(manifest.format).build(manifest, files, keys)
    if spec.table_key not in tables:
        part = spec.table_key.split("/", 1)[-1]
        raise DataError(f"{spec.name}: {', '.join(spec.files)} hold(s) no {part!r} data (found: "
                        f"{', '.join(k.split('/', 1)[-1] for k in tables) or 'nothing'}); the file is incomplete "
                        "or another version of the benchmark")
    for key, table in tables.items():
        owner = next((s for s in specs.values() if s.table_key == key), spec)
        table.meta["hwpred_cache"] = _stamp(owner)
        table.meta.setdefault("imported", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        table.to_parquet(_table_path(key))


def _spec_table(spec: NamedSpec, columns: Iterable[str] | None) -> MetricTable:
    stamp = _stamp(spec)
    path = _table_path(spec.table_key)
    table = _read_table_file(path, columns, stamp)
    if table is None:
        _build_tables(spec)
        table = _read_table_file(path, columns, stamp)
        if table is None:
            raise DataError(f"could not read back the cached table {path}; delete {cache_dir()} and retry")
    return table


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
        raise DataError(f"the local-table index {p} is damaged; fix or delete it (tables can be registered "
                        "again with register_local)") from None


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def register_local(name: str, path: str | os.PathLike, column: str | None = None, description: str = "") -> str:
    """Register a MetricTable Parquet file as ``local:<name>`` (e.g. a freshly measured device table).

    The file is read and validated now; re-registering a name points it at the new file.
    Returns the full dataset name.
    """
    if name.startswith("local:"):
        name = name[len("local:"):]
    if not _LOCAL_NAME.match(name):
        raise DataError(f"local table name {name!r} must be letters, digits, '_', '-', '.' (e.g. 'my-laptop-cpu')")
    p = Path(path).expanduser().resolve()
    table = MetricTable.read_parquet(p)  # raises DataError if missing or malformed
    if column is not None and column not in table.columns:
        raise DataError(f"{p} has no column {column!r}; columns: {', '.join(table.columns)}")
    index = _read_local_index()
    index[name] = {"path": str(p), "column": column, "description": description,
                   "space": table.space, "rows": len(table),
                   "registered": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _write_json_atomic(_local_index_path(), {"version": 1, "tables": index})
    return f"local:{name}"


def unregister_local(name: str) -> None:
    name = name[len("local:"):] if name.startswith("local:") else name
    index = _read_local_index()
    if name not in index:
        raise _unknown(f"local:{name}")
    del index[name]
    _write_json_atomic(_local_index_path(), {"version": 1, "tables": index})


# -- public API -----------------------------------------------------------------------------------
def _default_column(table: MetricTable, declared: str | None, name: str) -> str:
    if declared:
        return declared
    if len(table.columns) == 1:
        return next(iter(table.columns))
    raise DataError(f"{name}: the table has several columns ({', '.join(table.columns)}); "
                    f"name one with '{name}#<column>'")


def _resolve(name: str, all_columns: bool = False) -> tuple[MetricTable, str]:
    base, col = _split_column(name)
    if base.startswith("file:"):
        table = MetricTable.read_parquet(Path(base[len("file:"):]).expanduser())
        column = _default_column(table, col, name)
    elif base.startswith("local:"):
        entry = _read_local_index().get(base[len("local:"):])
        if entry is None:
            raise _unknown(base)
        table = MetricTable.read_parquet(entry["path"])
        column = _default_column(table, col or entry.get("column"), name)
    else:
        spec = get_spec(base)
        column = col or spec.column
        cols = None if (all_columns or spec.columns is None) else list(dict.fromkeys([*spec.columns, column]))
        table = _spec_table(spec, cols)
    if column not in table.columns:
        raise DataError(f"{name}: no column {column!r}; columns: {', '.join(table.columns)}")
    return table, column


def load_table(name: str, all_columns: bool = False) -> MetricTable:
    """The MetricTable behind a dataset name (fetched from the mirror and cached on first use).

    Returns the name's own columns (e.g. ``raspi4/latency_ms`` for ``help:raspi4``; every proxy
    for ``zc:...``); ``all_columns=True`` returns every column of the underlying table.
    """
    return _resolve(name, all_columns)[0]


def load_dataset(name: str) -> Dataset:
    """A named dataset: ``load_dataset("help:raspi4").arrays() -> (archs, latency_ms)``."""
    table, column = _resolve(name)
    return Dataset(name=name, table=table, column=column)


def dataset_names() -> list[str]:
    return list(_catalog()[1]) + [f"local:{n}" for n in _read_local_index()]


def describe(name: str) -> dict:
    """Metadata of a name without loading it: source, column, unit, files, licence, availability."""
    base, col = _split_column(name)
    if base.startswith("local:"):
        entry = _read_local_index().get(base[len("local:"):])
        if entry is None:
            raise _unknown(base)
        return {"name": base, "source": "local", "column": col or entry.get("column"), "path": entry["path"],
                "available": Path(entry["path"]).is_file(), "description": entry.get("description", "")}
    spec = get_spec(base)
    m = _catalog()[0][spec.manifest]
    return {"name": spec.name, "source": m.title, "column": col or spec.column, "unit": spec.unit,
            "table": spec.table_key, "files": list(spec.files), "license": m.license,
            "citation": m.citation.strip(), "upstream": m.upstream, "manifest": m.source_path,
            "available": _table_path(spec.table_key).is_file()
            or all(_file_available(f, spec.manifest) for f in spec.files),
            "cached": _table_path(spec.table_key).is_file(), "description": spec.description}


def available_datasets() -> list[tuple[str, bool, str]]:
    """Every named dataset as (name, available now from cache or mirror, description)."""
    _, specs = _catalog()
    out = []
    for spec in specs.values():
        ok = _table_path(spec.table_key).is_file() or all(_file_available(f, spec.manifest) for f in spec.files)
        out.append((spec.name, ok, spec.description))
    for n, entry in _read_local_index().items():
        out.append((f"local:{n}", Path(entry["path"]).is_file(),
                    entry.get("description") or f"local table {entry['path']}"))
    return out


def _specs_for(target: str) -> list[NamedSpec]:
    ms, specs = _catalog()
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


def fetch(name: str, upstream: bool = False, force: bool = False,
          progress: Callable[[str], None] | None = None) -> list[Path]:
    """Copy from the mirror (or download with ``upstream=True``), verify sha256, cache, and import.

    ``name`` is a dataset name, a manifest id (``help-nb201``), a prefix (``help:*``) or ``all``.
    Returns the cached file paths. Nothing is left half-written if a check fails.
    """
    if name.startswith(("local:", "file:")):
        raise DataError(f"{name} is a local file, nothing to fetch; load it directly")
    specs = _specs_for(name)
    done_files: dict[str, Path] = {}
    built: set[str] = set()
    for spec in specs:
        for rel in spec.files:
            if rel not in done_files:
                if progress:
                    progress(rel)
                done_files[rel] = _ensure_file(rel, spec.manifest, upstream=upstream, force=force)
        if spec.table_key not in built:
            if force or _read_table_file(_table_path(spec.table_key), [], _stamp(spec)) is None:
                _build_tables(spec)
            built.add(spec.table_key)
    return list(done_files.values())


def clear_cache() -> None:
    """Remove every cached file and table (the local-table index is kept)."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
