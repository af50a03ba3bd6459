"""The study runs transfer families: an entry names its sources, leakage is refused or warned,
the worker tells the family its target, and the report marks transfer lines."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hwpred.errors import ConfigError
from hwpred.study import parse_config, validate
from hwpred.study.worker import predictor_params


def _doc(tmp_path, predictors, datasets=("help:raspi4",)):
    return {
        "name": "tr",
        "datasets": list(datasets),
        "predictors": predictors,
        "train_sizes": [10],
        "test_size": 625,
        "seeds": [0],
        "output": str(tmp_path / "res"),
    }


def test_worker_gives_transfer_families_their_target():
    full = predictor_params("transfer_ridge", {"sources": "help-all"}, 3, "nb201", "help:pixel3")
    assert full["target"] == "help:pixel3" and full["random_state"] == 3
    assert "target" not in predictor_params("ridge_reg", {}, 3, "nb201", "help:pixel3")


@pytest.mark.mirror
def test_target_among_sources_is_refused(mirror, tmp_path):
    doc = _doc(tmp_path, [{"name": "transfer_ridge", "params": {"sources": ["help:raspi4", "help:pixel3"]}}])
    with pytest.raises(ConfigError, match="among its own sources"):
        validate(parse_config(doc))


@pytest.mark.mirror
def test_same_hardware_is_warned(mirror, tmp_path, caplog):
    doc = _doc(
        tmp_path,
        [{"name": "transfer_gp", "params": {"sources": ["help:titanx_1", "help:pixel3"]}}],
        datasets=("help:titanx_32",),
    )
    with caplog.at_level(logging.WARNING):
        validate(parse_config(doc))
    assert "same hardware" in caplog.text


@pytest.mark.mirror
def test_transfer_cell_runs_and_scores(mirror, tmp_path):
    from hwpred.study.cells import Cell
    from hwpred.study.config import TuningSpec
    from hwpred.study.worker import run_cell

    cell = Cell(
        "tr", "h", "help:pixel3", 625, "transfer_ridge", '{"sources": "help-all"}', TuningSpec(), 10, 0
    )
    rec = run_cell(cell)
    assert rec["status"] == "ok", rec["error"]
    assert rec["kendall_tau"] > 0.6  # ridge_reg on the same 10 cells: about 0.3
    assert '"target": "help:pixel3"' in rec["best_params"]
    assert np.isfinite(rec["spearman"])
