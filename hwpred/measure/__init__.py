"""Measurement harness: device latency (and energy) tables on CPU and CUDA, per-op lookup tables."""
from .device import describe_device
from .energy import open_energy_counter
from .harness import (MeasureConfig, MeasureResult, load_model_spec, measure_model, measure_space,
                      read_archs_file, select_archs)
from .lut import lut_archs, measure_lut
from .timers import CPUTimer, CUDATimer, MeasureError, RepeatPolicy, TimingStats, make_timer, median_ci

__all__ = ["CPUTimer", "CUDATimer", "MeasureConfig", "MeasureError", "MeasureResult", "RepeatPolicy", "TimingStats",
           "describe_device", "load_model_spec", "lut_archs", "measure_lut", "make_timer", "measure_model", "measure_space", "median_ci",
           "open_energy_counter", "read_archs_file", "select_archs"]
