"""The measurement harness: many architectures, one device, one table.

Protocol against drift and order effects: architectures are measured in a shuffled order, a
fixed reference model is re-measured at intervals (its drift goes into the table's metadata), and
an optional second pass (interleaved with the first, in its own shuffled order, with a freshly
built model) gives every architecture two independent measurements. With ``rounds`` R > 1, each
pass of an architecture is R jobs, each on a fresh build, in R sweeps over all architectures with
their own shuffled orders; the pass reports the median of its jobs, so one job that a noisy machine
threw off is outvoted.

Every finished job is appended to a journal (JSON lines) next to the output, so a run that is
interrupted and restarted with ``resume=True`` measures only what is missing; the table itself is
written atomically at checkpoints and at the end.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..data.table import MetricTable
from ..errors import DataError
from ..spaces import Arch, SpaceError, get_space
from .device import describe_device, fingerprint
from .energy import energy_status, open_energy_counter
from .timers import MeasureError, RepeatPolicy, make_timer, parse_device

#: per space: (default input size, default number of classes, reference architecture)
SPACE_DEFAULTS: dict[str, tuple[int, int, Arch]] = {
    "nb201": (32, 10, (3, 1, 2, 4, 3, 1)),
    "transnas_macro": (224, 75, (4, 1, 4, 1, 4, 0)),  # 64-41414-basic
}
JOURNAL_SUFFIX = ".journal.jsonl"
SOURCE = "hwpred measure"


def journal_path(out: str | Path) -> Path:
    """Where the journal of the table written to ``out`` lives: beside it, ``<out>.journal.jsonl``."""
    out = Path(out)
    return out.with_name(out.name + JOURNAL_SUFFIX)


@dataclass(frozen=True)
class MeasureConfig:
    """Everything that defines one measurement protocol (archs selection is separate)."""

    space: str = "nb201"
    device: str = "cpu"
    batch_size: int = 1
    input_size: int | None = None
    num_classes: int | None = None
    threads: int | None = 1
    policy: RepeatPolicy = field(default_factory=RepeatPolicy)
    two_pass: bool = False
    reference: tuple[int, ...] | None = None
    reference_every: int = 100
    seed: int = 0
    tag: str | None = None
    cudnn_benchmark: bool = True
    checkpoint_every: int = 250
    energy: bool = True
    clock: str = "wall"  # CPU only: "wall" latency (default) or "cpu" thread CPU time as the primary figure
    paired_reference: bool = False  # CPU only: pair each timed forward with one of the reference model
    rounds: int = 1  # jobs per architecture and pass; the pass reports the median of their statistics

    def resolved(self) -> "MeasureConfig":
        """Fill per-space defaults and validate; raises MeasureError/ConfigError for bad values."""
        try:
            sp = get_space(self.space)
        except SpaceError as exc:
            raise MeasureError(str(exc)) from None
        kind, _ = parse_device(self.device)
        if self.batch_size < 1:
            raise MeasureError(f"batch size must be >= 1, got {self.batch_size}")
        if self.rounds < 1:
            raise MeasureError(f"rounds must be >= 1 jobs per architecture and pass, got {self.rounds}")
        if self.reference_every < 1:
            raise MeasureError(f"reference interval must be >= 1 architectures, got {self.reference_every}")
        size, classes, ref = SPACE_DEFAULTS.get(sp.name, (32, 10, None))
        input_size = self.input_size or size
        if input_size < 8:
            raise MeasureError(f"input size must be >= 8 pixels, got {input_size}")
        num_classes = self.num_classes or classes
        reference = tuple(self.reference) if self.reference is not None else (ref or sp.enumerate()[0])
        try:
            reference = sp.validate(reference)
        except SpaceError as exc:
            raise MeasureError(f"reference architecture: {exc}") from None
        threads = self.threads if kind == "cpu" else None
        if self.clock not in ("wall", "cpu"):
            raise MeasureError(f"unknown clock {self.clock!r}; use 'wall' or 'cpu'")
        if self.clock == "cpu" and (kind != "cpu" or threads != 1):
            raise MeasureError("the 'cpu' clock (thread CPU time) needs --device cpu --threads 1")
        if self.paired_reference and kind != "cpu":
            raise MeasureError("--paired-reference is a CPU option (for machines shared with other jobs); "
                               "CUDA is timed with events")
        tag = self.tag or default_tag(kind, threads, self.batch_size)
        if "/" in tag or not tag.strip():
            raise MeasureError(f"device tag {tag!r} must be non-empty and contain no '/'")
        return replace(self, space=sp.name, device=self.device if kind == "cpu" else self.device.lower(),
                       input_size=input_size, num_classes=num_classes, reference=reference, threads=threads, tag=tag)

    def protocol(self) -> dict:
        """What must be identical for two runs' measurements to share one table."""
        c = self.resolved()
        return {"space": c.space, "device": c.device, "batch_size": c.batch_size, "input_size": c.input_size,
                "num_classes": c.num_classes, "threads": c.threads, "policy": c.policy.to_dict(),
                "two_pass": c.two_pass, "reference": list(c.reference), "tag": c.tag,
                "cudnn_benchmark": c.cudnn_benchmark if c.device != "cpu" else None, "clock": c.clock,
                "paired_reference": c.paired_reference, "rounds": c.rounds}


