"""Simulation of predictor-guided multi-objective selection: noise model, vectorised Pareto
selection with MRA and hypervolume, accuracy x hardware pairs, the grid runner and its report."""

from __future__ import annotations

from .._lazy import lazy_exports

# name -> submodule; imported on first use so that `hwpred --help` does not pay for pandas/matplotlib
_EXPORTS = {
    "NoiseModel": "noise",
    "AccuracyOrder": "selection",
    "SelectionMetrics": "selection",
    "TrueFront": "selection",
    "hypervolume": "selection",
    "pareto_mask": "selection",
    "reference_metric": "selection",
    "simulate_selection": "selection",
    "SimPair": "pairs",
    "join_pair": "pairs",
    "load_pair": "pairs",
    "make_pair": "pairs",
    "ExampleSpec": "grid",
    "PairSpec": "grid",
    "SimulationConfig": "grid",
    "load_config": "grid",
    "parse_config": "grid",
    "RESULT_COLUMNS": "unit",
    "SimulationStore": "store",
    "load_pairs": "run",
    "plan": "run",
    "run_simulation": "run",
    "make_report": "report",
    "Expectation": "expect",
    "expected_cost": "expect",
    "published_summary": "expect",
    "cell_summary": "summary",
    "read_summary": "summary",
    "TauReference": ".kendall",
    "kendall_tau_rows": ".kendall",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
