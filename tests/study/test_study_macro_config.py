"""studies/transnas-macro.yaml: the seed study's macro protocol, runnable on a complete macro table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from hwpred.data.table import MetricTable
from hwpred.predictors.lut import LookupTablePredictor
from hwpred.spaces import TRANSNAS_MACRO
from hwpred.study import open_store, parse_config, run_study

CONFIG = Path(__file__).resolve().parents[2] / "studies" / "transnas-macro.yaml"
CELL_GRAPH_FAMILIES = {"bananas", "bonas", "gcn", "nao"}


def test_config_is_the_seed_studys_macro_protocol():
    doc = yaml.safe_load(CONFIG.read_text())
    cfg = parse_config(doc, source=str(CONFIG))
    assert doc["test_size"] == 256 and doc["train_sizes"] == [9, 18, 34, 65, 123, 234, 442, 837, 1585, 2999]
    assert max(doc["train_sizes"]) + doc["test_size"] <= len(TRANSNAS_MACRO.enumerate())
    names = {p if isinstance(p, str) else p["name"] for p in doc["predictors"]}
    assert len(names) == 14 and not names & CELL_GRAPH_FAMILIES and "lut" in names
    assert len(doc["seeds"]) >= 3 and cfg.name == "transnas-macro"
    assert len(LookupTablePredictor.required_archs("transnas_macro")) == 21


def synthetic_macro_table(path: Path) -> str:
    """Every backbone with a cost that grows with its channels and resolution (no model is built)."""
    archs = np.asarray(TRANSNAS_MACRO.enumerate())
    cost = []
    for a in archs:
        c, r, total = 64, 64.0, 0.0
        for code in a[a > 0]:
            c, r = c * (2 if code in (2, 4) else 1), r / (2 if code in (3, 4) else 1)
            total += c * c * r * r
        cost.append(total / 1e6)
    y = np.asarray(cost) * np.random.default_rng(0).lognormal(0, 0.05, len(cost))
    MetricTable(
        "transnas_macro", archs, {"cpu/latency_ms": y}, {"source": "synthetic"}, {"cpu/latency_ms": "ms"}
    ).to_parquet(path)
    return f"file:{path}#cpu/latency_ms"


@pytest.mark.slow  # about 25 s: the study's fits at 2,999 backbones
def test_config_runs_on_a_complete_macro_table(tmp_path):
    doc = yaml.safe_load(CONFIG.read_text())
    doc.update(
        datasets=[synthetic_macro_table(tmp_path / "macro.parquet")],
        predictors=["lin_reg", "lut"],
        train_sizes=[9, 2999],
        seeds=[0],
        tuning={"n_trials": 0},
        output=str(tmp_path / "out"),
    )
    run = run_study(parse_config(doc), executor="local", workers=1, progress=False)
    df = open_store(run.store_dir).read()
    assert set(df["status"]) == {"ok"}, df[["predictor", "status"]]
    lut = df[df["predictor"] == "lut"]
    assert len(lut) >= 1 and np.all(np.isfinite(lut["kendall_tau"]))
