"""Source tables of a transfer family: naming, checking, leakage, and the stored bundle.

A transfer predictor learns from other devices' complete tables of the same search space. Its
``sources`` hyper-parameter is a list of dataset names (``help:1080ti_1``), a named group
(``help-split``, ``help-all``), or MetricTables/Datasets. :func:`resolve_sources` turns it into
a :class:`SourceBundle`: one matrix of source values over the architectures every source has,
with a checksum per source, which a saved predictor stores so that it loads and predicts without
the mirror.

Leakage: the target among its sources is refused; another batch size of the same hardware is
allowed with a warning (the leave-one-device-out protocol excludes it, see :func:`exclude_hardware`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import HwpredError

log = logging.getLogger(__name__)


class SourceError(HwpredError, ValueError):
    """Unusable source tables for a transfer family (unknown, duplicate, empty, leaking...)."""


#: the HELP protocol on NAS-Bench-201 (Lee et al., NeurIPS 2021)
HELP_SOURCES = (
    "1080ti_1",
    "1080ti_32",
    "1080ti_256",
    "silver_4114",
    "silver_4210r",
    "samsung_a50",
    "pixel3",
    "essential_ph_1",
    "samsung_s7",
)
HELP_VALIDATION = ("titanx_1", "titanx_32", "titanx_256", "gold_6240")
HELP_TARGETS = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")
#: named groups a ``sources`` parameter may be; ``help-all`` drops the target's hardware
GROUPS = ("help-split", "help-all")
_BATCH = re.compile(r"^(?P<hw>.+)_(?P<batch>1|32|256)$")


def help_names() -> list[str]:
    """All ``help:<device>`` dataset names of the registry (27 with the HELP manifest)."""
    from ...data.names import dataset_names

    return sorted(n for n in dataset_names() if n.startswith("help:"))


def hardware(name: str, catalog: Sequence[str] | None = None) -> str:
    """The hardware a table was measured on: ``help:1080ti_32`` -> ``help:1080ti``.

    A ``_1``/``_32``/``_256`` suffix is a batch size only when the catalogue holds the same
    prefix with another batch size (so ``essential_ph_1``, a phone, stays its own hardware).
    """
    base = name.split("#", 1)[0]
    m = _BATCH.match(base)
    if not m:
        return base
    names = help_names() if catalog is None else list(catalog)
    twins = [n for n in names if n != base and (mm := _BATCH.match(n)) and mm["hw"] == m["hw"]]
    return m["hw"] if twins else base


def exclude_hardware(names: Sequence[str], target: str | None) -> list[str]:
    """``names`` minus every table of the target's hardware (all its batch sizes)."""
    if target is None:
        return list(names)
    catalog = sorted(set(help_names()) | set(names) | {target})
    hw = hardware(target, catalog)
    return [n for n in names if hardware(n, catalog) != hw]


def expand_group(spec: str, target: str | None) -> list[str]:
    if spec == "help-split":
        return [f"help:{d}" for d in HELP_SOURCES]
    if spec == "help-all":
        return exclude_hardware(help_names(), target)
    raise SourceError(f"unknown source group {spec!r}; groups: {', '.join(GROUPS)} (or a list of names)")


def check_leakage(target: str | None, names: Sequence[str]) -> list[str]:
    """Refuse the target among its sources; return a warning per source of the same hardware."""
    if target is None:
        return []
    tbase = target.split("#", 1)[0]
    if any(n.split("#", 1)[0] == tbase for n in names):
        raise SourceError(
            f"target {target} is among its own sources (leakage); remove it from sources "
            "or use the group 'help-all', which leaves out the target's hardware"
        )
    catalog = sorted(set(help_names()) | set(names) | {tbase})
    hw = hardware(tbase, catalog)
    return [
        f"source {n} was measured on the same hardware as target {target} ({hw}, another "
        "batch size): its figures are not a fair transfer result"
        for n in names
        if hardware(n, catalog) == hw
    ]


def source_names(sources, target: str | None = None) -> list[str]:
    """The dataset names a ``sources`` value stands for (a group, one name or a list; tables are
    not names and are labelled by their checksum). Raises on duplicates and an empty list."""
    items = _items(sources, target)
    if not items:
        raise SourceError("sources is empty; give at least one other device's table (e.g. 'help-split')")
    labels = [s if isinstance(s, str) else _label(s) for s in items]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise SourceError(f"duplicate source(s) {dup}; list each table once")
    return labels


