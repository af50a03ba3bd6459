"""Shared study test data."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def table_path(tmp_path_factory) -> Path:
    """All 15,625 NB201 cells with an additive per-op latency plus noise (LUT-learnable)."""
    from hwpred.data import MetricTable
    from hwpred.spaces import NB201

    archs = np.array(NB201.enumerate())
    rng = np.random.default_rng(0)
    cost = rng.uniform(0.0, 1.0, size=(6, 5))
    y = 5.0 + cost[np.arange(6), archs].sum(1) + 0.05 * rng.standard_normal(len(archs))
    p = tmp_path_factory.mktemp("study-data") / "syn.parquet"
    MetricTable("nb201", archs, {"cpu/latency_ms": y, "other": -y}).to_parquet(p)
    return p
