"""HW-NAS-Bench-360 (``results/dataset.parquet``): Raspberry Pi 5 and Pixel metrics of NB201 cells.

Format (inspected with pandas): a long table, one row per (``arch_idx``, ``device``,
``framework``, ``task``) with ``lat_ms_median``, ``lat_ms_var``, ``energy_mj``, ``accuracy``,
``status`` and ``rep_arch_idx`` (the isomorphism-class representative that was measured).
``arch_idx`` is the NAS-Bench-201 benchmark index; the index -> cell mapping comes from the NATS
CSV (same index order). Devices ``pi5`` (runtimes litert, onnx, torchmobile: latency, variance,
energy) and ``pixel`` (litert: latency only); tasks cifar100, ninapro, darcy.

One wide table (``hw-nas-bench-360/all``): ``<device>-<runtime>/<task>/latency_ms``,
``.../latency_var_ms2``, ``.../energy_mj`` and ``<task>/accuracy`` (darcy's "accuracy" is the
benchmark's score, not a percentage). Columns that are entirely absent upstream (Pixel energy)
are not created; a partially missing or non-finite column is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..table import MetricTable
from . import Manifest, NamedSpec, file_for
from .nats import read_index_archs

# (device, runtime) pairs and the metrics each has upstream
DEVICE_RUNTIMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("pi5", "litert"): ("latency", "energy", "latency_var"),
    ("pi5", "onnx"): ("latency", "energy", "latency_var"),
    ("pi5", "torchmobile"): ("latency", "energy", "latency_var"),
    ("pixel", "litert"): ("latency",),
}
TASKS = ("cifar100", "ninapro", "darcy")
# our metric -> (upstream column, column suffix, unit)
METRICS: dict[str, tuple[str, str, str]] = {
    "latency": ("lat_ms_median", "latency_ms", "ms"),
    "latency_var": ("lat_ms_var", "latency_var_ms2", "ms^2"),
    "energy": ("energy_mj", "energy_mj", "mJ"),
}
TASK_UNITS = {"cifar100": "%", "ninapro": "%", "darcy": "score"}
TABLE = "all"
PARQUET = "dataset.parquet"
NATS_CSV = "nats_bench.csv"


def column_name(device: str, runtime: str, task: str, metric: str) -> str:
    return f"{device}-{runtime}/{task}/{METRICS[metric][1]}"


def read_hwnb360(path: str | Path, index_archs: np.ndarray, meta: Mapping | None = None) -> MetricTable:
    """The long parquet -> one wide MetricTable keyed by op tuple (via ``index_archs[arch_idx]``)."""
    import pandas as pd

    path = Path(path)
    what = f"HW-NAS-Bench-360 parquet {path}"
    if not path.is_file():
        raise DataError(f"{what} does not exist; fetch it with `hwpred data fetch hw-nas-bench-360`")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
        raise DataError(
            f"{what} is not a readable Parquet file ({type(exc).__name__}: {str(exc)[:200]}); "
            "it may be truncated: delete it and fetch it again"
        ) from None
    need = ["arch_idx", "device", "framework", "task", "accuracy", *(m[0] for m in METRICS.values())]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {missing}; columns: {list(df.columns)}")
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    n = len(index_archs)
    idx = df["arch_idx"].to_numpy()
    if (idx < 0).any() or (idx >= n).any():
        raise DataError(f"{what}: arch_idx outside 0..{n - 1}; is the index mapping from the same benchmark?")
    cols: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}

    def pivot(sub, value: str, label: str) -> np.ndarray:
        if sub["arch_idx"].duplicated().any():
            dup = int(sub.loc[sub["arch_idx"].duplicated(), "arch_idx"].iloc[0])
            raise DataError(f"{what}: {label} has several rows for arch_idx {dup}")
        out = np.full(n, np.nan)
        out[sub["arch_idx"].to_numpy()] = sub[value].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(out)
        if bad.any():
            raise DataError(
                f"{what}: {label} is missing or non-finite for {int(bad.sum())} of {n} "
                f"architectures (first arch_idx {int(np.flatnonzero(bad)[0])})"
            )
        return out

    for (dev, rt), metrics in DEVICE_RUNTIMES.items():
        for task in TASKS:
            sub = df[(df["device"] == dev) & (df["framework"] == rt) & (df["task"] == task)]
            if sub.empty:
                raise DataError(f"{what}: no rows for device {dev}, runtime {rt}, task {task}")
            for m in metrics:
                src, _, unit = METRICS[m]
                c = column_name(dev, rt, task, m)
                cols[c] = pivot(sub, src, c)
                units[c] = unit
    for task in TASKS:
        sub = df[(df["task"] == task)].drop_duplicates("arch_idx")
        c = f"{task}/accuracy"
        cols[c] = pivot(sub, "accuracy", c)
        units[c] = TASK_UNITS[task]
    info = dict(meta or {})
    info.update(
        {
            "devices": {"pi5": "Raspberry Pi 5", "pixel": "Google Pixel phone"},
            "note": "arch_idx = NAS-Bench-201 benchmark index; isomorphic cells share the measurement of "
            "their representative (rep_arch_idx)",
        }
    )
    return MetricTable("nb201", index_archs, cols, info, units)


# -- registry hooks -------------------------------------------------------------------------------
def datasets(manifest: Manifest) -> list[NamedSpec]:
    rel = next((f.path for f in manifest.files if f.path.endswith(PARQUET)), manifest.files[0].path)
    files = (rel, "nats-tss/nats_bench.csv")
    key = f"{manifest.id}/{TABLE}"
    out = []
    for (dev, rt), metrics in DEVICE_RUNTIMES.items():
        for task in TASKS:
            for m in metrics:
                c = column_name(dev, rt, task, m)
                suffix = "" if m == "latency" else f"-{m}"
                out.append(
                    NamedSpec(
                        name=f"hwnb360:{dev}-{rt}-{task}{suffix}",
                        table_key=key,
                        column=c,
                        description=f"HW-NAS-Bench-360 {dev} {rt} {task}: {m} ({METRICS[m][2]})",
                        files=files,
                        manifest=manifest.id,
                        columns=(c,),
                        unit=METRICS[m][2],
                    )
                )
    for task in TASKS:
        c = f"{task}/accuracy"
        out.append(
            NamedSpec(
                name=f"hwnb360:{task}-accuracy",
                table_key=key,
                column=c,
                description=f"HW-NAS-Bench-360 {task} accuracy ({TASK_UNITS[task]})",
                files=files,
                manifest=manifest.id,
                columns=(c,),
                unit=TASK_UNITS[task],
            )
        )
    return out


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    archs = read_index_archs(file_for(files, NATS_CSV, f"manifest {manifest.id}"))
    path = file_for(files, PARQUET, f"manifest {manifest.id}")
    return {f"{manifest.id}/{TABLE}": read_hwnb360(path, archs, manifest.provenance())}
