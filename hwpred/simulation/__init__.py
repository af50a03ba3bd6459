"""Simulation of predictor-guided multi-objective selection: noise model, vectorised Pareto
selection with MRA and hypervolume, accuracy x hardware pairs, the grid runner and its report."""
from .noise import NoiseModel
from .selection import (AccuracyOrder, SelectionMetrics, TrueFront, hypervolume, pareto_mask, reference_metric,
                        simulate_selection)

__all__ = ["AccuracyOrder", "NoiseModel", "SelectionMetrics", "TrueFront", "hypervolume", "pareto_mask",
           "reference_metric", "simulate_selection"]
