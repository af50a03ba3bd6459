"""Importers of public benchmark formats: one module per format, each a pure file -> MetricTable step
(and :mod:`.metric_table`, which takes MetricTable files hwpred wrote itself as they are).

Every module exposes plain reader functions that work on local paths (usable without the
registry), plus two hooks the registry calls:

- ``datasets(manifest) -> list[NamedSpec]``: the stable dataset names the manifest provides
  (collected by :mod:`hwpred.data.manifests`);
- ``build(manifest, files) -> dict[table_key, MetricTable]``: convert the verified files (a map
  from mirror-relative path to local path) into tables, which :mod:`hwpred.data.cache` keeps
  as Parquet.

This module holds what the importers share: the named-dataset spec, checked readers that turn
truncated/malformed files into one :class:`~hwpred.errors.DataError`, and the NAS-Bench-201
benchmark-index -> op-tuple mapping.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...spaces import NB201, SpaceError

# Bump when an importer's output changes, so cached Parquet tables get rebuilt.
IMPORTER_VERSION = 1

# manifest ``format`` -> importer module (relative to this package)
FORMATS: dict[str, str] = {
    "help-latency": "help",
    "nats-csv": "nats",
    "hw-nas-bench-pickle": "hwnasbench",
    "transnas-pth": "transnas",
    "hw-nas-bench-360-parquet": "hwnb360",
    "zc-json": "zerocost",
    "metric-table": "metric_table",
}


@dataclass(frozen=True)
class NamedSpec:
    """One named dataset: which cached table holds it and which column is its target.

    ``columns`` is what :func:`~hwpred.data.load_table` returns for the name (``None``:
    every column of the table); ``files`` are the mirror-relative files needed to build the table.
    """

    name: str
    table_key: str
    column: str
    description: str
    files: tuple[str, ...]
    manifest: str
    columns: tuple[str, ...] | None = None
    unit: str = ""


@dataclass(frozen=True)
class ManifestFile:
    """One upstream file: mirror-relative path, where to download it, and its sha256 (None: unknown)."""

    path: str
    url: str | None
    sha256: str | None
    size: int | None = None


@dataclass(frozen=True)
class Manifest:
    """A parsed ``datasets/*.yaml``: one public dataset, its files and provenance."""

    id: str
    format: str
    title: str
    space: str
    license: str
    citation: str
    upstream: str
    files: tuple[ManifestFile, ...]
    uses: tuple[str, ...] = ()
    source_path: str = ""
    notes: str = ""
    #: the name prefix of the datasets of a format that takes it from the manifest (``hwpred``)
    prefix: str = ""
    #: per-table entries of a manifest of whole tables (format ``metric-table``): name -> entry
    tables: dict[str, dict] = field(default_factory=dict, hash=False)

    def file(self, rel: str) -> ManifestFile:
        for f in self.files:
            if f.path == rel:
                return f
        raise DataError(f"manifest {self.id!r} ({self.source_path}) lists no file {rel!r}")

    def provenance(self) -> dict:
        return {
            "source": self.title,
            "dataset": self.id,
            "upstream": self.upstream,
            "license": self.license,
            "citation": self.citation.strip(),
        }


def importer(fmt: str):
    """The importer module for a manifest ``format``."""
    try:
        mod = FORMATS[fmt]
    except KeyError:
        raise DataError(
            f"unknown dataset format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None
    return importlib.import_module(f"{__name__}.{mod}")


# -- checked readers ------------------------------------------------------------------------------
def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def require_sha256(path: str | os.PathLike, expected: str | None, what: str) -> None:
    """Refuse to go on unless ``path`` hashes to ``expected`` (used before any unpickling)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{what}: file {path} does not exist; fetch it with `hwpred data fetch` or fix the path"
        )
    if not expected:
        raise DataError(
            f"{what}: no sha256 is known for {path.name}, so it will not be unpickled; put the "
            "checksum of the file you verified into its manifest (datasets/*.yaml or "
            "$HWPRED_HOME/manifests/*.yaml)"
        )
    got = sha256_file(path)
    if got != expected.lower():
        raise DataError(
            f"{what}: checksum mismatch for {path}: sha256 {got}, manifest expects {expected}; "
            "the file is corrupt or a different version: delete it and fetch it again"
        )


#: the only globals a torch-saved data file may name beyond torch's weights-only set: numpy arrays
#: and scalars (what older benchmark databases hold besides plain containers)
NUMPY_GLOBALS = (
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
)


def _numpy_safe_globals() -> list:
    import importlib

    import numpy as np

    found = []
    for module, name in NUMPY_GLOBALS:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    found += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32", "bool")]
    return found


def torch_load_checked(path: str | os.PathLike, what: str, numpy_ok: bool = False) -> Any:
    """``torch.load(weights_only=True)`` with truncated/malformed files reported as DataError.

    Never a full unpickle, whatever the checksum says: a file that names any other global (a
    function, a class) is refused. ``numpy_ok`` also admits numpy arrays and scalars
    (:data:`NUMPY_GLOBALS`).
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{what}: file {path} does not exist; fetch it with `hwpred data fetch` or fix the path"
        )
    extra = _numpy_safe_globals() if numpy_ok else []
    try:
        with torch.serialization.safe_globals(extra):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "global" in str(exc).lower():
            raise DataError(
                f"{what}: {path} refers to Python objects that a data file should not need "
                f"({str(exc).splitlines()[0][:200]}); refusing to load it"
            ) from None
        raise DataError(
            f"{what}: {path} is not a readable torch file ({str(exc)[:200]}); delete it and fetch it again"
        ) from None
    except Exception as exc:  # noqa: BLE001 - truncated zip archives raise RuntimeError, EOFError...
        raise DataError(
            f"{what}: {path} is not a readable torch file ({type(exc).__name__}: {str(exc)[:200]}); "
            "it may be truncated: delete it and fetch it again"
        ) from None


def finite_floats(values: Iterable, what: str, expected_len: int | None = None) -> np.ndarray:
    """A 1-D float array, or a DataError naming the first bad entry (NaN, inf, non-number)."""
    try:
        arr = np.asarray(list(values), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what}: values are not all numbers ({exc}); the file is malformed") from None
    if expected_len is not None and len(arr) != expected_len:
        raise DataError(
            f"{what}: has {len(arr)} values, expected {expected_len}; the file is truncated or "
            "from another benchmark version"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{what}: {int(bad.sum())} NaN/non-finite value(s), first at position {i}; "
            "the file is corrupt or not the published version"
        )
    return arr


# -- NAS-Bench-201 benchmark index -> op tuple ----------------------------------------------------
def nb201_archs_from_strings(strings: Sequence[str], what: str) -> np.ndarray:
    """Parse NAS-Bench-201 architecture strings (position = benchmark index) into an (n, 6) array."""
    out = np.empty((len(strings), 6), dtype=np.int64)
    cache: dict[str, tuple[int, ...]] = {}
    for i, s in enumerate(strings):
        if not isinstance(s, str):
            raise DataError(f"{what}: entry {i} is {s!r}, not a NAS-Bench-201 architecture string")
        a = cache.get(s)
        if a is None:
            try:
                a = NB201.from_string(s)
            except SpaceError as exc:
                raise DataError(f"{what}: entry {i}: {exc}") from None
            cache[s] = a
        out[i] = a
    if len(cache) != len(strings):
        raise DataError(
            f"{what}: {len(strings) - len(cache)} duplicate architecture string(s); "
            "each benchmark index must name a distinct cell"
        )
    return out


def nb201_archs_from_index_map(mapping: Mapping[str, int], what: str, n: int = 15625) -> np.ndarray:
    """Invert HELP's ``str_arch2idx`` (string -> benchmark index) into an (n, 6) array by index."""
    if not isinstance(mapping, Mapping):
        raise DataError(
            f"{what}: expected a dict of architecture string -> index, got {type(mapping).__name__}"
        )
    strings: list[str | None] = [None] * n
    for s, idx in mapping.items():
        if not isinstance(idx, (int, np.integer)) or not 0 <= int(idx) < n:
            raise DataError(f"{what}: architecture {s!r} has index {idx!r}, expected an int in 0..{n - 1}")
        if strings[int(idx)] is not None:
            raise DataError(
                f"{what}: index {idx} is given to two architectures ({strings[int(idx)]!r}, {s!r})"
            )
        strings[int(idx)] = s
    missing = [i for i, s in enumerate(strings) if s is None]
    if missing:
        raise DataError(
            f"{what}: {len(missing)} of {n} benchmark indices have no architecture (first: "
            f"{missing[0]}); the file is truncated or from another benchmark"
        )
    return nb201_archs_from_strings(strings, what)  # type: ignore[arg-type]


def file_for(files: Mapping[str, Path], suffix: str, what: str) -> Path:
    """The local path of the manifest file whose mirror-relative path ends with ``suffix``."""
    for rel, p in files.items():
        if rel == suffix or rel.endswith("/" + suffix):
            return Path(p)
    raise DataError(f"{what}: the manifest lists no file ending in {suffix!r}; fix the manifest")
