"""The run journal: an append-only JSON-lines log beside the table, one record per event.

Record kinds: ``header`` (the protocol and the machine's fingerprint; one more per raise of the
rounds), ``session`` (a start of the run), ``result`` (a finished job: arch, pass, round when the run
has several, its statistics), ``failure``, ``reference`` and ``reference_failure``. A table is always
rebuilt from the journal, so a run that is interrupted resumes job by job.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes
from ..data.table import MetricTable
from ..errors import DataError
from ..spaces import Arch, get_space

JOURNAL_SUFFIX = ".journal.jsonl"


def journal_path(out: str | os.PathLike) -> Path:
    """Where the journal of the table written to ``out`` lives: beside it, ``<out>.journal.jsonl``."""
    out = Path(out)
    return out.with_name(out.name + JOURNAL_SUFFIX)


class Journal:
    """Append-only JSON-lines log of a run; a torn last line (crash mid-write) is ignored."""

    def __init__(self, path: Path | None):
        self.path = path
        self.records: list[dict] = []
        self._fh = None

    def load(self) -> list[dict]:
        self.records = []
        if self.path is None or not self.path.exists():
            return self.records
        with open(self.path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError:
                if i >= len(lines) - 2:  # only the last line may be torn
                    continue
                raise DataError(
                    f"measurement journal {self.path} is corrupt at line {i + 1}; "
                    "delete it (and the output) to start the run over"
                ) from None
        return self.records

    def append(self, rec: dict) -> None:
        self.records.append(rec)
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # a torn last line from a crash is cut off, so the next record starts on a line of its own
            if self.path.exists() and self.path.stat().st_size > 0:
                data = self.path.read_bytes()
                if not data.endswith(b"\n"):
                    with open(self.path, "r+b") as fh:
                        fh.truncate(data.rfind(b"\n") + 1)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(rec, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def carry_journal(src: str | os.PathLike, out: str | os.PathLike) -> bool:
    """Start the journal of the table ``out`` from ``src`` (plain or ``.gz``), when it has none yet.

    A run of many hours outlives one machine: its journal, carried to the next machine and resumed
    there with the same protocol, measures only the jobs still missing (the resume rules still refuse
    another machine or protocol). Returns whether it copied; an existing journal is never overwritten.
    """
    src, dest = Path(src), journal_path(out)
    if dest.exists():
        return False
    if not src.is_file():
        raise DataError(f"journal {src} does not exist; give a .jsonl or .jsonl.gz journal of a run")
    opener = gzip.open if src.suffix == ".gz" else open
    try:
        with opener(src, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(
            f"journal {src} is unreadable ({exc}); give a .jsonl or .jsonl.gz journal of a run"
        ) from None
    atomic_write_bytes(dest, data)
    return True


def arch_key(a) -> Arch:
    return tuple(int(v) for v in a)


def journal_protocol(records: list[dict]) -> dict | None:
    """The protocol a journal is now measured with: its last header's (a run whose rounds were raised
    has a header per raise)."""
    header = next((r for r in reversed(records) if r.get("kind") == "header"), None)
    return header.get("protocol") if header else None


def failures(records: list[dict]) -> dict[Arch, str]:
    """Each failed architecture's first error."""
    failed: dict[Arch, str] = {}
    for r in records:
        if r.get("kind") == "failure":
            failed.setdefault(arch_key(r["arch"]), r["error"])
    return failed


def results_by_round(records: list[dict]) -> dict[Arch, dict[int, dict]]:
    """Each finished job's statistics by arch, pass and round: ``[arch][pass][round]``. A record merged
    over all its rounds (rebuilt from a table) is under round ``"all"``; one-round journals are round 0."""
    out: dict[Arch, dict[int, dict]] = {}
    for r in records:
        if r.get("kind") == "result":
            rnd = r.get("round", 0)
            out.setdefault(arch_key(r["arch"]), {}).setdefault(int(r["pass"]), {})[
                "all" if rnd is None else int(rnd)
            ] = r["stats"]
    return out


def result_keys(records: list[dict], rounds: int) -> set[tuple[Arch, int, int]]:
    """(arch, pass, round) of every finished job; a record merged over all rounds covers them all."""
    return {
        (a, p, q)
        for a, passes in results_by_round(records).items()
        for p, jobs in passes.items()
        for q in (range(rounds) if "all" in jobs else jobs)
    }


def is_complete(archs, records: list[dict], two_pass: bool, rounds: int) -> bool:
    """Whether every architecture has failed or has all its jobs done."""
    done = result_keys(records, rounds)
    failed = failures(records)
    npass = 2 if two_pass else 1
    return all(
        a in failed or all((a, q, r) in done for q in range(npass) for r in range(rounds)) for a in archs
    )


def records_from_table(table: MetricTable, tag: str, two_pass: bool) -> list[dict]:
    """Rebuild journal records from a finished table (when its journal was deleted)."""
    recs = []
    cols = table.columns
    for i, a in enumerate(table.arch_tuples):
        for p, suffix in ((0, ""), (1, "_pass2")) if two_pass else ((0, ""),):
            med = cols.get(f"{tag}/latency{suffix}_ms")
            if med is None:
                continue
            st = {
                "median_ms": float(med[i]),
                "iqr_ms": float(cols.get(f"{tag}/latency{suffix}_iqr_ms", med)[i]),
                "n": int(cols.get(f"{tag}/n_repeats{suffix}", np.zeros(len(table)))[i]),
            }
            if p == 0:
                st["std_ms"] = float(cols[f"{tag}/latency_std_ms"][i])
                st["mean_ms"] = float(cols[f"{tag}/latency_mean_ms"][i])
                st["min_ms"] = float(cols[f"{tag}/latency_min_ms"][i])
            rl = cols.get(f"{tag}/rel_latency{'_pass2' if p else ''}")
            st["ratio_median"] = float(rl[i]) if rl is not None else None
            rq = cols.get(f"{tag}/rel_latency_q10{'_pass2' if p else ''}")
            st["ratio_q10"] = float(rq[i]) if rq is not None else None
            c = cols.get(f"{tag}/cpu_time{suffix}_ms")
            st["cpu_median_ms"] = float(c[i]) if c is not None else None
            e = cols.get(f"{tag}/energy{suffix}_mj")
            st["energy_mj"] = float(e[i]) if e is not None else None
            # round None: the table holds the pass's figures already merged over its rounds
            recs.append(
                {"kind": "result", "arch": list(a), "pass": p, "round": None, "stats": st, "session": -1}
            )
    for f in table.meta.get("failed", []):
        recs.append(
            {
                "kind": "failure",
                "arch": list(get_space(table.space).from_string(f["arch"])),
                "pass": 0,
                "error": f["error"],
                "session": -1,
            }
        )
    for r in table.meta.get("reference", {}).get("series", []):
        recs.append({"kind": "reference", **r})
    return recs


__all__ = [
    "JOURNAL_SUFFIX",
    "Journal",
    "arch_key",
    "carry_journal",
    "failures",
    "is_complete",
    "journal_path",
    "journal_protocol",
    "records_from_table",
    "result_keys",
    "results_by_round",
]
