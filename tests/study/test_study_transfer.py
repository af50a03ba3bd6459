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


def test_score_unmeasured_and_size_zero_parse(tmp_path):
    doc = _doc(tmp_path, ["ridge_reg"])
    plain = parse_config(doc)
    assert plain.score_unmeasured is False
    doc.update(score_unmeasured=True, train_sizes=[0, 5])
    cfg = parse_config(doc)
    assert cfg.score_unmeasured and cfg.datasets[0].train_sizes == (0, 5)
    # the flag changes the numbers a store holds, so the hash; earlier configs keep theirs
    assert cfg.config_hash != plain.config_hash
    assert "score_unmeasured" not in plain.result_fields()
    with pytest.raises(ConfigError, match="score_unmeasured must be true or false"):
        parse_config({**doc, "score_unmeasured": "yes"})
    with pytest.raises(ConfigError, match=">= 0"):
        parse_config({**doc, "train_sizes": [-1, 5]})


def test_study_scores_every_unmeasured_architecture(tmp_path):
    """Size 0 runs only a family that ranks from its sources; each cell's Spearman over the
    architectures outside its training set is the one a direct fit gives."""
    from hwpred.metrics import spearman
    from hwpred.predictors import create
    from hwpred.study import run_study
    from hwpred.study.cells import split, study_dataset

    sources = ["help:pixel3", "help:gold_6226", "help:fpga"]
    doc = _doc(tmp_path, [{"name": "transfer_ridge", "params": {"sources": sources}}, "ridge_reg"])
    doc.update(score_unmeasured=True, train_sizes=[0, 8])
    result = run_study(parse_config(doc))
    df = result.store.read()
    assert sorted(zip(df["predictor"], df["train_size"])) == [
        ("ridge_reg", 8),
        ("transfer_ridge", 0),
        ("transfer_ridge", 8),
    ]
    ds = study_dataset("help:raspi4")
    archs, y = ds.table.archs, ds.table.column(ds.column)
    _, pool = split(len(ds), 625, 0)
    rest = np.setdiff1d(np.arange(len(ds)), pool[:8])
    fitted = create("transfer_ridge", sources=sources, target="help:raspi4", random_state=0)
    fitted.fit(archs[pool[:8]], y[pool[:8]])
    row = df[(df["predictor"] == "transfer_ridge") & (df["train_size"] == 8)].iloc[0]
    assert row["spearman_unmeasured"] == pytest.approx(spearman(y[rest], fitted.predict(archs[rest])))
    zero = df[df["train_size"] == 0].iloc[0]
    assert 0.6 < zero["spearman_unmeasured"] < 1.0  # the sources' consensus ranks raspi4 well
    assert df["spearman_unmeasured"].notna().all()
    from hwpred.study.report import write_report

    report = write_report(result.store.root)
    assert "spearman_unmeasured" in report.figures
    assert "Spearman, unmeasured" in (report.out / "summary.md").read_text()


def test_store_parts_without_the_unmeasured_column_read_as_null():
    import pyarrow as pa

    from hwpred.study.store import SCHEMA, conform

    old = pa.schema([f for f in SCHEMA if f.name != "spearman_unmeasured"])
    part = pa.Table.from_pydict({f.name: [None] for f in old}, schema=old)
    table = conform(part)
    assert table.schema == SCHEMA and table.column("spearman_unmeasured").null_count == 1
