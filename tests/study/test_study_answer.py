"""The report's opening: what was studied and its answer, under readable dataset names."""

from __future__ import annotations

import pandas as pd
import pytest

from hwpred.study import parse_config, run_study
from hwpred.study.answer import answers, dataset_label, headline
from hwpred.study.report import write_report


def _summary(rows):
    return pd.DataFrame(
        [
            {"dataset": d, "predictor": p, "train_size": n, "kendall_tau_mean": t, "reference": p == "lut"}
            for d, p, n, t in rows
        ]
    )


def test_answers_pick_best_family_at_largest_size_and_first_size_reaching_target():
    s = _summary(
        [
            ("help:a", "ridge_reg", 10, 0.5),
            ("help:a", "ridge_reg", 100, 0.81),
            ("help:a", "ridge_reg", 1000, 0.85),
            ("help:a", "xgb", 10, 0.3),
            ("help:a", "xgb", 100, 0.84),
            ("help:a", "xgb", 1000, 0.93),
            ("help:a", "lut", 25, 0.99),  # a reference, not a learning family
            ("help:b", "ridge_reg", 10, 0.2),
            ("help:b", "ridge_reg", 1000, 0.6),
        ]
    )
    a, b = answers(s, target=0.8, order=["help:b", "help:a"])[::-1]
    assert (a.dataset, a.best_family, a.best_tau, a.largest_size) == ("help:a", "xgb", 0.93, 1000)
    assert (a.first_size, a.first_family) == (100, "xgb")  # the better of the two at that size
    assert b.dataset == "help:b" and b.first_size is None


def test_file_datasets_get_short_labels():
    assert dataset_label("file:/tmp/abc123/cpu.parquet#cpu/latency_ms") == "cpu.parquet#cpu/latency_ms"
    assert dataset_label("help:raspi4") == "help:raspi4"
    assert dataset_label("local:study-default-cpu") == "local:study-default-cpu"


def test_report_opens_with_the_answer_under_a_short_name(tmp_path, table_path):
    name = f"file:{table_path}#cpu/latency_ms"
    doc = {
        "name": "answer",
        "datasets": [name],
        "predictors": ["ridge_reg", "lut"],
        "train_sizes": [20, 200],
        "test_size": 300,
        "seeds": [0, 1],
        "tuning": {"n_trials": 0},
        "output": str(tmp_path / "res"),
    }
    run = run_study(parse_config(doc), progress=False)
    rep = write_report(run.store_dir)
    md = (rep.out / "summary.md").read_text()
    first = md.split("\n\n")[:2]
    assert first[0].startswith("Studied: 1 predictor families (ridge_reg) and the reference lut")
    assert first[1].startswith("With 200 measurements, ridge_reg reaches Kendall tau")
    assert "on syn.parquet#cpu/latency_ms" in first[1] and str(table_path) not in md
    assert rep.headline[1] in (rep.html.read_text().replace("&#x27;", "'"))
    tau = float(
        rep.summary.query("predictor == 'ridge_reg' and train_size == 200")["kendall_tau_mean"].iloc[0]
    )
    assert f"{tau:.3f}" in first[1]


def test_default_study_shape_runs_offline_on_shipped_tables(tmp_path, monkeypatch):
    """The default study's own datasets, no mirror: a cut-down grid runs and its answer names the device."""
    from hwpred.study.default import default_config_dict

    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    monkeypatch.setenv("HWPRED_HOME", str(tmp_path / "home"))
    doc = default_config_dict(tmp_path / "res")
    doc.update(
        datasets=["help:titan_rtx_256"], predictors=["ridge_reg", "lut"], train_sizes=[10, 50], seeds=[0]
    )
    rep = write_report(run_study(parse_config(doc), progress=False).store_dir)
    assert "on help:titan_rtx_256 (NVIDIA Titan RTX GPU, batch 256)" in rep.headline[1]
    assert not (tmp_path / "home" / "cache").exists()  # the shipped table, nothing fetched


@pytest.mark.slow
def test_full_default_study_answers_every_device(tmp_path, monkeypatch):
    from hwpred.study.default import default_config_dict

    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    doc = default_config_dict(tmp_path / "res")
    run = run_study(parse_config(doc), workers=2, progress=False)
    assert run.stats.failed == 0
    rep = write_report(run.store_dir)
    lines = rep.headline
    assert len(lines) == 1 + len(doc["datasets"])
    assert all(ln.startswith("With 1,000 measurements") for ln in lines[1:])
    # in the config's order: the phone first
    assert "on help:pixel3 (Google Pixel 3 phone)" in lines[1]
    assert list(headline(run.store.read(), rep.summary, order=doc["datasets"])) == list(lines)


def test_answer_quotes_the_cost_of_its_tau_when_the_simulation_lookup_exists(monkeypatch):
    import sys
    import types
    from dataclasses import dataclass

    from hwpred.errors import ConfigError

    @dataclass
    class _M:
        mean: float

    asked = []

    def expected_cost(tau, candidates, hardware=None):
        asked.append((tau, candidates, hardware))
        if hardware is not None:
            raise ConfigError(f"no simulated pair has hardware {hardware!r}")
        return types.SimpleNamespace(metrics={"mra_all": _M(1.5)})

    fake = types.ModuleType("hwpred.simulation.expect")
    fake.expected_cost = expected_cost
    monkeypatch.setitem(sys.modules, "hwpred.simulation.expect", fake)
    s = _summary([("help:a", "ridge_reg", 100, 0.7), ("help:a", "ridge_reg", 1000, 0.9)])
    lines = headline(pd.DataFrame({"status": ["ok"], "seed": [0]}), s)
    assert "; that tau costs about 1.50 pp of MRA at 1,000 candidates (all simulated pairs);" in lines[1]
    assert asked == [(0.9, 1000, "help:a"), (0.9, 1000, None)]  # the device's own pairs first


def test_cost_of_tau_from_the_published_lookup():
    pytest.importorskip("hwpred.simulation.expect", reason="this build has no simulation lookup")
    from hwpred.study.answer import cost_of_tau

    words = cost_of_tau(0.9, "help:raspi4")
    assert words.startswith("; that tau costs about ") and "pp of MRA at 1,000 candidates" in words
