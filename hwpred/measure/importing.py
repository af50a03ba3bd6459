"""``hwpred measure import``: a device tool's timings of exported models -> a MetricTable.

The tool's CSV is read against the export's manifest (:mod:`.export`): every row must name a
model of the manifest (by file or architecture), once, with a positive finite latency in a known
unit; files present in the export folder must still hash to the manifest's sha256. Any problem is
reported row by row and nothing is written; models without a row are an error too unless
``allow_missing``, and then the table's metadata lists them.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.table import MetricTable
from ..spaces import SpaceError, get_space
from .export import read_manifest, sha256_of
from .timers import MeasureError

SOURCE = "hwpred measure import"
#: latency / energy column -> factor to ms / mJ
LATENCY_UNITS = {"latency_ms": 1.0, "latency_us": 1e-3, "latency_ns": 1e-6, "latency_s": 1e3}
ENERGY_UNITS = {"energy_mj": 1.0, "energy_j": 1e3}
KNOWN = {"file", "arch", "repeats", "sha256", *LATENCY_UNITS, *ENERGY_UNITS}
MAX_LISTED = 20


class ImportProblems(MeasureError):
    """An import that found problems: one summary line, then one line per problem."""


@dataclass
class ImportResult:
    table: MetricTable
    path: Path | None
    rows: int
    missing: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _one_of(header: list[str], units: dict[str, float], what: str, required: bool) -> str | None:
    cols = [c for c in header if c in units]
    bad = [c for c in header if c.startswith(what + "_") and c not in units]
    if bad:
        raise MeasureError(f"column {bad[0]!r}: unknown {what} unit; use one of {', '.join(units)}")
    if len(cols) > 1:
        raise MeasureError(f"columns {', '.join(cols)} give the {what} twice; keep one")
    if required and not cols:
        raise MeasureError(f"no {what} column; add one of {', '.join(units)}")
    return cols[0] if cols else None


def _number(text: str, what: str, allow_zero: bool = False) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{what} {text!r} must be a positive finite number")
    return v


class _Index:
    """The manifest's models by file path, file name and architecture."""

    def __init__(self, manifest: dict):
        self.sp = get_space(manifest["space"])
        self.by_file: dict[str, dict] = {}
        self.by_arch: dict[tuple, dict] = {}
        for m in manifest["models"]:
            self.by_file[m["file"]] = m
            self.by_file.setdefault(Path(m["file"]).name, m)
            self.by_arch[tuple(m["ops"])] = m

    def arch(self, text: str) -> tuple:
        t = text.strip()
        if t.isdigit() and len(t) == self.sp.num_positions:
            return self.sp.validate(tuple(int(c) for c in t))
        return self.sp.from_string(t)

    def lookup(self, file: str | None, arch: str | None) -> dict:
        entry = None
        if file:
            entry = self.by_file.get(file.strip()) or self.by_file.get(Path(file.strip()).name)
            if entry is None:
                raise ValueError(f"unknown file {file!r}: not in the manifest")
        if arch:
            try:
                a = self.arch(arch)
            except SpaceError as exc:
                raise ValueError(f"{exc} (the manifest is of the {self.sp.name} space)") from None
            by_arch = self.by_arch.get(a)
            if by_arch is None:
                raise ValueError(f"architecture {arch!r} is not in this export")
            if entry is not None and by_arch is not entry:
                raise ValueError(f"file {file!r} holds {entry['arch']}, not {arch!r}")
            entry = by_arch
        if entry is None:
            raise ValueError("names no model: give its file or arch")
        return entry


def _parse_row(cells: dict[str, str], index: _Index, lat_col: str, en_col: str | None) -> tuple[dict, dict]:
    """(the manifest entry a row names, its figures in ms / mJ / count); ValueError says what is wrong."""
    entry = index.lookup(cells.get("file"), cells.get("arch"))
    if lat_col not in cells:
        raise ValueError(f"no {lat_col} value")
    rec = {"latency_ms": _number(cells[lat_col], lat_col) * LATENCY_UNITS[lat_col]}
    if en_col and en_col in cells:
        rec["energy_mj"] = _number(cells[en_col], en_col, allow_zero=True) * ENERGY_UNITS[en_col]
    if "repeats" in cells:
        r = _number(cells["repeats"], "repeats")
        if r != int(r):
            raise ValueError(f"repeats {cells['repeats']!r} is not a whole number")
        rec["n_repeats"] = int(r)
    sha = cells.get("sha256")
    if sha is not None and sha.lower() != entry["sha256"]:
        raise ValueError(f"sha256 {sha[:12]}... is not the manifest's for {entry['file']}")
    return entry, rec


def _check_files(folder: Path, manifest: dict) -> list[str]:
    """The models present in the export folder whose bytes no longer match the manifest."""
    problems = []
    for m in manifest["models"]:
        p = folder / m["file"]
        if p.is_file() and sha256_of(p) != m["sha256"]:
            problems.append(f"{m['file']}: sha256 differs from the manifest (the file changed after export)")
    return problems


