"""NATS-Bench topology space (= NAS-Bench-201) accuracies, from the exported ``nats_bench.csv``.

Format: one row per cell in benchmark-index order, columns ``CIFAR10TestAccuracy200Epochs``,
``CIFAR100TestAccuracy200Epochs``, ``ImageNetTestAccuracy200Epochs`` (percent) and
``ArchitectureString``. Rows are keyed by parsing the string, never by row order. One table
(``nats-tss/accuracy``) with columns ``cifar10/test_acc``, ``cifar100/test_acc``,
``ImageNet16-120/test_acc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..table import MetricTable
from . import Manifest, NamedSpec, finite_floats, nb201_archs_from_strings

# our dataset name -> CSV column
ACCURACY_COLUMNS: dict[str, str] = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}
ARCH_COLUMN = "ArchitectureString"
TABLE = "accuracy"


def column_name(dataset: str) -> str:
    return f"{dataset}/test_acc"


def _read_frame(path: str | Path):
    import pandas as pd

    path = Path(path)
    what = f"NATS accuracy CSV {path}"
    if not path.is_file():
        raise DataError(
            f"{what} does not exist; fetch it with `hwpred data fetch nats:cifar10` or fix the path"
        )
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pandas raises many parser errors
        raise DataError(f"{what} is not a readable CSV ({type(exc).__name__}: {str(exc)[:200]})") from None
    need = [ARCH_COLUMN, *ACCURACY_COLUMNS.values()]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} lacks column(s) {missing}; columns found: {list(df.columns)}. "
            "Is it the nats-bench-landscape export?"
        )
    return df


def read_index_archs(path: str | Path) -> np.ndarray:
    """(n, 6) op tuples in row order = NAS-Bench-201 benchmark index (used by other importers)."""
    df = _read_frame(path)
    return nb201_archs_from_strings(df[ARCH_COLUMN].tolist(), f"NATS accuracy CSV {path}")


def read_nats(path: str | Path, meta: Mapping | None = None) -> MetricTable:
    """The three 200-epoch test accuracies (percent) keyed by op tuple."""
    df = _read_frame(path)
    what = f"NATS accuracy CSV {path}"
    archs = nb201_archs_from_strings(df[ARCH_COLUMN].tolist(), what)
    cols, units = {}, {}
    for ds, src in ACCURACY_COLUMNS.items():
        y = finite_floats(df[src], f"{what}, column {src}")
        if (y < 0).any() or (y > 100).any():
            raise DataError(f"{what}, column {src}: accuracies must be percentages in 0..100")
        cols[column_name(ds)] = y
        units[column_name(ds)] = "%"
    info = dict(meta or {})
    info.update(
        {
            "metric": "test accuracy after 200 epochs (mean over seeds)",
            "note": "row order of the upstream CSV = NAS-Bench-201 benchmark index",
        }
    )
    return MetricTable("nb201", archs, cols, info, units)


# -- registry hooks -------------------------------------------------------------------------------
def datasets(manifest: Manifest) -> list[NamedSpec]:
    rel = manifest.files[0].path
    return [
        NamedSpec(
            name=f"nats:{ds}",
            table_key=f"{manifest.id}/{TABLE}",
            column=column_name(ds),
            description=f"NATS-Bench 200-epoch test accuracy on {ds} (%)",
            files=(rel,),
            manifest=manifest.id,
            columns=(column_name(ds),),
            unit="%",
        )
        for ds in ACCURACY_COLUMNS
    ]


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    path = files[manifest.files[0].path]
    return {f"{manifest.id}/{TABLE}": read_nats(path, manifest.provenance())}