def default_tag(kind: str, threads: int | None, batch_size: int) -> str:
    return f"cpu-t{threads}-b{batch_size}" if kind == "cpu" else f"cuda-b{batch_size}"


def columns_for(tag: str, two_pass: bool, energy: bool, cpu_time: bool = False,
                paired: bool = False, paired_q10: bool = False) -> dict[str, str]:
    """Column name -> unit of a measurement table."""
    cols = {f"{tag}/latency_ms": "ms", f"{tag}/latency_iqr_ms": "ms", f"{tag}/latency_std_ms": "ms",
            f"{tag}/latency_mean_ms": "ms", f"{tag}/latency_min_ms": "ms", f"{tag}/n_repeats": "count"}
    if two_pass:
        cols.update({f"{tag}/latency_pass2_ms": "ms", f"{tag}/latency_pass2_iqr_ms": "ms",
                     f"{tag}/n_repeats_pass2": "count"})
    if paired:
        cols[f"{tag}/rel_latency"] = "ratio to reference"
        if two_pass:
            cols[f"{tag}/rel_latency_pass2"] = "ratio to reference"
    if paired_q10:
        cols[f"{tag}/rel_latency_q10"] = "ratio to reference"
        if two_pass:
            cols[f"{tag}/rel_latency_q10_pass2"] = "ratio to reference"
    if cpu_time:
        cols[f"{tag}/cpu_time_ms"] = "ms"
        if two_pass:
            cols[f"{tag}/cpu_time_pass2_ms"] = "ms"
    if energy:
        cols[f"{tag}/energy_mj"] = "mJ"
        if two_pass:
            cols[f"{tag}/energy_pass2_mj"] = "mJ"
    return cols


