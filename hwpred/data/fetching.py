"""Upstream files: copied from the mirror or downloaded, and cached only once their sha256 matches.

Both go through pooch: the file is written to a temporary name in the cache folder and renamed
into place only once its sha256 equals the manifest's, so a failed check or a broken download
leaves nothing behind. Sources are tried in order: the mirror (``HWPRED_DATA_MIRROR``) first,
then, only when a download is allowed, the manifest's URL (pinned to an upstream commit), with
retries. A file whose manifest gives no sha256 is never loaded.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from ..errors import ConfigError, DataError
from .locations import cache_dir, mirror_dir
from .manifests import catalog, file_entry
from .sources import ManifestFile, sha256_file

log = logging.getLogger(__name__)

#: further attempts after a failed or mismatching download (pooch waits 1, 2, 3 s between them)
DOWNLOAD_RETRIES = 3
#: seconds without an answer before a download attempt fails
DOWNLOAD_TIMEOUT = 60


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


def _copy_downloader(url: str, output_file, pooch) -> None:
    """pooch downloader for a local source: the mirror's copy or a ``file://`` URL."""
    from urllib.parse import unquote, urlparse

    src = Path(unquote(urlparse(url).path)) if url.startswith("file://") else Path(url)
    shutil.copyfile(src, output_file)


def _downloader(url: str):
    import pooch

    if url.startswith("file://") or "://" not in url:
        return _copy_downloader
    if url.startswith(("https://", "http://")):
        return pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT)
    if url.startswith("ftp://"):
        return pooch.FTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT)
    raise DataError(f"cannot download {url}: only https, http, ftp and file URLs are known; fix the manifest")


def _retrieve(rel: str, source: str, sha256: str, what: str, retries: int) -> Path:
    """``source`` -> the cache, through a verified temporary file (pooch), with ``retries``."""
    import pooch
    import requests

    downloader = _downloader(source)
    store = pooch.create(
        path=cache_dir() / "files",
        base_url="",
        registry={rel: f"sha256:{sha256}"},
        urls={rel: source},
        retry_if_failed=retries,
    )
    log.info("fetching %s", what)
    pooch_log = pooch.get_logger()
    level = pooch_log.level
    pooch_log.setLevel(max(level, logging.WARNING))  # its own stderr handler says INFO by default
    try:
        return Path(store.fetch(rel, downloader=downloader))
    except ValueError as exc:  # pooch: the hash of what arrived is not the manifest's
        got = re.search(r"got ([0-9a-f]{64})", str(exc))
        raise DataError(
            f"checksum mismatch for {what}: sha256 {got.group(1) if got else '(other)'}, manifest "
            f"expects {sha256}; the source file is corrupt, truncated or another version (nothing "
            "was cached). Replace it, or update the manifest if the upstream file changed on purpose"
        ) from None
    except (requests.exceptions.RequestException, OSError) as exc:
        retried = retries and isinstance(exc, requests.exceptions.RequestException)
        tries = f" after {retries + 1} attempts" if retried else ""
        raise DataError(
            f"could not download {what}{tries} ({exc}); check the network, or set "
            "HWPRED_DATA_MIRROR to a folder holding a copy"
        ) from None
    finally:
        pooch_log.setLevel(level)


def _sources(rel: str, entry: ManifestFile, upstream: bool) -> list[tuple[str, str, int]]:
    """(source, what, retries) in the order they are tried: the mirror, then the pinned URL."""
    out = []
    mirror = mirror_dir()
    if mirror is not None and (mirror / rel).is_file():
        out.append((str(mirror / rel), f"{mirror / rel} (mirror copy of {rel})", 0))
    if upstream and entry.url:
        out.append((entry.url, f"{rel} downloaded from {entry.url}", DOWNLOAD_RETRIES))
    return out


def ensure_file(
    rel: str, spec_manifest: str, upstream: bool = False, force: bool = False, verify_cached: bool = True
) -> Path:
    """The verified local copy of one manifest file, copying/downloading it into the cache if needed.

    ``upstream=True`` allows a download from the manifest's URL when the mirror has no good copy;
    without it nothing leaves this machine. ``force`` fetches again; the cached copy is kept if
    that fails.
    """
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
        log.warning("cached %s does not match its manifest's sha256; fetching it again", dest)
        dest.unlink()
    sources = _sources(rel, entry, upstream)
    if not sources:
        if not upstream:
            mirror = mirror_dir()
            where = f"it is not in the mirror {mirror}" if mirror else "HWPRED_DATA_MIRROR is not set"
            raise FileUnavailable(rel, where)
        upstream_page = catalog()[0][spec_manifest].upstream
        raise DataError(
            f"{rel}: no direct download URL is known (see {upstream_page}); "
            "download it by hand into the mirror folder and set HWPRED_DATA_MIRROR"
        )
    kept = dest.with_name(f".{dest.name}.kept")
    if dest.is_file():  # force: set the good copy aside until a new one is verified
        dest.replace(kept)
    try:
        for i, (source, what, retries) in enumerate(sources):
            try:
                path = _retrieve(rel, source, entry.sha256, what, retries)
            except DataError as exc:
                if i == len(sources) - 1:
                    raise
                log.warning("%s; trying the next source", exc)
                continue
            kept.unlink(missing_ok=True)
            return path
    finally:
        if kept.is_file():
            kept.replace(dest)
    raise AssertionError("unreachable: the last source either returns or raises")


def file_status(rel: str, spec_manifest: str) -> str:
    """Where ``rel`` would come from now: ``cached``, ``mirror``, ``download`` (a pinned URL and a
    sha256: ``fetch(..., upstream=True)`` gets it) or ``manual`` (no checksum or no URL known)."""
    try:
        entry = file_entry(rel, spec_manifest)
    except ConfigError:
        return "manual"
    if not entry.sha256:
        return "manual"
    if cached_file(rel).is_file():
        return "cached"
    mirror = mirror_dir()
    if mirror and (mirror / rel).is_file():
        return "mirror"
    return "download" if entry.url else "manual"


def file_available(rel: str, spec_manifest: str) -> bool:
    """Whether ``rel`` can be loaded now without a download: cached, or in the mirror, with a sha256."""
    return file_status(rel, spec_manifest) in ("cached", "mirror")
