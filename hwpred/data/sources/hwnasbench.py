"""HW-NAS-Bench's official pickle (``HW-NAS-Bench-v1_0.pickle``, Li et al., ICLR 2021).

Format: ``{"nasbench201": {dataset: {metric: [value per NAS-Bench-201 benchmark index], ...,
"config": [{"arch_str": ..., ...} per index]}}, "fbnet": {...}}`` with datasets ``cifar10``,
``cifar100``, ``ImageNet16-120``. Rows are keyed by parsing each ``config[i]["arch_str"]``.

Security: a pickle can run code when loaded, so :func:`read_hwnasbench` refuses to open the file
unless its sha256 equals the one the caller (the manifest) vouches for, and then unpickles with
an allow-list (containers, numbers, strings and numpy scalars/arrays only).

One table per dataset (``hw-nas-bench/<dataset>``), columns ``<device>/<quantity>_<unit>``:
``edgegpu/latency_ms``, ``edgegpu/energy_mj``, ``raspi4/latency_ms``, ``edgetpu/latency_ms``,
``pixel3/latency_ms``, ``eyeriss/latency_ms``, ``eyeriss/energy_mj``,
``eyeriss/arithmetic_intensity``, ``fpga/latency_ms``, ``fpga/energy_mj``.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import DataError
from ..table import MetricTable
from . import Manifest, NamedSpec, finite_floats, nb201_archs_from_strings, require_sha256

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
# upstream metric -> (our column, unit)
METRICS: dict[str, tuple[str, str]] = {
    "edgegpu_latency": ("edgegpu/latency_ms", "ms"),
    "edgegpu_energy": ("edgegpu/energy_mj", "mJ"),
    "raspi4_latency": ("raspi4/latency_ms", "ms"),
    "edgetpu_latency": ("edgetpu/latency_ms", "ms"),
    "pixel3_latency": ("pixel3/latency_ms", "ms"),
    "eyeriss_latency": ("eyeriss/latency_ms", "ms"),
    "eyeriss_energy": ("eyeriss/energy_mj", "mJ"),
    "eyeriss_arithmetic_intensity": ("eyeriss/arithmetic_intensity", ""),
    "fpga_latency": ("fpga/latency_ms", "ms"),
    "fpga_energy": ("fpga/energy_mj", "mJ"),
}
SPACE_KEY = "nasbench201"

_ALLOWED = {
    ("builtins", n)
    for n in (
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "int",
        "float",
        "str",
        "bool",
        "complex",
        "bytes",
        "slice",
    )
} | {
    ("collections", "OrderedDict"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("_codecs", "encode"),
}


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise DataError(
                f"the HW-NAS-Bench pickle refers to {module}.{name}, which a data file should not "
                "need; refusing to load it"
            )
        return super().find_class(module, name)


def load_pickle(path: str | Path, sha256: str | None) -> Any:
    """Unpickle only after the checksum matches; damaged files end in a DataError."""
    what = "HW-NAS-Bench pickle"
    require_sha256(path, sha256, what)
    try:
        with open(path, "rb") as f:
            return _AllowListUnpickler(f).load()
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated pickles raise EOFError, UnpicklingError...
        raise DataError(
            f"{what}: {path} could not be unpickled ({type(exc).__name__}: {str(exc)[:200]}); "
            "it is truncated or not the published file"
        ) from None


def tables_from_object(obj: Any, what: str, meta: Mapping | None = None) -> dict[str, MetricTable]:
    """The unpickled object -> one MetricTable per dataset found (cifar10, cifar100, ImageNet16-120)."""
    if isinstance(obj, Mapping) and SPACE_KEY in obj:
        obj = obj[SPACE_KEY]
    if not isinstance(obj, Mapping):
        raise DataError(f"{what}: expected a dict with a {SPACE_KEY!r} entry, got {type(obj).__name__}")
    found = [d for d in DATASETS if d in obj]
    if not found:
        raise DataError(f"{what}: no dataset among {DATASETS}; keys: {list(obj)[:10]}")
    out = {}
    for ds in found:
        entry = obj[ds]
        if not isinstance(entry, Mapping) or "config" not in entry:
            raise DataError(f"{what} [{ds}]: expected a dict of metric lists plus 'config'")
        configs = entry["config"]
        try:
            strings = [c["arch_str"] for c in configs]
        except (TypeError, KeyError):
            raise DataError(f"{what} [{ds}]: every 'config' entry needs an 'arch_str'") from None
        archs = nb201_archs_from_strings(strings, f"{what} [{ds}] config")
        cols, units = {}, {}
        for metric, (col, unit) in METRICS.items():
            if metric not in entry:
                continue
            cols[col] = finite_floats(entry[metric], f"{what} [{ds}] {metric}", expected_len=len(archs))
            units[col] = unit
        if not cols:
            raise DataError(f"{what} [{ds}]: none of the metrics {list(METRICS)} is present")
        info = dict(meta or {})
        info.update(
            {"dataset": ds, "note": "list position = NAS-Bench-201 benchmark index; keyed by config arch_str"}
        )
        out[ds] = MetricTable("nb201", archs, cols, info, units)
    return out


def read_hwnasbench(
    path: str | Path, sha256: str | None, meta: Mapping | None = None
) -> dict[str, MetricTable]:
    """Verify, unpickle and convert the HW-NAS-Bench pickle (``sha256`` is required)."""
    return tables_from_object(load_pickle(path, sha256), f"HW-NAS-Bench pickle {path}", meta)


# -- registry hooks -------------------------------------------------------------------------------
def datasets(manifest: Manifest) -> list[NamedSpec]:
    rel = manifest.files[0].path
    out = []
    for ds in DATASETS:
        for metric, (col, unit) in METRICS.items():
            out.append(
                NamedSpec(
                    name=f"hw-nas-bench:{ds}-{metric}",
                    table_key=f"{manifest.id}/{ds}",
                    column=col,
                    description=f"HW-NAS-Bench {ds} {metric.replace('_', ' ')}"
                    + (f" ({unit})" if unit else ""),
                    files=(rel,),
                    manifest=manifest.id,
                    columns=(col,),
                    unit=unit,
                )
            )
    return out


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    entry = manifest.files[0]
    tables = read_hwnasbench(files[entry.path], entry.sha256, manifest.provenance())
    return {f"{manifest.id}/{ds}": t for ds, t in tables.items()}
