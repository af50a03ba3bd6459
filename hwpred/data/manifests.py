"""Dataset manifests (one YAML file per public dataset, one for hwpred's measured tables) and their names.

Manifests ship in the package (``hwpred/resources/datasets/*.yaml``; the repository's ``datasets/``
is a link to that folder), then
``$HWPRED_HOME/manifests/*.yaml``, then the folders in ``$HWPRED_MANIFESTS``; a later one
overrides an earlier one with the same ``id``. Each manifest's importer (:mod:`.sources`) says
which named datasets its files provide. The catalogue is re-read whenever a manifest file
changes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .._resources import resource_dir
from ..errors import ConfigError
from .locations import hwpred_home
from .sources import Manifest, ManifestFile, NamedSpec, importer

#: the shipped manifests (``hwpred/resources/datasets``; the repository's ``datasets/`` links there)
MANIFEST_DIR = resource_dir("datasets")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def manifest_dirs() -> list[Path]:
    dirs = [MANIFEST_DIR, hwpred_home() / "manifests"]
    extra = os.environ.get("HWPRED_MANIFESTS")
    if extra:
        dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    return dirs


def _file(path: Path, what: str, rel, sha, url=None, size=None, sha_required: bool = False) -> ManifestFile:
    if sha is None and sha_required:
        raise ConfigError(f"manifest {path}: {what} needs a sha256")
    if sha is not None and not _SHA.match(str(sha).lower()):
        raise ConfigError(f"manifest {path}: {what} sha256 {sha!r} is not 64 hex digits")
    rel = str(rel)
    if rel.startswith("/") or ".." in Path(rel).parts:
        raise ConfigError(f"manifest {path}: {what} path {rel!r} must be relative to the mirror")
    return ManifestFile(path=rel, url=url, sha256=str(sha).lower() if sha else None, size=size)


def parse_manifest(path: Path) -> Manifest:
    """One manifest file. Its files are listed under ``files``; a manifest of whole tables
    (format ``metric-table``) lists them under ``tables`` instead, each entry naming its own
    ``file``, ``sha256`` and ``size`` (an empty ``tables`` mapping is a manifest with no tables yet)."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"manifest {path} is not readable YAML ({str(exc)[:200]}); fix or remove it"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"manifest {path} must be a mapping with id, format, files...")
    for key in ("id", "format"):
        if key not in raw:
            raise ConfigError(f"manifest {path} lacks the required key {key!r}")
    if "files" not in raw and "tables" not in raw:
        raise ConfigError(f"manifest {path} lacks the required key 'files'")
    files = []
    for i, f in enumerate(raw.get("files") or []):
        if not isinstance(f, dict) or "path" not in f or "sha256" not in f:
            raise ConfigError(
                f"manifest {path}: files[{i}] needs 'path' and 'sha256' (null only when no "
                "published checksum is known)"
            )
        files.append(_file(path, f"files[{i}]", f["path"], f.get("sha256"), f.get("url"), f.get("size")))
    tables = raw.get("tables")
    if tables is not None:
        if not isinstance(tables, dict):
            raise ConfigError(f"manifest {path}: 'tables' must map each table's name to its entry")
        for name, t in tables.items():
            if not isinstance(t, dict) or "file" not in t:
                raise ConfigError(f"manifest {path}: tables.{name} needs 'file', 'sha256' and 'column'")
            files.append(
                _file(
                    path, f"tables.{name}", t["file"], t.get("sha256"), None, t.get("size"), sha_required=True
                )
            )
    elif not files:
        raise ConfigError(f"manifest {path} lists no files")
    return Manifest(
        id=str(raw["id"]),
        format=str(raw["format"]),
        title=str(raw.get("title", raw["id"])),
        space=str(raw.get("space", "nb201")),
        license=str(raw.get("license", "unknown")),
        citation=str(raw.get("citation", "")),
        upstream=str(raw.get("upstream", "")),
        files=tuple(files),
        uses=tuple(raw.get("uses") or ()),
        source_path=str(path),
        notes=str(raw.get("notes", "")),
        prefix=str(raw.get("prefix", "")),
        tables={str(k): dict(v) for k, v in (tables or {}).items()},
    )


_MANIFEST_CACHE: dict[tuple, tuple[dict[str, Manifest], dict[str, NamedSpec]]] = {}


def _catalog_key() -> tuple:
    key = []
    for d in manifest_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                try:
                    st = p.stat()
                    key.append((str(p), st.st_mtime_ns, st.st_size))
                except OSError:
                    pass
    return tuple(key)


def catalog() -> tuple[dict[str, Manifest], dict[str, NamedSpec]]:
    """All manifests (later folders override by id) and the named datasets they provide."""
    key = _catalog_key()
    hit = _MANIFEST_CACHE.get(key)
    if hit is not None:
        return hit
    manifests: dict[str, Manifest] = {}
    for path_s, *_ in key:
        m = parse_manifest(Path(path_s))
        manifests[m.id] = m
    specs: dict[str, NamedSpec] = {}
    for m in manifests.values():
        for spec in importer(m.format).datasets(m):
            specs[spec.name] = spec
    _MANIFEST_CACHE.clear()
    _MANIFEST_CACHE[key] = (manifests, specs)
    return manifests, specs


def forget_catalog() -> None:
    """Read the manifests again on next use (after a manifest was rewritten within one clock tick)."""
    _MANIFEST_CACHE.clear()


def manifests() -> dict[str, Manifest]:
    return dict(catalog()[0])


def file_entry(rel: str, spec_manifest: str) -> ManifestFile:
    """The manifest entry of one mirror-relative file: the spec's own manifest first, then those it uses."""
    ms, _ = catalog()
    order = [spec_manifest, *ms[spec_manifest].uses, *ms]
    for mid in order:
        m = ms.get(mid)
        if m is None:
            continue
        for f in m.files:
            if f.path == rel:
                return f
    uses = list(ms[spec_manifest].uses)
    raise ConfigError(
        f"no manifest lists the file {rel!r} (needed by {spec_manifest!r}); "
        f"add the manifest it comes from (manifest {spec_manifest!r} uses {uses})"
    )
