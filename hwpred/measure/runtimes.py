"""Measurement runtimes: what executes the forward that a timer times.

``torch`` (the default) runs the module eagerly. ``onnxruntime`` runs the architecture's ONNX
export (cached per architecture and shape, checked with ``onnx.checker``) in an
``InferenceSession``: the CPU execution provider with the run's thread count, or the CUDA provider
where onnxruntime-gpu sees a GPU. Every job builds a fresh session from the cached file, as torch
jobs build a fresh module, so the harness's protocol (warm-up, repeats, paired reference, rounds,
two passes, resume, journal) is the same for both. The session's thread count, graph
optimisation level, provider and versions go into the table's provenance.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..spaces import Arch
from ..spaces.onnx_export import INPUT_NAME, ExportCache, OnnxError, require
from .timers import CPUTimer, MeasureError, RepeatPolicy

RUNTIMES = ("torch", "onnxruntime")
#: ``--graph-opt`` values -> onnxruntime.GraphOptimizationLevel member names
GRAPH_OPT = {
    "disabled": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


def default_cache_root() -> Path:
    """``$HWPRED_HOME/cache/onnx``: exported files, beside the data cache."""
    from ..data.locations import cache_dir

    return cache_dir() / "onnx"


class OrtModel:
    """An InferenceSession with the call signature of a module: ``model(x)`` runs one forward.

    The input tensor's numpy view is taken once per distinct tensor, so a timed forward is the
    session's run and nothing else. On CUDA the input is bound on the device once and the
    outputs stay there; the call returns after the outputs are synchronised.
    """

    def __init__(self, session, cuda_device: int | None = None):
        self.session = session
        self.cuda_device = cuda_device
        self._x_ref = None
        self._feed: dict | None = None
        self._binding = None

    def eval(self) -> OrtModel:
        return self

    def _bind(self, x) -> None:
        arr = x.detach().cpu().numpy() if hasattr(x, "detach") else x
        self._x_ref = x
        if self.cuda_device is None:
            self._feed = {INPUT_NAME: arr}
            return
        ort = require("onnxruntime")
        binding = self.session.io_binding()
        value = ort.OrtValue.ortvalue_from_numpy(arr, "cuda", self.cuda_device)
        binding.bind_ortvalue_input(INPUT_NAME, value)
        for out in self.session.get_outputs():
            binding.bind_output(out.name, "cuda", self.cuda_device)
        self._binding, self._value = binding, value

    def __call__(self, x):
        if x is not self._x_ref:
            self._bind(x)
        if self._binding is None:
            return self.session.run(None, self._feed)
        self.session.run_with_iobinding(self._binding)
        self._binding.synchronize_outputs()
        return None


class OrtCUDATimer(CPUTimer):
    """Wall clock around each forward of an :class:`OrtModel` on the CUDA provider (the call
    returns only once its outputs are synchronised); torch's CUDA events cannot see ORT's stream."""

    device = "cuda"

    def __init__(self, policy: RepeatPolicy, device_index: int = 0):
        super().__init__(policy, threads=None)
        self.device_index = device_index

    def describe(self) -> dict:
        return {
            "timer": "perf_counter_ns per synchronous onnxruntime CUDA forward",
            "device_index": self.device_index,
            "clock": "wall",
            "policy": self.policy.to_dict(),
        }


class OnnxRuntime:
    """Builds :class:`OrtModel` sessions of a space's architectures for one resolved config."""

    name = "onnxruntime"

    def __init__(self, cfg, cache_root: str | os.PathLike | None = None):
        self.ort = require("onnxruntime")
        require("onnx")
        self.cfg = cfg
        kind = "cuda" if str(cfg.device).startswith("cuda") else "cpu"
        self.cuda_device = None
        if kind == "cuda":
            if "CUDAExecutionProvider" not in self.ort.get_available_providers():
                raise MeasureError(
                    "`runtime='onnxruntime'` on CUDA needs onnxruntime's CUDA execution provider, "
                    f"which this onnxruntime {self.ort.__version__} lacks (providers: "
                    f"{', '.join(self.ort.get_available_providers())}); install onnxruntime-gpu "
                    "or measure with `device='cpu'`"
                )
            self.cuda_device = int(str(cfg.device).partition(":")[2] or 0)
        self.providers = (
            [("CUDAExecutionProvider", {"device_id": self.cuda_device}), "CPUExecutionProvider"]
            if self.cuda_device is not None
            else ["CPUExecutionProvider"]
        )
        self.cache = ExportCache(
            cache_root or default_cache_root(),
            cfg.space,
            input_size=cfg.input_size,
            batch_size=cfg.batch_size,
            num_classes=cfg.num_classes,
            opset=cfg.opset,
        )

    def session_options(self):
        so = self.ort.SessionOptions()
        so.graph_optimization_level = getattr(self.ort.GraphOptimizationLevel, GRAPH_OPT[self.cfg.graph_opt])
        so.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
        if self.cfg.threads is not None:
            so.intra_op_num_threads = self.cfg.threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3  # errors only: a fresh session per job must not flood the log
        return so

    def build(self, arch: Arch) -> OrtModel:
        """A fresh session of ``arch``'s cached export (exported and checked on first use)."""
        path = self.cache.path(arch)
        session = self.ort.InferenceSession(str(path), self.session_options(), providers=self.providers)
        return OrtModel(session, self.cuda_device)

    def describe(self) -> dict:
        import onnx

        return {
            "name": self.name,
            "onnxruntime": self.ort.__version__,
            "onnx": onnx.__version__,
            "provider": "CUDAExecutionProvider" if self.cuda_device is not None else "CPUExecutionProvider",
            "intra_op_threads": self.cfg.threads,
            "inter_op_threads": 1,
            "execution_mode": "sequential",
            "graph_optimization": self.cfg.graph_opt,
            "opset": self.cfg.opset,
            "batch_size": self.cfg.batch_size,
            "exporter": "torch.onnx (TorchScript-based)",
            "export_cache": str(self.cache.folder),
        }


def torch_description(cfg) -> dict:
    import torch

    return {
        "name": "torch",
        "torch": torch.__version__,
        "mode": "eager, eval, inference_mode",
        "threads": cfg.threads,
        "batch_size": cfg.batch_size,
    }


def runtime_for(
    cfg, cache_root: str | os.PathLike | None = None
) -> tuple[Callable | None, dict, object | None]:
    """For a resolved config: (build function or None for the default torch build, the runtime's
    provenance, the timer to use instead of the device's default or None)."""
    if cfg.runtime == "torch":
        return None, torch_description(cfg), None
    try:
        rt = OnnxRuntime(cfg, cache_root)
    except OnnxError as exc:
        raise MeasureError(str(exc)) from None
    timer = OrtCUDATimer(cfg.policy, rt.cuda_device) if rt.cuda_device is not None else None
    return rt.build, rt.describe(), timer


def check_runtime(name: str) -> str:
    """A runtime name, or one error listing the known ones."""
    n = str(name).strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "torch": "torch",
        "pytorch": "torch",
        "eager": "torch",
        "onnxruntime": "onnxruntime",
        "ort": "onnxruntime",
    }
    if n not in aliases:
        raise MeasureError(f"unknown runtime {name!r}; use one of: {', '.join(RUNTIMES)}")
    return aliases[n]


__all__ = [
    "GRAPH_OPT",
    "OnnxRuntime",
    "OrtCUDATimer",
    "OrtModel",
    "RUNTIMES",
    "check_runtime",
    "default_cache_root",
    "runtime_for",
    "torch_description",
]
