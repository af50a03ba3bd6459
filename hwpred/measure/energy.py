"""Energy counters the machine may expose: NVIDIA NVML's total-energy counter for GPUs and the
Linux powercap (RAPL) counters for CPU packages. Both are cumulative counters read before and
after the timed forwards; absent counters are reported once (a note, not an error), because most
machines — containers, laptops without permissions, AMD boards without powercap — lack them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

POWERCAP_ROOT = Path("/sys/class/powercap")
_REPORTED: set[str] = set()
log = logging.getLogger(__name__)


def _report_once(key: str, message: str) -> None:
    if key not in _REPORTED:
        _REPORTED.add(key)
        log.info("%s", message)


@dataclass
class RaplCounter:
    """Sum of the top-level RAPL package domains (``intel-rapl:N``), wrap-around corrected."""

    domains: list[Path]
    _last: list[int] = field(default_factory=list)
    _acc: list[int] = field(default_factory=list)
    _max: list[int] = field(default_factory=list)

    source = "rapl"

    def __post_init__(self):
        self._max = []
        for d in self.domains:
            try:
                self._max.append(int((d / "max_energy_range_uj").read_text().strip()))
            except (OSError, ValueError):
                self._max.append(0)
        self._last = [self._raw(d) for d in self.domains]
        self._acc = [0] * len(self.domains)

    @staticmethod
    def _raw(d: Path) -> int:
        return int((d / "energy_uj").read_text().strip())

    def read_mj(self) -> float:
        """Accumulated energy in millijoules since the counter was opened."""
        for i, d in enumerate(self.domains):
            v = self._raw(d)
            delta = v - self._last[i]
            if delta < 0:  # the hardware counter wrapped
                delta += self._max[i] if self._max[i] > 0 else 0
            self._acc[i] += max(delta, 0)
            self._last[i] = v
        return sum(self._acc) / 1000.0

    def describe(self) -> dict:
        names = []
        for d in self.domains:
            try:
                names.append((d / "name").read_text().strip())
            except OSError:
                names.append(d.name)
        return {"source": "linux powercap (RAPL)", "domains": [str(d) for d in self.domains], "names": names}


@dataclass
class NvmlCounter:
    """NVML ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since driver load), Volta and newer."""

    index: int = 0
    source = "nvml"

    def __post_init__(self):
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)
        self._start = float(pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def read_mj(self) -> float:
        return float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)) - self._start

    def describe(self) -> dict:
        return {"source": "nvml total energy consumption", "gpu_index": self.index}


def rapl_domains(root: Path | str = POWERCAP_ROOT) -> list[Path]:
    """Top-level readable package domains (not their sub-zones, which the package already counts)."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        name = d.name
        if not name.startswith("intel-rapl:") or name.count(":") != 1:
            continue
        f = d / "energy_uj"
        if f.is_file() and os.access(f, os.R_OK):
            try:
                int(f.read_text().strip())
            except (OSError, ValueError):
                continue
            out.append(d)
    return out


def open_energy_counter(device: str = "cpu", index: int = 0, powercap_root: Path | str = POWERCAP_ROOT):
    """A counter for ``device`` or None (the absence is reported once per process and kind)."""
    if device == "cuda":
        try:
            import pynvml  # noqa: F401
        except ImportError:
            _report_once(
                "nvml", "GPU energy not measured: pynvml is not installed (pip install nvidia-ml-py)"
            )
            return None
        try:
            return NvmlCounter(index)
        except Exception as exc:  # NVMLError subclasses vary by driver; any of them means "no counter"
            _report_once("nvml", f"GPU energy not measured: NVML total-energy counter unavailable ({exc})")
            return None
    domains = rapl_domains(powercap_root)
    if not domains:
        _report_once(
            "rapl",
            f"CPU energy not measured: no readable RAPL counters under {powercap_root} "
            "(absent on this machine or not readable without root)",
        )
        return None
    return RaplCounter(domains)


def energy_status(device: str = "cpu", powercap_root: Path | str = POWERCAP_ROOT) -> dict:
    """For the table metadata: which counter was used, or why none was."""
    if device == "cuda":
        try:
            import pynvml  # noqa: F401
        except ImportError:
            return {"available": False, "reason": "pynvml not installed"}
        return {"available": True, "source": "nvml"}
    doms = rapl_domains(powercap_root)
    if not doms:
        return {"available": False, "reason": f"no readable RAPL counters under {powercap_root}"}
    return {"available": True, "source": "rapl", "domains": [str(d) for d in doms]}
