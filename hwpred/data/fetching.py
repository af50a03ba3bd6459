"""Upstream files: copied from the mirror or downloaded, and cached only once their sha256 matches.

A file lands in ``$HWPRED_HOME/cache/files/<mirror-relative path>`` through a temporary file and a
rename (:func:`hwpred._io.atomic_writer`), so a failed check or a broken download leaves nothing
half-written. A file whose manifest gives no sha256 is never loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from .._io import atomic_writer
from ..errors import ConfigError, DataError
from .locations import cache_dir, mirror_dir
from .manifests import catalog, file_entry
from .sources import sha256_file


class FileUnavailable(DataError):
    """A manifest file that is neither cached nor in the mirror.

    ``message(how)`` words the error with ``how`` as the way to download it, so that a front end
    (the command line) can name its own way instead of the Python call.
    """

    def __init__(self, rel: str, where: str):
        self.rel, self.where = rel, where
        super().__init__(self.message("hwpred.data.fetch(name, upstream=True)"))

    def __reduce__(self):  # rebuilt from its fields when it crosses a process boundary
        return type(self), (self.rel, self.where)

    def message(self, how: str) -> str:
        return (
            f"{self.rel} is not available: {self.where} and it is not cached. Set HWPRED_DATA_MIRROR "
            f"to the data mirror, or download it with {how}"
        )


def cached_file(rel: str) -> Path:
    return cache_dir() / "files" / rel


def _install(chunks: Iterable[bytes], dest: Path, expected: str, what: str) -> Path:
    """Write ``chunks`` beside ``dest``; it replaces ``dest`` only if the sha256 matches."""
    h = hashlib.sha256()
    with atomic_writer(dest) as out:
        for block in chunks:
            h.update(block)
            out.write(block)
        got = h.hexdigest()
        if got != expected:
            raise DataError(
                f"checksum mismatch for {what}: sha256 {got}, manifest expects {expected}; the "
                "source file is corrupt, truncated or another version (nothing was cached). "
                "Replace it, or update the manifest if the upstream file changed on purpose"
            )
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
        raise DataError(
            f"could not download {what} from {url} ({exc}); check the network, or set "
            "HWPRED_DATA_MIRROR to a folder holding a copy"
        ) from None
    with resp:
        while True:
            try:
                block = resp.read(size)
            except OSError as exc:
                raise DataError(
                    f"download of {what} from {url} broke off ({exc}); run the fetch again"
                ) from None
            if not block:
                return
            yield block


def ensure_file(
    rel: str, spec_manifest: str, upstream: bool = False, force: bool = False, verify_cached: bool = True
) -> Path:
    """The verified local copy of one manifest file, copying/downloading it into the cache if needed."""
    entry = file_entry(rel, spec_manifest)
    dest = cached_file(rel)
    if not entry.sha256:
        source = catalog()[0][spec_manifest].source_path
        raise DataError(
            f"{rel}: its manifest gives no sha256 (no published checksum is known here), so "
            "hwpred will not load it. Obtain the file from upstream, verify it, and put its "
            f"sha256 in a manifest in $HWPRED_HOME/manifests/ (see {source})"
        )
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
        raise FileUnavailable(rel, where)
    if not entry.url:
        upstream_page = catalog()[0][spec_manifest].upstream
        raise DataError(
            f"{rel}: no direct download URL is known (see {upstream_page}); "
            "download it by hand into the mirror folder and set HWPRED_DATA_MIRROR"
        )
    return _install(
        _download_chunks(entry.url, rel), dest, entry.sha256, f"{rel} downloaded from {entry.url}"
    )


def file_available(rel: str, spec_manifest: str) -> bool:
    """Whether ``rel`` can be loaded now without a download: cached, or in the mirror, with a sha256."""
    try:
        entry = file_entry(rel, spec_manifest)
    except ConfigError:
        return False
    if not entry.sha256:
        return False
    if cached_file(rel).is_file():
        return True
    mirror = mirror_dir()
    return bool(mirror and (mirror / rel).is_file())