# -- architecture selection --------------------------------------------------------------------
def read_archs_file(path: str | os.PathLike, space) -> list[Arch]:
    """One architecture per line: its string, or its ops as ints ('3,1,2,4,3,1', '(3, 1, ...)').

    Blank lines and '#' comments are ignored; a bad line is an error naming the line.
    """
    p = Path(path)
    if not p.is_file():
        raise MeasureError(f"architecture file {p} does not exist")
    out, seen = [], set()
    for lineno, raw in enumerate(p.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("|") else raw.strip()
        if not line:
            continue
        try:
            cleaned = line.strip("()[] ")
            if cleaned and all(ch.isdigit() or ch in ", \t" for ch in cleaned):
                arch = space.validate(tuple(int(t) for t in cleaned.replace(",", " ").split()))
            else:
                arch = space.from_string(line)
        except SpaceError as exc:
            raise MeasureError(f"{p}:{lineno}: {exc}") from None
        if arch not in seen:
            seen.add(arch)
            out.append(arch)
    if not out:
        raise MeasureError(f"architecture file {p} lists no architecture")
    return out


def select_archs(space, archs: Iterable[Sequence[int]] | None = None, limit: int | None = None,
                 seed: int = 0) -> list[Arch]:
    """The pool (given archs or the whole space), reduced to a seeded random ``limit`` subset."""
    sp = get_space(space)
    if archs is None:
        pool = sp.enumerate()
    else:
        pool, seen = [], set()
        for a in archs:
            try:
                t = sp.from_string(a) if isinstance(a, str) else sp.validate(a)
            except SpaceError as exc:
                raise MeasureError(str(exc)) from None
            if t not in seen:
                seen.add(t)
                pool.append(t)
    if limit is not None:
        if limit < 1:
            raise MeasureError(f"--limit must be >= 1, got {limit}")
        if limit < len(pool):
            # a prefix of one seeded permutation: a larger --limit extends a smaller one (resume)
            idx = np.random.default_rng([seed, 1]).permutation(len(pool))[:limit]
            pool = [pool[i] for i in sorted(idx)]
    return pool


def schedule_rounds(archs: Sequence[Arch], two_pass: bool, seed: int, rounds: int = 1) -> list[tuple[Arch, int, int]]:
    """Jobs (arch, pass, round): ``rounds`` sweeps over every arch and pass, each in its own shuffled order.

    Round 0 is the order of :func:`schedule`, so journals of one-round runs resume as before, and a
    run of several rounds that stops after its first sweep holds what a one-round run would. Each
    later sweep completes another job for every cell, so a long run gives a usable reading at
    every sweep's end, and the jobs of one cell lie a sweep apart, in different states of the machine.
    """
    return [(a, p, r) for r in range(rounds) for a, p in schedule(archs, two_pass, seed, sweep=r)]


def schedule(archs: Sequence[Arch], two_pass: bool, seed: int, sweep: int = 0) -> list[tuple[Arch, int]]:
    """Jobs (arch, pass) in a shuffled order; the second pass has its own order, interleaved.

    ``sweep`` > 0 draws another order (a later round of :func:`schedule_rounds`)."""
    rng = np.random.default_rng([seed, 2] if sweep == 0 else [seed, 2, sweep])
    first = [archs[i] for i in rng.permutation(len(archs))]
    if not two_pass:
        return [(a, 0) for a in first]
    second = [archs[i] for i in rng.permutation(len(archs))]
    jobs: list[tuple[Arch, int]] = []
    for a, b in zip(first, second):
        jobs.append((a, 0))
        jobs.append((b, 1))
    return jobs


# -- journal -----------------------------------------------------------------------------------
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
        with open(self.path, "r", encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError:
                if i >= len(lines) - 2:  # only the last line may be torn
                    continue
                raise DataError(f"measurement journal {self.path} is corrupt at line {i + 1}; "
                                "delete it (and the output) to start the run over") from None
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


# -- progress ----------------------------------------------------------------------------------
class _Progress:
    """rich progress bar on a terminal; a plain line every ``every_s`` seconds otherwise (logs)."""

    def __init__(self, total: int, description: str, enabled: bool = True, every_s: float = 30.0):
        self.total, self.description, self.enabled, self.every_s = total, description, enabled, every_s
        self.done = 0
        self._rich = None
        self._t0 = self._last = time.monotonic()

    def __enter__(self):
        if self.enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), transient=False)
            self._rich.__enter__()
            self._task = self._rich.add_task(self.description, total=self.total)
        return self

    def advance(self, note: str = "") -> None:
        self.done += 1
        if self._rich is not None:
            self._rich.update(self._task, advance=1)
        elif self.enabled:
            now = time.monotonic()
            if now - self._last >= self.every_s or self.done == self.total:
                self._last = now
                rate = self.done / max(now - self._t0, 1e-9) * 60
                print(f"[{_dt.datetime.now(_dt.timezone.utc):%H:%M:%S}] {self.description}: {self.done}/{self.total} "
                      f"jobs, {rate:.1f}/min {note}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._rich is not None:
            self._rich.__exit__(*exc)


# -- the run -----------------------------------------------------------------------------------
@dataclass
class MeasureResult:
    table: MetricTable
    path: Path | None
    measured_now: int
    failed_now: int
    wall_s: float
    complete: bool


def _arch_key(a) -> Arch:
    return tuple(int(v) for v in a)


def _error_text(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:400]}"


_ADAPTIVE_ONLY = ("target_rel_ci", "confidence", "max_repeats", "max_time_s", "step")


def _normalised_protocol(p: dict) -> dict:
    """A protocol without what cannot change a measurement: the adaptive rule's settings when the run
    is not adaptive; journals and tables from before ``rounds`` existed measured one job per pass."""
    p = dict(p)
    pol = dict(p.get("policy") or {})
    if not pol.get("adaptive"):
        for k in _ADAPTIVE_ONLY:
            pol.pop(k, None)
    p["policy"] = pol
    p.setdefault("rounds", 1)
    return p


def same_protocol(a: dict | None, b: dict | None) -> bool:
    """Protocols match when everything that changes a measurement matches."""
    if a is None or b is None:
        return a is b
    return _normalised_protocol(a) == _normalised_protocol(b)


