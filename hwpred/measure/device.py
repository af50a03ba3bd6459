"""Description of the machine a table was measured on, stored in the table's metadata so that a
latency column is never separated from the hardware and software that produced it."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def physical_cores() -> int | None:
    """Distinct (physical id, core id) pairs from /proc/cpuinfo; None where not exposed."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    pairs, phys = set(), None
    for line in text.splitlines():
        if line.startswith("physical id"):
            phys = line.split(":", 1)[1].strip()
        elif line.startswith("core id"):
            pairs.add((phys, line.split(":", 1)[1].strip()))
    return len(pairs) or None


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def gpu_info(index: int = 0) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {}
    props = torch.cuda.get_device_properties(index)
    info = {
        "gpu_name": torch.cuda.get_device_name(index),
        "gpu_memory_gb": round(props.total_memory / 2**30, 2),
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version(),
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        drv = pynvml.nvmlSystemGetDriverVersion()
        info["driver"] = drv.decode() if isinstance(drv, bytes) else str(drv)
    except Exception:
        info["driver"] = None
    return info


def describe_device(
    device: str = "cpu",
    threads: int | None = None,
    batch_size: int | None = None,
    input_size: int | list | None = None,
    index: int = 0,
    gpu: bool = True,
) -> dict:
    """CPU model, cores, threads, GPU name/driver, torch version, batch and input size, date."""
    import torch

    d = {
        "device": device,
        "cpu_model": cpu_model(),
        "cpu_logical": os.cpu_count(),
        "cpu_physical_cores": physical_cores(),
        "cpu_usable": usable_cpus(),
        "threads": threads if threads is not None else torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "batch_size": batch_size,
        "input_size": input_size,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if device.startswith("cuda") and gpu:  # torch's view of the GPU (onnxruntime-gpu needs no torch CUDA)
        d.update(gpu_info(index))
    return d


def fingerprint(desc: dict) -> dict:
    """The parts of a description that must not change when a run is resumed."""
    keys = ("device", "cpu_model", "gpu_name", "torch", "threads", "batch_size", "input_size")
    fp = {k: desc.get(k) for k in keys}
    # a runtime's version where it is not torch (absent from older journals, so only when set)
    fp.update({k: desc[k] for k in ("runtime", "onnxruntime") if desc.get(k) is not None})
    return fp
