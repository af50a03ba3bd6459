"""Small file-system helpers shared by the result stores (study, simulation) and the data cache."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import ConfigError

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    """The process umask: from /proc on Linux (no side effect), else by setting and restoring it."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _as_created(path: str | os.PathLike, folder: bool = False) -> None:
    """Give a temporary file (mkstemp: 0600) or folder (mkdtemp: 0700) the mode a plain
    ``open``/``mkdir`` would have given it, so shared results follow the umask."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file whose content replaces ``path`` only when the ``with`` block ends normally.

    It writes to a temporary file beside ``path`` and renames it into place, so a killed process,
    or an exception raised in the block (say, a checksum that does not match), leaves either the
    old file or the complete new one, never a partial one. (No fsync: a file a power cut left
    empty is unreadable, skipped by the readers and redone by the next run.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        _as_created(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """A folder whose content replaces ``folder`` only when the ``with`` block ends normally.

    The block fills a temporary folder beside ``folder``; on success the old folder is removed and
    the new one renamed into place, so a failed or killed save never leaves a half-written folder
    under the final name.
    """
    import shutil

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"{TMP_PREFIX}{folder.name}."))
    _as_created(tmp, folder=True)
    try:
        yield tmp
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_new(path: str | os.PathLike, data: bytes) -> bool:
    """Publish ``data`` at ``path`` only if no file is there yet; True when this call created it.

    The complete file is linked into place, and ``link`` fails when the name exists, so of two
    processes publishing at once exactly one wins and the other reads the winner's file. On a
    file system without hard links it falls back to a rename (the last writer wins).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _as_created(tmp)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:
            os.replace(tmp, path)
            return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def part_filename(part_id: str, limit: int = 140) -> str:
    """A safe, readable, collision-free Parquet file name for a part/cell id."""
    safe = re.sub(r"[^A-Za-z0-9._=-]+", "_", part_id).strip("._")[:limit]
    return f"{safe}-{hashlib.sha1(part_id.encode()).hexdigest()[:10]}.parquet"


def unwritable_reason(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written (the OS's words), or None when it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".hwpred-write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


def check_writable(output: Path, source: str) -> None:
    """Fail before any work starts when ``output`` cannot be created or written."""
    why = unwritable_reason(output)
    if why is not None:
        raise ConfigError(
            f"{source}: output directory {output} is not writable ({why}); "
            "choose another output or fix its permissions"
        )


def read_store_meta(path: Path, kind: str) -> dict | None:
    """A store's JSON metadata file, None when it does not exist; a clear DataError when unreadable."""
    from .errors import DataError

    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is unreadable ({exc}); it is not a {kind}") from None