def raises_rounds(old: dict | None, new: dict | None) -> bool:
    """Whether ``new`` is ``old`` with more rounds and nothing else changed. Sweep r's order depends
    only on the seed and r, so the jobs of an R-round run are the first R sweeps of any longer run:
    a finished or unfinished run can go on to more jobs per architecture and pass."""
    if old is None or new is None:
        return False
    o, n = _normalised_protocol(old), _normalised_protocol(new)
    return o["rounds"] < n["rounds"] and {**o, "rounds": n["rounds"]} == n


def journal_protocol(records: list[dict]) -> dict | None:
    """The protocol a journal is now measured with: its last header's (a run whose rounds were raised
    has a header per raise)."""
    header = next((r for r in reversed(records) if r.get("kind") == "header"), None)
    return header.get("protocol") if header else None


def _check_existing_output(out: Path, protocol: dict) -> None:
    """An existing output must be a measurement table of the same protocol."""
    try:
        old = MetricTable.read_parquet(out)
    except DataError as exc:
        raise MeasureError(f"output {out} exists and is not a measurement table ({exc}); choose another --out") from None
    prot = old.meta.get("measure", {}).get("protocol") if isinstance(old.meta, dict) else None
    if old.meta.get("source") != SOURCE or prot is None:
        raise MeasureError(f"output {out} holds another table (source {old.meta.get('source')!r}, space "
                           f"{old.space}); choose another --out or pass --overwrite to replace it")
    if not (same_protocol(prot, protocol) or raises_rounds(prot, protocol)):
        prot, protocol = _normalised_protocol(prot), _normalised_protocol(protocol)
        diff = sorted(k for k in set(prot) | set(protocol) if prot.get(k) != protocol.get(k))
        raise MeasureError(f"output {out} holds a measurement table of another protocol (differs in: "
                           f"{', '.join(diff)}); choose another --out or pass --overwrite to replace it")


def _records_from_table(table: MetricTable, tag: str, two_pass: bool) -> list[dict]:
    """Rebuild journal records from a finished table (when its journal was deleted)."""
    recs = []
    cols = table.columns
    for i, a in enumerate(table.arch_tuples):
        for p, suffix in ((0, ""), (1, "_pass2")) if two_pass else ((0, ""),):
            med = cols.get(f"{tag}/latency{suffix}_ms")
            if med is None:
                continue
            st = {"median_ms": float(med[i]), "iqr_ms": float(cols.get(f"{tag}/latency{suffix}_iqr_ms", med)[i]),
                  "n": int(cols.get(f"{tag}/n_repeats{suffix}", np.zeros(len(table)))[i])}
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
            recs.append({"kind": "result", "arch": list(a), "pass": p, "round": None, "stats": st, "session": -1})
    for f in table.meta.get("failed", []):
        recs.append({"kind": "failure", "arch": list(get_space(table.space).from_string(f["arch"])),
                     "pass": 0, "error": f["error"], "session": -1})
    for r in table.meta.get("reference", {}).get("series", []):
        recs.append({"kind": "reference", **r})
    return recs


def reference_summary(records: list[dict]) -> dict:
    series = [{k: r[k] for k in ("t", "done", "median_ms", "session") if k in r}
              for r in records if r.get("kind") == "reference"]
    if not series:
        return {"series": []}
    meds = np.array([s["median_ms"] for s in series])
    return {"series": series, "first_ms": float(meds[0]), "last_ms": float(meds[-1]),
            "drift_rel": float(meds[-1] / meds[0] - 1.0),
            "range_rel": float((meds.max() - meds.min()) / np.median(meds)),
            "cv": float(meds.std(ddof=1) / meds.mean()) if len(meds) > 1 else 0.0}


def merge_rounds(rounds: Sequence[dict]) -> dict:
    """One pass's statistics from the statistics of its jobs: the median of each figure (the minimum
    of the minima, the sum of the forwards); a figure missing from any job is missing."""
    if len(rounds) == 1:
        return dict(rounds[0])
    out: dict = {}
    for k in rounds[0]:
        vals = [r.get(k) for r in rounds]
        if any(v is None for v in vals):
            out[k] = None
        elif k == "n":
            out[k] = int(sum(vals))
        elif k == "min_ms":
            out[k] = float(min(vals))
        else:
            out[k] = float(np.median(vals))
    return out


