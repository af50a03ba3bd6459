"""What state a part store is in: verified, damaged, missing and failed units, claims, debris.

Shared by ``hwpred study check``, ``hwpred simulate check`` and ``hwpred zeroshot check``, by the
runs (which move damaged parts aside before they start) and by the reports (which say how many
units are missing or damaged).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .._io import TMP_PREFIX, part_filename
from .claims import DEFAULT_TIMEOUT_S, claim_is_stale
from .integrity import Verified
from .store import PartStore

log = logging.getLogger(__name__)


@dataclass
class Health:
    """The outcome of :func:`store_health`."""

    root: Path
    kind: str
    planned: int | None  # units in the grid (None: the store has no plan.json)
    ok: int = 0
    damaged: list[Verified] = field(default_factory=list)
    missing: int = 0
    failed: list[str] = field(default_factory=list)  # part ids recorded as failed
    live_claims: list[str] = field(default_factory=list)  # "host pid" of runs in progress
    stale_claims: list[Path] = field(default_factory=list)
    temp_files: int = 0

    @property
    def healthy(self) -> bool:
        return not (self.damaged or self.missing or self.failed or self.stale_claims)

    def summary(self, unit_name: str = "units") -> str:
        """One line: counts of verified, failed, damaged and missing units."""
        of = f" of {self.planned}" if self.planned is not None else ""
        parts = [f"{self.ok}{of} {unit_name} stored and verified"]
        if self.failed:
            parts.append(f"{len(self.failed)} of them recorded as failed")
        parts.append(f"{len(self.damaged)} damaged")
        if self.planned is not None:
            parts.append(f"{self.missing} missing")
        return ", ".join(parts)

    def lines(self, unit_name: str = "units") -> list[str]:
        out = [f"{self.kind} {self.root}: {self.summary(unit_name)}"]
        out += [f"  damaged: {v.name}: {v.problem}" for v in self.damaged]
        for pid in self.failed[:10]:
            out.append(f"  failed: {pid}")
        if len(self.failed) > 10:
            out.append(f"  ... and {len(self.failed) - 10} more failed")
        if self.live_claims:
            out.append(
                f"  {len(self.live_claims)} unit(s) being computed now by: {', '.join(sorted(set(self.live_claims)))}"
            )
        if self.stale_claims:
            out.append(f"  {len(self.stale_claims)} stale claim(s) of runs that died")
        if self.temp_files:
            out.append(f"  {self.temp_files} temporary file(s) left by killed writers")
        return out


def store_health(
    store: PartStore,
    failed: Callable[[object], bool] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    found: list[Verified] | None = None,
) -> Health:
    """Verify every part of ``store`` (or use ``found``, a scan the caller made);
    ``failed(table)`` says whether a part records a failure."""
    plan = store.read_plan()
    found = store.scan() if found is None else found
    h = Health(store.root, store.kind, len(plan) if plan is not None else None)
    ok_names = set()
    for v in found:
        if not v.ok:
            h.damaged.append(v)
            continue
        h.ok += 1
        ok_names.add(v.name)
        if failed is not None and failed(v.table):
            h.failed.append(v.part_id or v.name)
    if plan is not None:
        h.missing = sum(1 for pid in plan if part_filename(pid) not in ok_names)
    host = socket.gethostname()
    for path, info in store.claim_files():
        if claim_is_stale(info, path, host, timeout_s):
            h.stale_claims.append(path)
        else:
            h.live_claims.append(f"{info.get('host')} pid {info.get('pid')}")
    if store.parts_dir.is_dir():
        h.temp_files = sum(1 for p in store.parts_dir.iterdir() if p.name.startswith(TMP_PREFIX))
    return h


def set_aside_damaged(store: PartStore, console=None) -> list[Verified]:
    """Before a run: name every damaged part, move it to ``damaged/``; the run recomputes it."""
    bad = store.damaged()
    for v in bad:
        msg = f"{store.parts_dir / v.name}: {v.problem}; recomputing it"
        if console is not None:
            console.print(f"[red]damaged:[/] {msg}", highlight=False)
        else:
            log.warning("damaged: %s", msg)
    store.quarantine(bad)
    return bad


def repair(store: PartStore, health: Health) -> list[str]:
    """Move damaged parts to ``damaged/``, drop stale claims and old temporary files; what was done."""
    done = [f"moved {v.name} to {store.damaged_dir.name}/ ({v.problem})" for v in health.damaged]
    store.quarantine(health.damaged)
    for path in health.stale_claims:
        path.unlink(missing_ok=True)
    if health.stale_claims:
        done.append(f"removed {len(health.stale_claims)} stale claim(s)")
    n = store.clean_temp(older_than_s=600.0)
    if n:
        done.append(f"removed {n} temporary file(s) older than 10 minutes")
    return done


def check_command(store: PartStore, unit_name: str, fix: bool, failed=None, console=print) -> int:
    """The body of the ``check`` subcommands: print the state, optionally repair; exit status."""
    h = store_health(store, failed)
    for line in h.lines(unit_name):
        console(line)
    if fix:
        for line in repair(store, h):
            console(f"repaired: {line}")
        if h.damaged or h.missing or h.failed:
            console(
                "run the same command again to recompute what is damaged or missing"
                + (" (with --retry-failed for the failed ones)" if h.failed else "")
            )
    elif h.damaged or h.stale_claims:
        console("run with --repair to move damaged parts aside and drop stale claims")
    return 0 if h.healthy else 1
