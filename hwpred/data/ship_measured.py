"""Ship one of hwpred's own measured tables in the package as the named dataset ``hwpred:<name>``.

Run from a source checkout::

    python -m hwpred.data.ship --measured TABLE.parquet --name NAME [--column COLUMN] [--overwrite]

The table must be a complete MetricTable written by ``hwpred measure`` (or ``hwpred measure
merge``). It is copied byte for byte into ``hwpred/resources/tables/hwpred-measured/NAME.parquet``
with a ``.json`` record (sha256, rows, stamp), and its entry in the manifest
``hwpred/resources/datasets/hwpred-measured.yaml`` is written: file, sha256, size, space, default
column (default: the first pass's median latency), the other columns the name returns, and a
provenance summary taken from the table's metadata, with the test-retest Kendall tau between the
default column's two passes. The licence (MIT, hwpred's own) and a citation sit beside the tables.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

from .._io import atomic_write_bytes
from ..errors import DataError
from . import manifests, shipped
from .cache import stamp, write_record
from .table import MetricTable

log = logging.getLogger(__name__)

MANIFEST_ID = "hwpred-measured"
PREFIX = "hwpred"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
#: per-architecture bookkeeping of a measured table: how the figures spread, how many runs they took
_BOOKKEEPING = re.compile(r"_(iqr|std)(_|$)")

HEADER = """\
# hwpred's own measured latency tables, shipped in the package (hwpred/resources/tables/hwpred-measured/).
# Named datasets: hwpred:<name>. This file is written by
#   python -m hwpred.data.ship --measured TABLE.parquet --name NAME [--column COLUMN] [--overwrite]
# which checks the table, copies it into that folder and writes its entry below. To remove a table,
# delete its entry and its .parquet and .json files.
# A table's url stays null: the table ships in the package; a copy with the same sha256 in the
# mirror (HWPRED_DATA_MIRROR/hwpred-measured/) is the fallback should the shipped file be damaged.
"""

DEFAULTS = {
    "id": MANIFEST_ID,
    "title": "hwpred measured latency tables",
    "format": "metric-table",
    "prefix": PREFIX,
    "license": "MIT",
    "upstream": "hwpred's own measurements (hwpred measure), shipped with the package",
    "citation": "hwpred: a benchmarking suite for hardware-metric predictors in hardware-aware neural\n"
    "architecture search (software, MIT licence); cite it as its CITATION.cff says.\n",
    "notes": "Each table is the Parquet file hwpred measure wrote, unchanged; its metadata holds the\n"
    "device, the software versions and the measurement protocol.\n",
}


def manifest_path() -> Path:
    return manifests.MANIFEST_DIR / f"{MANIFEST_ID}.yaml"


def tables_dir() -> Path:
    return shipped.shipped_dir() / MANIFEST_ID


def _read_manifest() -> dict:
    import yaml

    path = manifest_path()
    if not path.is_file():
        return {**DEFAULTS, "tables": {}}
    doc = yaml.safe_load(path.read_text()) or {}
    if doc.get("id") != MANIFEST_ID or doc.get("format") != "metric-table":
        raise DataError(f"{path} is not the {MANIFEST_ID} manifest (id {doc.get('id')!r}); restore it")
    doc["tables"] = dict(doc.get("tables") or {})
    return doc


def _write_manifest(doc: dict) -> None:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text_block(
        dumper, s: str
    ):  # multi-line text (the citation) as a literal block, as in the other manifests
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)

    Dumper.add_representer(str, text_block)
    ordered = {k: doc[k] for k in (*DEFAULTS, "tables") if k in doc}
    ordered["tables"] = {k: ordered["tables"][k] for k in sorted(ordered["tables"])}
    text = HEADER + yaml.dump(ordered, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_bytes(manifest_path(), text.encode())
    manifests.forget_catalog()


def _check_measured(table: MetricTable, path: Path) -> dict:
    from ..measure.tables import SOURCE

    meta = table.meta
    measure = meta.get("measure")
    if meta.get("source") != SOURCE or not isinstance(measure, dict) or "protocol" not in measure:
        raise DataError(
            f"{path} is not a table measured by hwpred measure (source {meta.get('source')!r}); only "
            "hwpred's own measured tables ship as hwpred: names (load others as file:PATH#COLUMN "
            "or register them with register_local)"
        )
    if not isinstance(meta.get("device"), dict):
        raise DataError(f"{path} has no device description in its metadata; measure it again")
    if measure.get("complete") is not True:
        failed = f", {measure.get('failed')} failed" if measure.get("failed") else ""
        raise DataError(
            f"{path} is not a complete measurement ({len(table)} of {measure.get('requested')} "
            f"architectures{failed}); finish it with `hwpred measure ... --resume`, or merge its "
            "shards with `hwpred measure merge`, before shipping it"
        )
    if len(table) < 2:
        raise DataError(f"{path} holds {len(table)} architecture(s); a shipped table needs at least 2")
    return measure["protocol"]


def _parquet_bytes(table: MetricTable) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hwpred-ship-") as tmp:
        return table.to_parquet(Path(tmp) / "t.parquet", compression="zstd").read_bytes()


def usable_columns(table: MetricTable) -> list[str]:
    """The metric columns a name returns: all but the spread and count bookkeeping (``*_iqr_ms``,
    ``*_std_ms``, ``n_repeats*``), which describe a measurement rather than rank architectures."""
    return [
        c
        for c in table.column_names
        if table.units.get(c) != "count" and not _BOOKKEEPING.search(c.split("/")[-1])
    ]


def retest_agreement(table: MetricTable, column: str) -> dict:
    """Kendall tau between ``column`` and its second pass (None for a single-pass column)."""
    from ..measure.repeatability import pass_agreement
    from ..measure.tables import pass2_column

    second = pass2_column(column)
    if second not in table.columns:
        return {"test_retest_tau": None, "test_retest_columns": None}
    return {
        "test_retest_tau": float(pass_agreement(table, column)["tau"]),
        "test_retest_columns": [column, second],
    }


def provenance(table: MetricTable, protocol: dict, column: str) -> dict:
    """The table's metadata in brief: hardware, runtime, protocol, date, rows, test-retest tau."""
    dev = table.meta["device"]
    policy = protocol.get("policy") or {}
    runtime = protocol.get("runtime") or "torch"
    out = {
        "device": dev.get("device", protocol.get("device")),
        "cpu_model": dev.get("cpu_model"),
        "gpu_name": dev.get("gpu_name"),
        "runtime": runtime,
        "runtime_version": dev.get(runtime) or dev.get("torch"),
        "threads": protocol.get("threads", dev.get("threads")),
        "batch_size": protocol.get("batch_size", dev.get("batch_size")),
        "input_size": protocol.get("input_size", dev.get("input_size")),
        "repeats": policy.get("repeats"),
        "warmup": policy.get("warmup"),
        "adaptive": policy.get("adaptive"),
        "passes": 2 if protocol.get("two_pass") else 1,
        "rounds": protocol.get("rounds", 1),
        "date": dev.get("date"),
        "rows": len(table),
        **retest_agreement(table, column),
    }
    return {k: v for k, v in out.items() if v is not None or k.startswith("test_retest")}