def results_by_round(records: list[dict]) -> dict[Arch, dict[int, dict]]:
    """Each finished job's statistics by arch, pass and round: ``[arch][pass][round]``. A record merged
    over all its rounds (rebuilt from a table) is under round ``"all"``; one-round journals are round 0."""
    out: dict[Arch, dict[int, dict]] = {}
    for r in records:
        if r.get("kind") == "result":
            rnd = r.get("round", 0)
            out.setdefault(_arch_key(r["arch"]), {}).setdefault(int(r["pass"]), {})[
                "all" if rnd is None else int(rnd)] = r["stats"]
    return out


def _result_keys(records: list[dict], rounds: int) -> set[tuple[Arch, int, int]]:
    """(arch, pass, round) of every finished job; a record merged over all rounds covers them all."""
    return {(a, p, q) for a, passes in results_by_round(records).items() for p, jobs in passes.items()
            for q in (range(rounds) if "all" in jobs else jobs)}


def build_table(records: list[dict], cfg: MeasureConfig, device: dict, *, complete: bool,
                requested: int, extra_meta: dict | None = None) -> MetricTable:
    """The MetricTable of every architecture whose passes all succeeded (failures -> metadata)."""
    sp = get_space(cfg.space)
    npass = 2 if cfg.two_pass else 1
    failed: dict[Arch, str] = {}
    for r in records:
        if r.get("kind") == "failure":
            failed.setdefault(_arch_key(r["arch"]), r["error"])
    stats: dict[Arch, dict[int, dict]] = {}
    for a, passes in results_by_round(records).items():
        for p, jobs in passes.items():
            if "all" in jobs:
                stats.setdefault(a, {})[p] = jobs["all"]
            elif all(q in jobs for q in range(cfg.rounds)):
                stats.setdefault(a, {})[p] = merge_rounds([jobs[q] for q in range(cfg.rounds)])
    archs = [a for a, s in stats.items() if len(s) == npass and a not in failed]
    archs.sort(key=lambda a: a)
    has_energy = bool(archs) and all(stats[a][p].get("energy_mj") is not None for a in archs for p in range(npass))
    has_cpu = bool(archs) and all(stats[a][p].get("cpu_median_ms") is not None for a in archs for p in range(npass))
    has_ratio = bool(archs) and all(stats[a][p].get("ratio_median") is not None for a in archs for p in range(npass))
    # tables journalled before the q10 ratio existed keep their columns when resumed
    has_q10 = has_ratio and all(stats[a][p].get("ratio_q10") is not None for a in archs for p in range(npass))
    units = columns_for(cfg.tag, cfg.two_pass, has_energy, has_cpu, has_ratio, has_q10)
    t = cfg.tag
    cols: dict[str, list] = {c: [] for c in units}
    for a in archs:
        s0 = stats[a][0]
        cols[f"{t}/latency_ms"].append(s0["median_ms"])
        cols[f"{t}/latency_iqr_ms"].append(s0["iqr_ms"])
        cols[f"{t}/latency_std_ms"].append(s0["std_ms"])
        cols[f"{t}/latency_mean_ms"].append(s0["mean_ms"])
        cols[f"{t}/latency_min_ms"].append(s0["min_ms"])
        cols[f"{t}/n_repeats"].append(s0["n"])
        if cfg.two_pass:
            s1 = stats[a][1]
            cols[f"{t}/latency_pass2_ms"].append(s1["median_ms"])
            cols[f"{t}/latency_pass2_iqr_ms"].append(s1["iqr_ms"])
            cols[f"{t}/n_repeats_pass2"].append(s1["n"])
        if has_ratio:
            cols[f"{t}/rel_latency"].append(s0["ratio_median"])
            if cfg.two_pass:
                cols[f"{t}/rel_latency_pass2"].append(stats[a][1]["ratio_median"])
        if has_q10:
            cols[f"{t}/rel_latency_q10"].append(s0["ratio_q10"])
            if cfg.two_pass:
                cols[f"{t}/rel_latency_q10_pass2"].append(stats[a][1]["ratio_q10"])
        if has_cpu:
            cols[f"{t}/cpu_time_ms"].append(s0["cpu_median_ms"])
            if cfg.two_pass:
                cols[f"{t}/cpu_time_pass2_ms"].append(stats[a][1]["cpu_median_ms"])
        if has_energy:
            cols[f"{t}/energy_mj"].append(s0["energy_mj"])
            if cfg.two_pass:
                cols[f"{t}/energy_pass2_mj"].append(stats[a][1]["energy_mj"])
    sessions = [r for r in records if r.get("kind") == "session"]
    wall = 0.0
    for s in sessions:
        ts = [r["t"] for r in records if r.get("session") == s["session"] and "t" in r]
        if ts:
            wall += max(ts) - s["t"]
    n_results = sum(1 for r in records if r.get("kind") == "result")
    meta = {
        "source": SOURCE,
        "device": device,
        "measure": {"protocol": cfg.protocol(), "complete": complete, "requested": requested,
                    "rows": len(archs), "failed": len(failed), "jobs_done": n_results, "sessions": len(sessions),
                    "wall_s": round(wall, 3), "jobs_per_min": round(n_results / wall * 60, 2) if wall > 0 else None,
                    "order": "shuffled (seeded), reference re-measured every "
                             f"{cfg.reference_every} jobs" + (", two interleaved passes" if cfg.two_pass else "")
                             + (f", {cfg.rounds} jobs per pass on fresh builds, their median reported"
                                if cfg.rounds > 1 else "")},
        "reference": {"arch": sp.to_string(cfg.reference), **reference_summary(records)},
        "failed": [{"arch": sp.to_string(a), "error": e} for a, e in sorted(failed.items())],
        "energy": energy_status(parse_device(cfg.device)[0]) if cfg.energy else {"available": False, "reason": "disabled"},
    }
    if extra_meta:
        meta.update(extra_meta)
    arr = np.asarray(archs, dtype=np.int64).reshape(-1, sp.num_positions)
    return MetricTable(sp.name, arr, {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}, meta, units)