# ---- the bundle ----------------------------------------------------------------------------------
@dataclass
class SourceBundle:
    """Source values on the architectures every source has: ``values[i, j]`` is source j on
    ``archs[i]``. ``checksums`` are sha256 of each source's (archs, values) bytes, so a stored
    bundle can be matched against the tables it came from."""

    space: str
    archs: np.ndarray
    values: np.ndarray
    labels: list[str]
    checksums: list[str]

    def rows(self, archs: np.ndarray, who: str) -> np.ndarray:
        """Rows of ``archs`` in the bundle; a SourceError names an architecture a source lacks."""
        from ...data import MetricTable
        from ...errors import DataError

        table = self._table or MetricTable(self.space, self.archs, {})
        self._table = table
        try:
            return table.rows_of(archs)
        except DataError as exc:
            raise SourceError(
                f"{who}: {exc} — every architecture to fit or predict must be in all its sources "
                f"({', '.join(self.labels)})"
            ) from None

    _table = None

    def save(self, folder: Path) -> dict:
        """Write the bundle as a MetricTable Parquet file; return what predictor.json records."""
        from ...data import MetricTable

        cols = {f"src{j}": self.values[:, j] for j in range(len(self.labels))}
        path = MetricTable(self.space, self.archs, cols, {"labels": self.labels}).to_parquet(
            folder / "sources.parquet"
        )
        return {
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "labels": self.labels,
            "checksums": self.checksums,
        }

    @classmethod
    def load(cls, folder: Path, doc: dict) -> SourceBundle:
        from ...data import MetricTable

        path = folder / doc["file"]
        if not path.is_file():
            raise SourceError(f"saved transfer predictor at {folder} lacks its source file {doc['file']}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != doc["sha256"]:
            raise SourceError(
                f"{path} does not match its checksum (damaged or edited); save the predictor again"
            )
        t = MetricTable.read_parquet(path)
        values = np.stack([t.column(f"src{j}") for j in range(len(doc["labels"]))], axis=1)
        return cls(t.space, t.archs, values, list(doc["labels"]), list(doc["checksums"]))


def _label(table) -> str:
    t, col = _table_column(table)
    return f"table:{col}:{_checksum(t.archs, t.column(col))[:12]}"


def _checksum(archs: np.ndarray, values: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(archs, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return h.hexdigest()


def _table_column(obj):
    """(MetricTable, column) of a Dataset or a one-column MetricTable."""
    from ...data import Dataset, MetricTable

    if isinstance(obj, Dataset):
        return obj.table, obj.column
    if isinstance(obj, MetricTable):
        if len(obj.columns) != 1:
            raise SourceError(
                f"a source MetricTable must have one column, this one has {obj.column_names}; "
                "pass Dataset.of(table, column) or table.select([column])"
            )
        return obj, obj.column_names[0]
    raise SourceError(
        f"a source must be a dataset name, a group ({', '.join(GROUPS)}), a Dataset or a "
        f"MetricTable, got {type(obj).__name__}"
    )


#: registry sources loaded in this process: a protocol fits thousands of times on the same 9-26
#: tables, and reading them again would cost more than the fit
_NAMED: dict[str, object] = {}


def _load_named(name: str):
    from ...data import load_dataset

    if name in _NAMED:
        return _NAMED[name]
    try:
        ds = load_dataset(name)
    except HwpredError as exc:
        raise SourceError(f"source {name}: {exc}") from None
    if not name.startswith(("local:", "file:")):  # files on disk may be rewritten; registry tables not
        _NAMED[name] = ds
    return ds


def _load_source(item, space: str):
    if isinstance(item, str):
        ds = _load_named(item)
        t, col, label = ds.table, ds.column, item
    else:
        t, col = _table_column(item)
        label = _label(item)
    if t.space != space:
        raise SourceError(
            f"source {label} is a {t.space} table but the predictor's space is {space}; "
            "sources must be tables of the same search space"
        )
    v = t.column(col)
    if len(v) == 0:
        raise SourceError(f"source {label} is empty")
    if float(np.ptp(v)) == 0.0:
        raise SourceError(f"source {label} is constant ({v[0]}); it carries no ranking to transfer")
    return label, t.archs, v


def resolve_sources(sources, space: str, target: str | None = None) -> SourceBundle:
    """Load, check and align the sources on the architectures they all have."""
    from ...data import MetricTable
    from ...errors import DataError

    labels = source_names(sources, target)
    for w in check_leakage(target, [x for x in labels if not x.startswith("table:")]):
        log.warning(w)
    items = _items(sources, target)
    loaded = [_load_source(it, space) for it in items]
    archs = loaded[0][1]
    same = all(a.shape == archs.shape and np.array_equal(a, archs) for _, a, _ in loaded[1:])
    if not same:  # intersection of the architectures, by op tuple (never by row order)
        for _label, a, _ in loaded[1:]:
            archs = archs[MetricTable(space, a, {})._find(archs)[1]]
    if len(archs) == 0:
        raise SourceError(f"the sources {labels} share no architecture")
    cols, sums = [], []
    for label, a, v in loaded:
        if same:
            cols.append(v)
        else:
            try:
                cols.append(v[MetricTable(space, a, {}).rows_of(archs)])
            except DataError as exc:  # pragma: no cover - archs is the intersection
                raise SourceError(f"source {label}: {exc}") from None
        sums.append(_checksum(a, v))
    return SourceBundle(space, archs, np.stack(cols, axis=1), labels, sums)


def _items(sources, target: str | None) -> list:
    if isinstance(sources, str):
        return expand_group(sources, target) if sources in GROUPS else [sources]
    if isinstance(sources, (list, tuple)):
        out: list = []
        for s in sources:
            out.extend(expand_group(s, target) if isinstance(s, str) and s in GROUPS else [s])
        return out
    return [sources]