def _describe(space: str, column: str, prov: dict) -> str:
    hardware = prov.get("gpu_name") or prov.get("cpu_model") or prov.get("device")
    size = prov.get("input_size")
    size = "x".join(map(str, size)) if isinstance(size, list) else size
    tau = prov.get("test_retest_tau")
    retest = f"; pass 1 vs 2 tau {tau:.3f}" if tau is not None else "; one pass"
    return (
        f"hwpred-measured {space} {column.split('/', 1)[-1]}, {hardware} ({prov['runtime']}, "
        f"{prov.get('threads')} thread(s), batch {prov.get('batch_size')}, input {size}){retest}"
    )


def _write_licence(doc: dict) -> None:
    folder = tables_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "LICENSE").is_file():
        licence = Path(__file__).resolve().parents[2] / "LICENSE"
        if not licence.is_file():
            raise DataError(f"{folder} has no LICENSE and {licence} is missing; run from a source checkout")
        shutil.copyfile(licence, folder / "LICENSE")
    text = f"{doc['title']} ({doc['license']}); upstream {doc['upstream']}\n\n{doc['citation'].strip()}\n"
    atomic_write_bytes(folder / "CITATION.txt", text.encode())


def add_measured_table(
    path: str | Path, name: str, column: str | None = None, overwrite: bool = False, compact: bool = False
) -> dict:
    """Ship the measured table at ``path`` as ``hwpred:<name>``; returns its manifest entry.

    ``compact`` ships only the columns the name returns (:func:`usable_columns`), with the
    table's metadata, instead of the file byte for byte: the spread and count bookkeeping stay in
    the measured file, whose sha256 the entry records as ``measured_sha256``. It keeps a
    whole-space table small (15,625 rows of every column are about 1.5 MB).

    Raises DataError for a file that is not a complete table measured by hwpred, a column it
    lacks, or a name already shipped (unless ``overwrite``).
    """
    path = Path(path).expanduser()
    name = name.removeprefix(f"{PREFIX}:")
    if not _NAME.match(name):
        raise DataError(
            f"table name {name!r} must be letters, digits, '_', '-', '.' (e.g. 'transnas_macro_cpu')"
        )
    if not path.is_file():
        raise DataError(f"no table file at {path}")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    doc = _read_manifest()
    full = f"{PREFIX}:{name}"
    other = manifests.catalog()[1].get(full)
    if other is not None and other.manifest != MANIFEST_ID:
        raise DataError(
            f"{full} already names a dataset of the manifest {other.manifest!r}; choose another name"
        )
    if name in doc["tables"] and not overwrite:
        old = doc["tables"][name]
        raise DataError(
            f"{full} is already shipped ({old.get('file')}, sha256 {str(old.get('sha256'))[:12]}...); "
            "pass --overwrite (overwrite=True) to replace it, or choose another name"
        )
    table = MetricTable.read_parquet(path)
    protocol = _check_measured(table, path)
    column = column or f"{protocol.get('tag')}/latency_ms"
    if column not in table.columns:
        raise DataError(f"{path} has no column {column!r}; columns: {', '.join(table.column_names)}")
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha:  # what was checked is what ships
        raise DataError(f"{path} changed while it was read; let whatever writes it finish, then retry")
    columns = usable_columns(table)
    measured = {}
    if compact:
        dropped = [c for c in table.column_names if c not in columns]
        table = table.select(columns)
        data = _parquet_bytes(table)
        measured = {"measured_sha256": sha, "dropped_columns": dropped}
        sha = hashlib.sha256(data).hexdigest()
    dest = tables_dir() / f"{name}.parquet"
    atomic_write_bytes(dest, data)
    prov = provenance(table, protocol, column)
    doc["tables"][name] = {
        "file": f"{MANIFEST_ID}/{name}.parquet",
        "sha256": sha,
        "size": len(data),
        "space": table.space,
        "column": column,
        "unit": table.units.get(column, ""),
        "columns": [column, *(c for c in columns if c != column)],
        "description": _describe(table.space, column, prov),
        "provenance": prov,
        **measured,
    }
    _write_manifest(doc)
    spec = manifests.catalog()[1][full]
    write_record(dest, table, stamp(spec))
    _write_licence(doc)
    if not shipped.is_shipped(spec):
        raise DataError(
            f"{dest} does not read back as the shipped table {full}; check the folder's permissions"
        )
    log.info("shipped %s: %s (%d rows, default column %s)", full, dest, len(table), column)
    return doc["tables"][name]
