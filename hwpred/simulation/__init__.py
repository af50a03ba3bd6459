"""Simulation of predictor-guided multi-objective selection: noise model, vectorised Pareto
selection with MRA and hypervolume, accuracy x hardware pairs, the grid runner and its report."""
from .._lazy import lazy_exports
from .noise import NoiseModel
from .selection import (AccuracyOrder, SelectionMetrics, TrueFront, hypervolume, pareto_mask, reference_metric,
                        simulate_selection)

# the grid's entry points, imported on first use
_GRID = {"parse_config": "grid", "run_simulation": "grid"}

__all__ = ["AccuracyOrder", "NoiseModel", "SelectionMetrics", "TrueFront", "hypervolume", "pareto_mask",
           "reference_metric", "simulate_selection", *_GRID]
__getattr__ = lazy_exports(__name__, _GRID)
