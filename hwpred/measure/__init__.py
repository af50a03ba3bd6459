"""Measurement harness: device latency (and energy) tables on CPU and CUDA, in torch or ONNX Runtime,
per-op lookup tables, and the export/import of models for external device tools."""

from __future__ import annotations

from .._lazy import lazy_exports

# name -> submodule; imported on first use so that `hwpred --help` does not pay for torch
_EXPORTS = {
    "CPUTimer": "timers",
    "CUDATimer": "timers",
    "MeasureError": "timers",
    "RepeatPolicy": "timers",
    "TimingStats": "timers",
    "make_timer": "timers",
    "median_ci": "timers",
    "describe_device": "device",
    "open_energy_counter": "energy",
    "MeasureConfig": "config",
    "select_archs": "config",
    "schedule_rounds": "schedule",
    "Journal": "journal",
    "carry_journal": "journal",
    "journal_path": "journal",
    "MeasureResult": "harness",
    "load_model_spec": "harness",
    "measure_model": "harness",
    "measure_space": "harness",
    "lut_archs": "op_tables",
    "measure_lut": "op_tables",
    "median_rel_diff": "repeatability",
    "op_multiset_ties": "repeatability",
    "pair_classes": "repeatability",
    "pass2_column": "tables",
    "pass_agreement": "repeatability",
    "rank_agreement": "repeatability",
    "sweep_readings": "repeatability",
    "RUNTIMES": "runtimes",
    "export_space": "export",
    "read_manifest": "export",
    "import_results": "importing",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