def measure_space(config: MeasureConfig, archs: Iterable[Sequence[int]] | None = None, limit: int | None = None,
                  out: str | os.PathLike | None = None, resume: bool = False, overwrite: bool = False,
                  progress: bool = True, build_fn: Callable | None = None, register_name: str | None = None,
                  extra_meta: dict | None = None) -> MeasureResult:
    """Measure architectures of ``config.space`` into a MetricTable (written to ``out`` if given).

    ``build_fn(arch) -> nn.Module`` overrides how models are built (tests, lookup tables).
    """
    import torch

    cfg = config.resolved()
    sp = get_space(cfg.space)
    pool = select_archs(sp, archs, limit, cfg.seed)
    kind, index = parse_device(cfg.device)
    timer = make_timer(cfg.device, cfg.policy, threads=cfg.threads, cudnn_benchmark=cfg.cudnn_benchmark,
                       clock=cfg.clock)
    timer.prepare()
    device = describe_device(kind, threads=cfg.threads, batch_size=cfg.batch_size, input_size=cfg.input_size,
                             index=index)
    protocol = cfg.protocol()

    out_path = Path(out) if out is not None else None
    journal = Journal(journal_path(out_path) if out_path else None)
    if out_path is not None:
        if out_path.is_dir():
            raise MeasureError(f"--out {out_path} is a directory; give a .parquet file path")
        if overwrite:
            for p in (out_path, journal.path):
                if p.exists():
                    p.unlink()
        if out_path.exists():
            _check_existing_output(out_path, protocol)
            if not resume:
                raise MeasureError(f"output {out_path} already exists; pass --resume to measure only the missing "
                                   "architectures, --overwrite to start over, or choose another --out")
        if journal.path.exists() and not resume:
            raise MeasureError(f"an unfinished run's journal exists at {journal.path}; pass --resume to continue "
                               "it or --overwrite to start over")
    records = journal.load() if resume else []
    if records:
        header = next((r for r in records if r.get("kind") == "header"), None)
        was = journal_protocol(records)
        raised = raises_rounds(was, protocol)
        if header is None or not (raised or same_protocol(was, protocol)):
            raise MeasureError(f"journal {journal.path} was written with another protocol; resume with the same "
                               "options (or only a larger --rounds), or pass --overwrite to start over")
        if header.get("fingerprint") != fingerprint(device):
            raise MeasureError(f"journal {journal.path} was measured on another machine/software "
                               f"({header.get('fingerprint')}); resuming would mix devices in one table")
        if raised:
            if any(r.get("kind") == "result" and r.get("round", 0) is None for r in records):
                raise MeasureError(f"journal {journal.path} was rebuilt from a table, which keeps each pass's "
                                   "figures merged over its rounds only; --rounds can be raised only from the "
                                   "run's own journal")
            journal.append({"kind": "header", "protocol": protocol, "fingerprint": fingerprint(device),
                            "raised_rounds_from": _normalised_protocol(was)["rounds"]})
    elif resume and out_path is not None and out_path.exists():
        old = MetricTable.read_parquet(out_path)
        if fingerprint(old.meta.get("device", {})) != fingerprint(device):
            raise MeasureError(f"{out_path} was measured on another machine/software; resuming would mix devices")
        if not same_protocol(old.meta.get("measure", {}).get("protocol"), protocol):
            raise MeasureError(f"{out_path} keeps each pass's figures merged over its rounds only, and its journal "
                               f"{journal.path} is gone; --rounds can be raised only from the run's journal")
        journal.append({"kind": "header", "protocol": protocol, "fingerprint": fingerprint(device),
                        "rebuilt_from": str(out_path)})
        for r in _records_from_table(old, cfg.tag, cfg.two_pass):
            journal.append(r)
    if not journal.records:
        journal.append({"kind": "header", "protocol": protocol, "fingerprint": fingerprint(device)})
    records = journal.records

    done = _result_keys(records, cfg.rounds)
    failed = {_arch_key(r["arch"]) for r in records if r.get("kind") == "failure"}
    jobs = [j for j in schedule_rounds(pool, cfg.two_pass, cfg.seed, cfg.rounds) if j not in done and j[0] not in failed]
    session = 1 + max((r["session"] for r in records if r.get("kind") == "session"), default=0)
    t_start = time.time()
    journal.append({"kind": "session", "session": session, "t": t_start, "jobs": len(jobs),
                    "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})

    energy = open_energy_counter(kind, index) if cfg.energy else None
    gen = torch.Generator().manual_seed(cfg.seed)
    x_cpu = torch.randn(cfg.batch_size, 3, cfg.input_size, cfg.input_size, generator=gen)
    build = build_fn or (lambda a: sp.build_model(a, num_classes=cfg.num_classes, input_size=cfg.input_size))
    _, x = timer.to_device(torch.nn.Identity(), x_cpu)

    ref_model = None

    def measure_reference(done_count: int) -> None:
        nonlocal ref_model
        try:
            if ref_model is None:
                ref_model, _ = timer.to_device(build(cfg.reference), x_cpu)
            st = timer.measure(ref_model, x)
        except Exception as exc:  # the reference failing is worth a note, not the run
            journal.append({"kind": "reference_failure", "error": _error_text(exc), "t": time.time(),
                            "session": session})
            return
        journal.append({"kind": "reference", "t": time.time(), "done": done_count, "median_ms": st.median_ms,
                        "session": session})

    measured_now = failed_now = 0
    path_done = len(done)
    since_ckpt = 0
    desc = f"measure {sp.name} on {cfg.tag}"
    if jobs:
        measure_reference(path_done)
        if cfg.paired_reference and ref_model is None:
            journal.close()
            raise MeasureError(f"the reference architecture {sp.to_string(cfg.reference)} failed to run, so it cannot "
                               "be paired with the others; choose another with --reference")
    restore_term = _sigterm_as_interrupt()
    try:
        with _Progress(len(jobs), desc, enabled=progress) as bar:
            for k, (arch, p, rnd) in enumerate(jobs):
                if arch in failed:  # its other pass failed earlier in this session
                    bar.advance()
                    continue
                model = None
                try:
                    model, _ = timer.to_device(build(arch), x_cpu)
                    st = timer.measure(model, x, energy, reference=ref_model) if cfg.paired_reference \
                        else timer.measure(model, x, energy)
                    rec = {"kind": "result", "arch": list(arch), "pass": p, "stats": st.to_dict(),
                           "t": time.time(), "session": session}
                    if cfg.rounds > 1:
                        rec["round"] = rnd
                    journal.append(rec)
                    measured_now += 1
                except Exception as exc:  # OOM, runtime errors in a model: record and go on
                    failed.add(arch)
                    failed_now += 1
                    journal.append({"kind": "failure", "arch": list(arch), "pass": p, "error": _error_text(exc),
                                    "t": time.time(), "session": session})
                finally:
                    del model
                if kind == "cuda" and arch in failed:
                    torch.cuda.empty_cache()  # after the model is gone, so an OOM does not poison the next job
                bar.advance(f"({failed_now} failed)" if failed_now else "")
                if (k + 1) % cfg.reference_every == 0:
                    measure_reference(path_done + k + 1)
                since_ckpt += 1
                if out_path is not None and since_ckpt >= cfg.checkpoint_every and k + 1 < len(jobs):
                    since_ckpt = 0
                    build_table(records, cfg, device, complete=False, requested=len(pool),
                                extra_meta=extra_meta).to_parquet(out_path)
        if jobs:
            measure_reference(path_done + len(jobs))
    except KeyboardInterrupt:
        # keep what was measured readable as a table too, not only in the journal
        if out_path is not None and any(r.get("kind") == "result" for r in records):
            build_table(records, cfg, device, complete=False, requested=len(pool),
                        extra_meta=extra_meta).to_parquet(out_path)
        raise
    finally:
        journal.close()
        restore_term()

    npass = 2 if cfg.two_pass else 1
    done_now = _result_keys(records, cfg.rounds)
    complete = all(a in failed or all((a, q, r) in done_now for q in range(npass) for r in range(cfg.rounds))
                   for a in pool)
    table = build_table(records, cfg, device, complete=complete, requested=len(pool), extra_meta=extra_meta)
    if out_path is not None:
        table.to_parquet(out_path)
        if register_name:
            register_table(register_name, out_path, f"{cfg.tag}/latency_ms")
    return MeasureResult(table, out_path, measured_now, failed_now, time.time() - t_start, complete)


def _sigterm_as_interrupt() -> Callable[[], None]:
    """Treat SIGTERM (``kill PID`` of a background run) like Ctrl-C, so the partial table is written."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def register_table(name: str, path: Path, column: str | None = None) -> str:
    """Register ``path`` as ``local:<name>`` (default column: the median latency) in the data registry."""
    try:
        from ..data import register_local
    except ImportError:
        raise MeasureError(f"the table was written to {path}, but this build has no local-table registry "
                           "(hwpred.data.register_local); load it with file:<path>#<column> instead") from None
    return register_local(name, str(path), column=column,
                          description="measured by hwpred measure")


# -- users' own models --------------------------------------------------------------------------
def load_model_spec(spec: str):
    """``package.module:function`` or ``path/to/file.py:function`` -> the nn.Module it returns."""
    import torch

    if ":" not in spec:
        raise MeasureError(f"model {spec!r} must be given as module:function (e.g. torchvision.models:resnet18)")
    mod_name, _, fn_name = spec.rpartition(":")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise MeasureError(f"model file {path} does not exist")
            sp = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(sp)
            sp.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except MeasureError:
        raise
    except Exception as exc:
        raise MeasureError(f"cannot import {mod_name!r} for model {spec!r}: {_error_text(exc)}; check the module "
                           "path and that it is importable (PYTHONPATH)") from None
    fn = getattr(module, fn_name, None)
    if fn is None or not callable(fn):
        raise MeasureError(f"module {mod_name!r} has no callable {fn_name!r} (model {spec!r})")
    try:
        model = fn()
    except Exception as exc:
        raise MeasureError(f"calling {spec}() failed: {_error_text(exc)}; it must build the model with no arguments") from None
    if not isinstance(model, torch.nn.Module):
        raise MeasureError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def measure_model(model, input_shape: Sequence[int], device: str = "cpu", policy: RepeatPolicy = RepeatPolicy(),
                  threads: int | None = 1, batch_size: int = 1, passes: int = 1, cudnn_benchmark: bool = True,
                  energy: bool = True, seed: int = 0) -> dict:
    """Latency of one model (a JSON-ready dict); each pass re-runs the warm-up and repeats."""
    import torch

    kind, index = parse_device(device)
    if len(input_shape) < 1 or any(int(s) < 1 for s in input_shape):
        raise MeasureError(f"input shape {tuple(input_shape)} must be positive sizes without the batch, e.g. 3,224,224")
    timer = make_timer(device, policy, threads=threads if kind == "cpu" else None, cudnn_benchmark=cudnn_benchmark)
    timer.prepare()
    x_cpu = torch.randn(batch_size, *map(int, input_shape), generator=torch.Generator().manual_seed(seed))
    counter = open_energy_counter(kind, index) if energy else None
    out: dict = {"device": describe_device(kind, threads=threads if kind == "cpu" else None, batch_size=batch_size,
                                           input_size=list(map(int, input_shape)), index=index),
                 "timer": timer.describe(), "passes": []}
    try:
        model, x = timer.to_device(model, x_cpu)
        for _ in range(passes):
            out["passes"].append(timer.measure(model, x, counter).to_dict())
    except MeasureError:
        raise
    except Exception as exc:
        out["error"] = _error_text(exc)
    return out
