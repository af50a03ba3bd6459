"""The resumable part store: one Parquet file per finished unit of work.

Layout of a store folder::

    <meta file>         the config (and its hash) that owns this store, e.g. study.json
    <parts>/<id>.parquet one file per finished unit

Why one file per unit: a part appears through an atomic rename of a complete temporary file
(:func:`hwpred._io.atomic_write_bytes`), so a reader sees a unit either finished or absent,
never half written, whatever kills the writer. A part's file name is a function of its id, so a
unit can never be stored twice, and resuming is "run every unit whose part is missing".

Every part carries an integrity record (:mod:`hwpred.experiment.integrity`): a part that is
truncated, overwritten, copied from another unit or another store is named by
:meth:`PartStore.scan`, moved to ``damaged/`` by :meth:`PartStore.quarantine` and counts as
missing, so the next run recomputes it. ``plan.json`` lists the unit ids of the whole grid, so
readers can say how many units are missing; ``claims/`` holds the claim files of the runs in
progress (:mod:`hwpred.experiment.claims`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._io import TMP_PREFIX, atomic_write_bytes, part_filename, read_store_meta, write_new
from ..errors import ConfigError, DataError
from .claims import DEFAULT_TIMEOUT_S, Claims, list_claims
from .integrity import Verified, part_bytes, verify_part

#: 2: every part carries an integrity record (format-1 parts are read without one)
FORMAT_VERSION = 2
log = logging.getLogger(__name__)
PLAN_NAME = "plan.json"
DAMAGED_DIR = "damaged"
CLAIMS_DIR = "claims"


class PartStore:
    """A folder of part files owned by one config.

    Parameters
    ----------
    root : path
        The store folder, ``<output>/<name>``.
    kind : str
        What the store holds, for messages (``"study store"``, ``"simulation store"``).
    meta_name : str
        The ownership file's name inside ``root`` (``study.json``).
    parts : str
        The sub-folder of part files (``cells``, ``parts``).
    """

    def __init__(self, root: str | os.PathLike, kind: str, meta_name: str, parts: str = "parts"):
        self.root = Path(root)
        self.kind = kind
        self.meta_path = self.root / meta_name
        self.parts_dir = self.root / parts
        self.claims_dir = self.root / CLAIMS_DIR
        self.damaged_dir = self.root / DAMAGED_DIR
        self._owner: str | None = None
        self._legacy: bool | None = None
        self._verified: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) of verified parts

    # ---- ownership ---------------------------------------------------------------------------
    def read_meta(self) -> dict | None:
        """The ownership document, None when the store has none yet."""
        meta = read_store_meta(self.meta_path, self.kind)
        if meta is not None:
            self._owner = meta.get("config_hash")
            self._legacy = int(meta.get("format", 1)) < 2
        return meta

    @property
    def owner(self) -> str | None:
        """The config hash that owns the store (None before it is claimed)."""
        if self._owner is None:
            self.read_meta()
        return self._owner

    def check_owner(self, config_hash: str) -> None:
        """A store belongs to one config: refuse to mix results of another under the same name."""
        meta = self.read_meta()
        if meta is None:
            if self.parts_dir.is_dir() and any(self.part_files()):
                raise ConfigError(
                    f"{self.root} holds result parts but no {self.meta_path.name}; it was not "
                    "written by hwpred or is damaged; choose another output or name"
                )
            return
        if meta.get("config_hash") != config_hash:
            raise ConfigError(
                f"{self.root} already holds {self.kind.split()[0]} {meta.get('name')!r} written by a "
                f"different config (hash {meta.get('config_hash')} from {meta.get('source')}, this one is "
                f"{config_hash}); give this config another name or output, or delete that folder to start over"
            )

    def init(self, name: str, config_hash: str, source: str, config: Mapping[str, Any]) -> None:
        """Claim the store for one config (idempotent; safe when two runs start together)."""
        self.check_owner(config_hash)
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        if self.meta_path.is_file():
            return
        from .. import __version__

        doc = {
            "format": FORMAT_VERSION,
            "name": name,
            "config_hash": config_hash,
            "source": source,
            "config": config,
            "hwpred": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        # of two runs starting together exactly one claims the store; the other is checked against it
        write_new(self.meta_path, json.dumps(doc, indent=1, default=str).encode())
        self.check_owner(config_hash)

    # ---- parts -------------------------------------------------------------------------------
    def path_of(self, part_id: str) -> Path:
        return self.parts_dir / part_filename(part_id)

    def has(self, part_id: str) -> bool:
        return self.path_of(part_id).is_file()

    def part_files(self) -> set[str]:
        """File names of the finished parts (temporary files excluded)."""
        if not self.parts_dir.is_dir():
            return set()
        return {
            e.name
            for e in os.scandir(self.parts_dir)
            if e.name.endswith(".parquet") and not e.name.startswith(".")
        }

    def scan(self) -> list[Verified]:
        """Every part file, read and verified, in file-name order."""
        self.owner  # noqa: B018 - loads the owner and the format
        out = []
        for name in sorted(self.part_files()):
            v = verify_part(self.parts_dir / name, name, self._owner, legacy=bool(self._legacy))
            if v.ok:
                self._remember(name)
            out.append(v)
        return out

    def _remember(self, name: str) -> None:
        try:
            st = os.stat(self.parts_dir / name)
            self._verified[name] = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            pass

    def _still_verified(self, name: str) -> bool:
        try:
            st = os.stat(self.parts_dir / name)
        except FileNotFoundError:
            return False
        return self._verified.get(name) == (st.st_size, st.st_mtime_ns)

    def damaged(self) -> list[Verified]:
        """The part files that cannot be trusted, each with its reason."""
        return [v for v in self.scan() if not v.ok]

    def quarantine(self, found: Iterable[Verified]) -> list[Path]:
        """Move damaged parts to ``damaged/`` (with a note of why), so the next run recomputes them."""
        moved = []
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        for v in found:
            src = self.parts_dir / v.name
            if not src.exists():
                continue
            self.damaged_dir.mkdir(parents=True, exist_ok=True)
            dst = self.damaged_dir / f"{v.name}.{stamp}"
            os.replace(src, dst)
            dst.with_name(dst.name + ".why").write_text(f"{v.problem}\n")
            moved.append(dst)
        return moved

    def missing(self, part_ids: Iterable[str]) -> list[str]:
        """The ids among ``part_ids`` that have no verified part, in their order.

        Parts verified earlier in this process and unchanged since (same size and mtime) are
        not read again, so a run's set-aside pass and this one read each part once."""
        self.owner  # noqa: B018 - loads the owner and the format
        for name in self.part_files():
            if not self._still_verified(name):
                v = verify_part(self.parts_dir / name, name, self._owner, legacy=bool(self._legacy))
                if v.ok:
                    self._remember(name)
        return [p for p in part_ids if not self._still_verified(part_filename(p))]

    def write_part(self, part_id: str, data) -> Path:
        """Store one finished unit (a DataFrame or a pyarrow Table) atomically, with its record."""
        path = self.path_of(part_id)
        atomic_write_bytes(path, part_bytes(data, part_id, self.owner))
        self._remember(path.name)
        return path

    def read_part(self, name: str, schema=None):
        """One verified part file (by file name) as a pyarrow Table; None when it cannot be trusted."""
        v = verify_part(self.parts_dir / name, name, self.owner, legacy=bool(self._legacy))
        if not v.ok:
            return None
        return v.table.cast(schema) if schema is not None else v.table

    def read_parts(self, schema=None) -> list:
        """Every trusted finished part as a pyarrow Table, in file-name order (damaged ones left out)."""
        tables = [v.table for v in self.scan() if v.ok]
        return [t.cast(schema) for t in tables] if schema is not None else tables

    # ---- the grid and the runs in progress ----------------------------------------------------
    def write_plan(self, part_ids: Iterable[str]) -> None:
        """Record the ids of every unit of the grid (so readers can count what is missing)."""
        self.write_json(PLAN_NAME, {"parts": list(part_ids)})

    def read_plan(self) -> list[str] | None:
        try:
            return list(json.loads((self.root / PLAN_NAME).read_text())["parts"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def claims(self, key, timeout_s: float = DEFAULT_TIMEOUT_S, deferred: bool = False) -> Claims:
        """Claim files for this store's units (``key(unit)`` is a unit's id)."""
        return Claims(self.claims_dir, key, timeout_s, deferred)

    def claim_files(self) -> list[tuple[Path, dict | None]]:
        return list_claims(self.claims_dir)

    # ---- other files of the store -------------------------------------------------------------
    def write_file(self, name: str, data: bytes) -> Path:
        """An auxiliary file in the store folder, written atomically."""
        path = self.root / name
        atomic_write_bytes(path, data)
        return path

    def write_json(self, name: str, doc: Any) -> Path:
        return self.write_file(name, json.dumps(doc, indent=1, default=str).encode())

    def write_frame(self, name: str, df) -> Path:
        """A DataFrame as a Parquet file in the store folder, with an integrity record."""
        return self.write_file(name, part_bytes(df, name, self.owner))

    def read_frame(self, name: str):
        """A file written by :meth:`write_frame` as a DataFrame; None (with a warning) when it
        is absent or cannot be trusted."""
        path = self.root / name
        if not path.is_file():
            return None
        v = verify_part(path, None, self.owner, legacy=bool(self._legacy))
        if not v.ok:
            log.warning("%s: %s; not used", path, v.problem)
            return None
        return v.table.to_pandas()

    def clean_temp(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files a killed writer left behind (old ones only: a live run may own new ones)."""
        n = 0
        if not self.parts_dir.is_dir():
            return 0
        now = time.time()
        for e in os.scandir(self.parts_dir):
            if e.name.startswith(TMP_PREFIX):
                try:
                    if now - e.stat().st_mtime > older_than_s:
                        os.unlink(e.path)
                        n += 1
                except FileNotFoundError:
                    pass
        return n


def locate_store(
    path: str | os.PathLike, meta_name: str, kind: str, command: str, plural: str | None = None
) -> Path:
    """A store folder, or an output folder holding exactly one store of this kind.

    ``command`` names what writes such stores, for the error message; ``plural`` is the word for
    several of them there (default: the kind's first word plus "s", e.g. "simulations").
    """
    p = Path(path)
    if (p / meta_name).is_file():
        return p
    subs = sorted(d for d in p.iterdir() if (d / meta_name).is_file()) if p.is_dir() else []
    if len(subs) == 1:
        return subs[0]
    plural = plural or (f"{kind.split()[0]}s" if kind.endswith("store") else kind)
    if subs:
        raise DataError(f"{p} holds several {plural} ({', '.join(d.name for d in subs)}); pass one of them")
    raise DataError(f"{p} is not a {kind} (no {meta_name}); pass the folder {command} wrote, <output>/<name>")
