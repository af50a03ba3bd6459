"""When a run may continue an existing output and journal, and opening the journal for a run.

A run resumes only what was measured with the same protocol on the same machine and software;
the one change allowed is a larger ``rounds`` (sweep r's order depends only on the seed and r, so
the jobs of an R-round run are the first R sweeps of any longer run), and only from the run's own
per-job journal. A table whose journal is gone is rebuilt into a journal of merged figures.
"""

from __future__ import annotations

from pathlib import Path

from ..data.table import MetricTable
from ..errors import DataError
from .config import MeasureConfig
from .device import fingerprint
from .journal import Journal, journal_path, journal_protocol, records_from_table
from .tables import SOURCE
from .timers import MeasureError

_ADAPTIVE_ONLY = ("target_rel_ci", "confidence", "max_repeats", "max_time_s", "step")


def normalised_protocol(p: dict) -> dict:
    """A protocol without what cannot change a measurement: the adaptive rule's settings when the run
    is not adaptive; journals and tables from before ``rounds`` existed measured one job per pass."""
    p = dict(p)
    pol = dict(p.get("policy") or {})
    if not pol.get("adaptive"):
        for k in _ADAPTIVE_ONLY:
            pol.pop(k, None)
    p["policy"] = pol
    p.setdefault("rounds", 1)
    # journals and tables from before runtimes existed were measured with torch
    p.setdefault("runtime", "torch")
    p.setdefault("graph_opt", None)
    p.setdefault("opset", None)
    return p


def same_protocol(a: dict | None, b: dict | None) -> bool:
    """Protocols match when everything that changes a measurement matches."""
    if a is None or b is None:
        return a is b
    return normalised_protocol(a) == normalised_protocol(b)


def raises_rounds(old: dict | None, new: dict | None) -> bool:
    """Whether ``new`` is ``old`` with more rounds and nothing else changed. Sweep r's order depends
    only on the seed and r, so the jobs of an R-round run are the first R sweeps of any longer run:
    a finished or unfinished run can go on to more jobs per architecture and pass."""
    if old is None or new is None:
        return False
    o, n = normalised_protocol(old), normalised_protocol(new)
    return o["rounds"] < n["rounds"] and {**o, "rounds": n["rounds"]} == n


def check_existing_output(out: Path, protocol: dict) -> None:
    """An existing output must be a measurement table of the same protocol."""
    try:
        old = MetricTable.read_parquet(out)
    except DataError as exc:
        raise MeasureError(
            f"output {out} exists and is not a measurement table ({exc}); choose another `out`"
        ) from None
    prot = old.meta.get("measure", {}).get("protocol") if isinstance(old.meta, dict) else None
    if old.meta.get("source") != SOURCE or prot is None:
        raise MeasureError(
            f"output {out} holds another table (source {old.meta.get('source')!r}, space "
            f"{old.space}); choose another `out` or pass `overwrite=True` to replace it"
        )
    if not (same_protocol(prot, protocol) or raises_rounds(prot, protocol)):
        prot, protocol = normalised_protocol(prot), normalised_protocol(protocol)
        diff = sorted(k for k in set(prot) | set(protocol) if prot.get(k) != protocol.get(k))
        raise MeasureError(
            f"output {out} holds a measurement table of another protocol (differs in: "
            f"{', '.join(diff)}); choose another `out` or pass `overwrite=True` to replace it"
        )


def open_run_journal(
    out_path: Path | None, cfg: MeasureConfig, device: dict, resume: bool, overwrite: bool
) -> Journal:
    """The journal a run of ``cfg`` appends to, its records loaded when it resumes; refuses what cannot
    be continued. ``cfg`` is resolved; ``device`` is the run's :func:`describe_device`."""
    protocol = cfg.protocol()
    journal = Journal(journal_path(out_path) if out_path else None)
    if out_path is not None:
        if out_path.is_dir():
            raise MeasureError(f"`out` {out_path} is a directory; give a .parquet file path")
        if overwrite:
            for p in (out_path, journal.path):
                if p.exists():
                    p.unlink()
        if out_path.exists():
            check_existing_output(out_path, protocol)
            if not resume:
                raise MeasureError(
                    f"output {out_path} already exists; pass `resume=True` to measure only "
                    "the missing architectures, `overwrite=True` to start over, or choose "
                    "another `out`"
                )
        if journal.path.exists() and not resume:
            raise MeasureError(
                f"an unfinished run's journal exists at {journal.path}; pass `resume=True` to "
                "continue it or `overwrite=True` to start over"
            )
    records = journal.load() if resume else []
    header = {"kind": "header", "protocol": protocol, "fingerprint": fingerprint(device)}
    if records:
        first = next((r for r in records if r.get("kind") == "header"), None)
        was = journal_protocol(records)
        raised = raises_rounds(was, protocol)
        if first is None or not (raised or same_protocol(was, protocol)):
            raise MeasureError(
                f"journal {journal.path} was written with another protocol; resume with the "
                "same options (or only a larger `rounds`), or pass `overwrite=True` to start "
                "over"
            )
        if first.get("fingerprint") != fingerprint(device):
            raise MeasureError(
                f"journal {journal.path} was measured on another machine/software "
                f"({first.get('fingerprint')}); resuming would mix devices in one table"
            )
        if raised:
            if any(r.get("kind") == "result" and r.get("round", 0) is None for r in records):
                raise MeasureError(
                    f"journal {journal.path} was rebuilt from a table, which keeps each "
                    "pass's figures merged over its rounds only; `rounds` can be raised only "
                    "from the run's own journal"
                )
            journal.append({**header, "raised_rounds_from": normalised_protocol(was)["rounds"]})
    elif resume and out_path is not None and out_path.exists():
        old = MetricTable.read_parquet(out_path)
        if fingerprint(old.meta.get("device", {})) != fingerprint(device):
            raise MeasureError(
                f"{out_path} was measured on another machine/software; resuming would mix devices"
            )
        if not same_protocol(old.meta.get("measure", {}).get("protocol"), protocol):
            raise MeasureError(
                f"{out_path} keeps each pass's figures merged over its rounds only, and its "
                f"journal {journal.path} is gone; `rounds` can be raised only from the run's "
                "journal"
            )
        journal.append({**header, "rebuilt_from": str(out_path)})
        for r in records_from_table(old, cfg.tag, cfg.two_pass):
            journal.append(r)
    if not journal.records:
        journal.append(header)
    return journal


__all__ = [
    "check_existing_output",
    "normalised_protocol",
    "open_run_journal",
    "raises_rounds",
    "same_protocol",
]
