"""From a run's journal records to its MetricTable: columns, units and provenance metadata.

A pass of an architecture with several rounds reports the median of its jobs' statistics; an
architecture enters the table when all its passes are complete and none failed (failures go to
the metadata with their error). The reference's series gives the drift of the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.table import MetricTable
from ..spaces import Arch, get_space
from .config import MeasureConfig
from .energy import energy_status
from .journal import failures, results_by_round
from .timers import MeasureError, parse_device

SOURCE = "hwpred measure"


def columns_for(
    tag: str,
    two_pass: bool,
    energy: bool,
    cpu_time: bool = False,
    paired: bool = False,
    paired_q10: bool = False,
) -> dict[str, str]:
    """Column name -> unit of a measurement table."""
    cols = {
        f"{tag}/latency_ms": "ms",
        f"{tag}/latency_iqr_ms": "ms",
        f"{tag}/latency_std_ms": "ms",
        f"{tag}/latency_mean_ms": "ms",
        f"{tag}/latency_min_ms": "ms",
        f"{tag}/n_repeats": "count",
    }
    if two_pass:
        cols.update(
            {
                f"{tag}/latency_pass2_ms": "ms",
                f"{tag}/latency_pass2_iqr_ms": "ms",
                f"{tag}/n_repeats_pass2": "count",
            }
        )
    optional = {
        "rel_latency": (paired, "ratio to reference"),
        "rel_latency_q10": (paired_q10, "ratio to reference"),
        "cpu_time_ms": (cpu_time, "ms"),
        "energy_mj": (energy, "mJ"),
    }
    for name, (wanted, unit) in optional.items():
        if wanted:
            cols[f"{tag}/{name}"] = unit
            if two_pass:
                cols[pass2_column(f"{tag}/{name}")] = unit
    return cols


def pass2_column(column: str) -> str:
    """The second pass's column of a first-pass figure: ``latency_ms`` -> ``latency_pass2_ms``,
    ``rel_latency_q10`` -> ``rel_latency_q10_pass2`` (the tag prefix, if any, is kept)."""
    for unit in ("_ms", "_mj"):
        if column.endswith(unit):
            return column[: -len(unit)] + "_pass2" + unit
    return column + "_pass2"


def reference_summary(records: list[dict]) -> dict:
    series = [
        {k: r[k] for k in ("t", "done", "median_ms", "session") if k in r}
        for r in records
        if r.get("kind") == "reference"
    ]
    if not series:
        return {"series": []}
    meds = np.array([s["median_ms"] for s in series])
    return {
        "series": series,
        "first_ms": float(meds[0]),
        "last_ms": float(meds[-1]),
        "drift_rel": float(meds[-1] / meds[0] - 1.0),
        "range_rel": float((meds.max() - meds.min()) / np.median(meds)),
        "cv": float(meds.std(ddof=1) / meds.mean()) if len(meds) > 1 else 0.0,
    }


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


def build_table(
    records: list[dict],
    cfg: MeasureConfig,
    device: dict,
    *,
    complete: bool,
    requested: int,
    extra_meta: dict | None = None,
) -> MetricTable:
    """The MetricTable of every architecture whose passes all succeeded (failures -> metadata)."""
    sp = get_space(cfg.space)
    npass = 2 if cfg.two_pass else 1
    failed = failures(records)
    stats: dict[Arch, dict[int, dict]] = {}
    for a, passes in results_by_round(records).items():
        for p, jobs in passes.items():
            if "all" in jobs:
                stats.setdefault(a, {})[p] = jobs["all"]
            elif all(q in jobs for q in range(cfg.rounds)):
                stats.setdefault(a, {})[p] = merge_rounds([jobs[q] for q in range(cfg.rounds)])
    archs = [a for a, s in stats.items() if len(s) == npass and a not in failed]
    archs.sort(key=lambda a: a)

    def everywhere(key: str) -> bool:
        return bool(archs) and all(stats[a][p].get(key) is not None for a in archs for p in range(npass))

    has_energy, has_cpu = everywhere("energy_mj"), everywhere("cpu_median_ms")
    has_ratio = everywhere("ratio_median")
    # tables journalled before the q10 ratio existed keep their columns when resumed
    has_q10 = has_ratio and everywhere("ratio_q10")
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
        "measure": {
            "protocol": cfg.protocol(),
            "complete": complete,
            "requested": requested,
            "rows": len(archs),
            "failed": len(failed),
            "jobs_done": n_results,
            "sessions": len(sessions),
            "wall_s": round(wall, 3),
            "jobs_per_min": round(n_results / wall * 60, 2) if wall > 0 else None,
            "order": "shuffled (seeded), reference re-measured every "
            f"{cfg.reference_every} jobs"
            + (", two interleaved passes" if cfg.two_pass else "")
            + (
                f", {cfg.rounds} jobs per pass on fresh builds, their median reported"
                if cfg.rounds > 1
                else ""
            ),
        },
        "reference": {"arch": sp.to_string(cfg.reference), **reference_summary(records)},
        "failed": [{"arch": sp.to_string(a), "error": e} for a, e in sorted(failed.items())],
        "energy": energy_status(parse_device(cfg.device)[0])
        if cfg.energy
        else {"available": False, "reason": "disabled"},
    }
    if extra_meta:
        meta.update(extra_meta)
    arr = np.asarray(archs, dtype=np.int64).reshape(-1, sp.num_positions)
    values = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    return MetricTable(sp.name, arr, values, meta, units)


def register_table(name: str, path: Path, column: str | None = None) -> str:
    """Register ``path`` as ``local:<name>`` (default column: the median latency) in the data registry."""
    try:
        from ..data import register_local
    except ImportError:
        raise MeasureError(
            f"the table was written to {path}, but this build has no local-table registry "
            "(hwpred.data.register_local); load it with file:<path>#<column> "
            "instead"
        ) from None
    return register_local(name, str(path), column=column, description="measured by hwpred measure")


__all__ = [
    "SOURCE",
    "build_table",
    "columns_for",
    "merge_rounds",
    "pass2_column",
    "reference_summary",
    "register_table",
]
