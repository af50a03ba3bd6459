"""HELP's NAS-Bench-201 latency tables (Lee et al., NeurIPS 2021).

Format: ``latency/<device>.pt`` is a ``torch.save``d list of 15,625 latencies in ms whose
position is the NAS-Bench-201 benchmark index; ``str_arch2idx.pt`` maps each architecture
string to that index. We map index -> string -> op tuple, so rows are keyed by the op tuple
and never by file order. One table per device (``help-nb201/<device>``), column
``<device>/latency_ms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..table import MetricTable
from . import Manifest, NamedSpec, file_for, finite_floats, nb201_archs_from_index_map, torch_load_checked

N_ARCHS = 15625

# device -> human description (the 27 HELP NAS-Bench-201 devices)
DEVICES: dict[str, str] = {
    "1080ti_1": "NVIDIA GTX 1080 Ti GPU, batch 1",
    "1080ti_32": "NVIDIA GTX 1080 Ti GPU, batch 32",
    "1080ti_256": "NVIDIA GTX 1080 Ti GPU, batch 256",
    "2080ti_1": "NVIDIA RTX 2080 Ti GPU, batch 1",
    "2080ti_32": "NVIDIA RTX 2080 Ti GPU, batch 32",
    "2080ti_256": "NVIDIA RTX 2080 Ti GPU, batch 256",
    "titanx_1": "NVIDIA Titan X GPU, batch 1",
    "titanx_32": "NVIDIA Titan X GPU, batch 32",
    "titanx_256": "NVIDIA Titan X GPU, batch 256",
    "titanxp_1": "NVIDIA Titan Xp GPU, batch 1",
    "titanxp_32": "NVIDIA Titan Xp GPU, batch 32",
    "titanxp_256": "NVIDIA Titan Xp GPU, batch 256",
    "titan_rtx_1": "NVIDIA Titan RTX GPU, batch 1",
    "titan_rtx_32": "NVIDIA Titan RTX GPU, batch 32",
    "titan_rtx_256": "NVIDIA Titan RTX GPU, batch 256",
    "gold_6226": "Intel Xeon Gold 6226 CPU",
    "gold_6240": "Intel Xeon Gold 6240 CPU",
    "silver_4114": "Intel Xeon Silver 4114 CPU",
    "silver_4210r": "Intel Xeon Silver 4210R CPU",
    "pixel2": "Google Pixel 2 phone (whole ms: many ties)",
    "pixel3": "Google Pixel 3 phone",
    "essential_ph_1": "Essential PH-1 phone (whole ms: many ties)",
    "samsung_a50": "Samsung Galaxy A50 phone (whole ms: many ties)",
    "samsung_s7": "Samsung Galaxy S7 phone (whole ms: many ties)",
    "raspi4": "Raspberry Pi 4 (ARM CPU)",
    "eyeriss": "Eyeriss ASIC (simulated)",
    "fpga": "FPGA (Xilinx ZC706, simulated)",
}

ARCH_MAP_FILE = "str_arch2idx.pt"


def column_name(device: str) -> str:
    return f"{device}/latency_ms"


_ARCH_INDEX_MEMO: dict[tuple, np.ndarray] = {}


def read_arch_index(path: str | Path) -> np.ndarray:
    """``str_arch2idx.pt`` -> (15625, 6) op tuples ordered by NAS-Bench-201 benchmark index.

    Memoised per file version: importing all 27 devices parses the 15,625 strings once.
    """
    path = Path(path)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _ARCH_INDEX_MEMO:
        return _ARCH_INDEX_MEMO[key].copy()
    mapping = torch_load_checked(path, "HELP str_arch2idx.pt")
    archs = nb201_archs_from_index_map(mapping, f"HELP architecture index {path}", N_ARCHS)
    if key is not None:
        _ARCH_INDEX_MEMO.clear()
        _ARCH_INDEX_MEMO[key] = archs
    return archs.copy()


def read_latency(
    path: str | Path, archs: np.ndarray, device: str, meta: Mapping | None = None
) -> MetricTable:
    """One device's latency list (position = benchmark index) as a MetricTable keyed by op tuple."""
    what = f"HELP latency table {path}"
    values = torch_load_checked(path, what)
    if isinstance(values, dict) or not hasattr(values, "__len__"):
        raise DataError(f"{what}: expected a list of {N_ARCHS} latencies, got {type(values).__name__}")
    y = finite_floats(values, what, expected_len=len(archs))
    if (y <= 0).any():
        raise DataError(
            f"{what}: {int((y <= 0).sum())} latency value(s) are zero or negative; the file is corrupt"
        )
    info = dict(meta or {})
    info.update(
        {
            "device": device,
            "device_description": DEVICES.get(device, device),
            "metric": "latency",
            "note": "row order of the upstream list = NAS-Bench-201 benchmark index",
        }
    )
    col = column_name(device)
    return MetricTable("nb201", archs, {col: y}, info, {col: "ms"})


def read_help(
    latency_dir: str | Path, arch_index_path: str | Path, devices: list[str] | None = None
) -> dict[str, MetricTable]:
    """Read several devices from a HELP checkout (``data/nasbench201``) without the registry."""
    archs = read_arch_index(arch_index_path)
    latency_dir = Path(latency_dir)
    return {d: read_latency(latency_dir / f"{d}.pt", archs, d) for d in (devices or list(DEVICES))}


# -- registry hooks -------------------------------------------------------------------------------
def _device_of(rel: str) -> str | None:
    name = rel.rsplit("/", 1)[-1]
    if "/latency/" in f"/{rel}" and name.endswith(".pt"):
        return name[:-3]
    return None


def datasets(manifest: Manifest) -> list[NamedSpec]:
    index_file = next((f.path for f in manifest.files if f.path.endswith(ARCH_MAP_FILE)), None)
    if index_file is None:
        raise DataError(f"manifest {manifest.source_path}: a HELP manifest must list {ARCH_MAP_FILE}")
    out = []
    for f in manifest.files:
        dev = _device_of(f.path)
        if dev is None:
            continue
        out.append(
            NamedSpec(
                name=f"help:{dev}",
                table_key=f"{manifest.id}/{dev}",
                column=column_name(dev),
                description=f"HELP NB201 latency, {DEVICES.get(dev, dev)} (ms)",
                files=(index_file, f.path),
                manifest=manifest.id,
                unit="ms",
            )
        )
    return out


def build(manifest: Manifest, files: Mapping[str, Path], table_keys: list[str]) -> dict[str, MetricTable]:
    archs = read_arch_index(file_for(files, ARCH_MAP_FILE, f"manifest {manifest.id}"))
    out = {}
    for key in table_keys:
        dev = key.rsplit("/", 1)[-1]
        path = next((p for rel, p in files.items() if _device_of(rel) == dev), None)
        if path is None:
            raise DataError(f"HELP device {dev!r}: its latency file is not among the fetched files")
        out[key] = read_latency(path, archs, dev, manifest.provenance())
    return out
