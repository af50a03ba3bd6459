"""Claim files: several runs on one store split its units instead of each computing all of them.

Before the driver submits a unit it publishes ``claims/<part>.claim`` (host, pid, run token,
time) with :func:`hwpred._io.write_new`, which creates the file only if no claim is there, so of
two runs exactly one gets the unit. The claim goes when the unit's part is stored. A claim is
stale when its process is gone (same host: the pid no longer exists) or when it was not
refreshed for ``timeout_s`` (another host: the driver refreshes its claims while they run); a
stale claim is taken over by renaming it aside first, so of two runs taking over the same
claim only one succeeds.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._io import TMP_PREFIX, part_filename, write_new

#: a claim not refreshed for this long is stale (claims are refreshed every REFRESH_S while running)
DEFAULT_TIMEOUT_S = float(os.environ.get("HWPRED_CLAIM_TIMEOUT_S", 600))
REFRESH_S = 30.0
SUFFIX = ".claim"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, ValueError):
        return False
    return True


def claim_is_stale(info: dict | None, path: Path, host: str, timeout_s: float) -> bool:
    """Whether a claim's owner is gone: a dead pid on this host, or not refreshed for ``timeout_s``."""
    if info is None:
        return True
    if info.get("host") == host and not _alive(int(info.get("pid", -1))):
        return True
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return True
    return age > timeout_s


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Claims:
    """The claims of one run on one store folder.

    Parameters
    ----------
    folder : path
        Where the claim files live (``<store>/claims``).
    key : callable
        ``key(unit) -> part id`` of a unit.
    timeout_s : float
        Age (since the last refresh) after which another host's claim counts as stale.
    deferred : bool
        Keep a finished unit's claim until :meth:`commit` (for stores that write several units
        in one part later, such as the zero-shot score cache).
    """

    def __init__(
        self,
        folder: Path,
        key: Callable[[Any], str],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        deferred: bool = False,
    ):
        self.folder = Path(folder)
        self.deferred = deferred
        self.finished: set[Path] = set()
        self.key = key
        self.timeout_s = float(timeout_s)
        self.host = socket.gethostname()
        self.run = uuid.uuid4().hex
        self.held: set[Path] = set()
        self.taken_over = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def path(self, unit: Any) -> Path:
        return self.folder / (part_filename(self.key(unit)).removesuffix(".parquet") + SUFFIX)

    def _doc(self) -> bytes:
        doc = {"host": self.host, "pid": os.getpid(), "run": self.run, "time": time.time()}
        return json.dumps(doc).encode()

    def stale(self, info: dict | None, path: Path) -> bool:
        return claim_is_stale(info, path, self.host, self.timeout_s)

    def acquire(self, unit: Any) -> bool:
        """Claim ``unit`` for this run; False while another live run holds it."""
        path = self.path(unit)
        if write_new(path, self._doc()):
            with self._lock:
                self.held.add(path)
            return True
        info = _read(path)
        if info is not None and info.get("run") == self.run:
            return True
        if not self.stale(info, path):
            return False
        tomb = path.with_name(f"{TMP_PREFIX}stale-{uuid.uuid4().hex[:8]}-{path.name}")
        try:
            os.rename(path, tomb)
        except FileNotFoundError:  # released or taken over meanwhile: try once more from scratch
            return self._create(path)
        moved = _read(tomb)
        tomb.unlink(missing_ok=True)
        if moved != info:  # another run took it over between our read and our rename: give it back
            if moved is not None:
                write_new(path, json.dumps(moved).encode())
            return False
        self.taken_over += 1
        return self._create(path)

    def _create(self, path: Path) -> bool:
        if write_new(path, self._doc()):
            with self._lock:
                self.held.add(path)
            return True
        return False

    def release(self, unit: Any) -> None:
        """The unit is stored: drop its claim (with ``deferred``, at the next :meth:`commit`)."""
        path = self.path(unit)
        with self._lock:
            if self.deferred:
                if path in self.held:
                    self.finished.add(path)
                return
            mine = path in self.held
            self.held.discard(path)
        if mine:
            path.unlink(missing_ok=True)

    def commit(self) -> None:
        """Drop the claims of the units released since the last commit (their part is written)."""
        with self._lock:
            done, self.finished = self.finished, set()
            self.held -= done
        for path in done:
            path.unlink(missing_ok=True)

    def refresh(self) -> None:
        """Touch the claims this run holds, so other hosts see them alive."""
        with self._lock:
            held = list(self.held)
        for path in held:
            try:
                os.utime(path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> Claims:
        """Refresh the held claims every REFRESH_S in a background thread while the run lasts."""
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(REFRESH_S):
                self.refresh()

        self._beat = threading.Thread(target=beat, name="hwpred-claims", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        """Stop refreshing and drop every claim still held (their units were not stored)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with self._lock:
            held, self.held = list(self.held), set()
        for path in held:
            path.unlink(missing_ok=True)


def list_claims(folder: Path) -> list[tuple[Path, dict | None]]:
    """Every claim file in ``folder`` with its content (None when unreadable)."""
    if not folder.is_dir():
        return []
    return [(p, _read(p)) for p in sorted(folder.glob(f"*{SUFFIX}"))]