def import_results(
    export_dir: str | os.PathLike,
    results: str | os.PathLike,
    device: str,
    out: str | os.PathLike | None = None,
    *,
    space: str | None = None,
    allow_missing: bool = False,
    runtime: str | None = None,
) -> ImportResult:
    """Read ``results`` (the device tool's CSV) against the export in ``export_dir``.

    The table has ``<device>/latency_ms`` and, where the CSV has them, ``<device>/energy_mj`` and
    ``<device>/n_repeats``; its metadata carries the device name, the manifest's input shape,
    opset and versions, and the CSV's sha256.

    Examples
    --------
    >>> # export_space("nb201", "exp", limit=5); a tool writes exp-results.csv
    >>> # import_results("exp", "exp-results.csv", device="pixel8").table.column_names[0]
    >>> # 'pixel8/latency_ms'
    """
    folder = Path(export_dir)
    manifest = read_manifest(folder)
    if space is not None and get_space(space).name != manifest["space"]:
        raise MeasureError(
            f"the manifest in {folder} is of the {manifest['space']} space, not {get_space(space).name}"
        )
    tag = str(device).strip()
    if not tag or "/" in tag:
        raise MeasureError(f"device name {device!r} must be non-empty and contain no '/'")
    rpath = Path(results)
    if not rpath.is_file():
        raise MeasureError(f"results file {rpath} does not exist")
    with open(rpath, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        rows = list(reader)
    if not header:
        raise MeasureError(f"{rpath} is empty; it needs a header line (see README.txt in {folder})")
    try:
        if "file" not in header and "arch" not in header:
            raise MeasureError("no 'file' or 'arch' column to name the models")
        lat_col = _one_of(header, LATENCY_UNITS, "latency", required=True)
        en_col = _one_of(header, ENERGY_UNITS, "energy", required=False)
    except MeasureError as exc:
        raise MeasureError(f"{rpath}: {exc}") from None
    col = {h: i for i, h in enumerate(header)}
    ignored = [h for h in header if h not in KNOWN]
    index = _Index(manifest)
    problems = _check_files(folder, manifest)
    seen: dict[str, int] = {}
    got: dict[str, dict] = {}
    for lineno, raw in enumerate(rows, start=2):
        cells = {h: raw[i].strip() for h, i in col.items() if i < len(raw) and raw[i].strip()}
        if not cells:
            continue
        try:
            entry, rec = _parse_row(cells, index, lat_col, en_col)
            if entry["file"] in seen:
                raise ValueError(f"duplicate of row {seen[entry['file']]} ({entry['arch']})")
        except ValueError as exc:
            problems.append(f"row {lineno}: {exc}")
            continue
        seen[entry["file"]] = lineno
        got[entry["file"]] = {**rec, "ops": tuple(entry["ops"])}
    missing = [m["arch"] for m in manifest["models"] if m["file"] not in got]
    if missing and not allow_missing:
        problems.append(
            f"{len(missing)} of {len(manifest['models'])} exported models have no row, e.g. {missing[0]} "
            "(pass `allow_missing=True` to import the others)"
        )
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ImportProblems(f"{rpath}: {len(problems)} problem(s), nothing imported:\n  {listed}{more}")
    table = _table(index.sp, got, tag, manifest, rpath, folder, missing, runtime)
    path = None
    if out is not None:
        path = Path(out)
        table.to_parquet(path)
    return ImportResult(table, path, len(got), missing, ignored)


def _table(
    sp, got: dict, tag: str, manifest: dict, rpath: Path, folder: Path, missing, runtime
) -> MetricTable:
    recs = sorted(got.values(), key=lambda r: r["ops"])
    units = {f"{tag}/latency_ms": "ms"}
    values = {f"{tag}/latency_ms": np.array([r["latency_ms"] for r in recs], dtype=np.float64)}
    for key, unit in (("energy_mj", "mJ"), ("n_repeats", "count")):
        if all(key in r for r in recs):
            units[f"{tag}/{key}"] = unit
            values[f"{tag}/{key}"] = np.array([r[key] for r in recs], dtype=np.float64)
    meta = {
        "source": SOURCE,
        "device": {"name": tag, "runtime": runtime, "input_size": manifest["input"]["shape"][2:]},
        "import": {
            "results": str(rpath),
            "results_sha256": sha256_of(rpath),
            "export": str(folder),
            "manifest_created": manifest.get("created"),
            "input": manifest["input"],
            "opset": manifest.get("opset"),
            "versions": manifest.get("versions", {}),
            "rows": len(recs),
            "missing": missing,
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    }
    arr = np.asarray([r["ops"] for r in recs], dtype=np.int64).reshape(-1, sp.num_positions)
    return MetricTable(sp.name, arr, values, meta, units)


__all__ = ["ImportProblems", "ImportResult", "import_results"]
