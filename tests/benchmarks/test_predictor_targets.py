"""The predictor benchmark: its study config, and the targets script on a store it makes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hwpred.predictors import available
from hwpred.study import ResultStore, load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "studies" / "predictors-default.yaml"
SCRIPT = ROOT / "benchmarks" / "predictor_targets.py"


@pytest.fixture(scope="module")
def targets():
    spec = importlib.util.spec_from_file_location("predictor_targets", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_config_is_the_benchmark_grid():
    cfg = load_config(CONFIG)
    assert sorted(p.name for p in cfg.predictors) == sorted(available())
    assert all(p.tuning.n_trials == 0 and not p.params for p in cfg.predictors)
    assert [d.name for d in cfg.datasets] == ["help:raspi4", "help:pixel3", "help:gold_6226"]
    assert all(d.train_sizes == (25, 100, 1000) and d.test_size == 625 for d in cfg.datasets)
    assert cfg.seeds == (0, 1, 2)


def _store(tmp_path, taus: dict, query_s: dict) -> Path:
    """A store of the benchmark's config holding taus[(predictor, size)] on two datasets, 3 seeds."""
    cfg = load_config(CONFIG).with_overrides(output=tmp_path)
    store = ResultStore(cfg.store_dir)
    store.claim(cfg)
    for ds in ("help:raspi4", "help:pixel3"):
        for (pred, size), tau in taus.items():
            for seed in range(3):
                store.write(
                    {
                        "cell_id": f"{ds}|{pred}|n{size}|s{seed}",
                        "dataset": ds,
                        "predictor": pred,
                        "train_size": size,
                        "seed": seed,
                        "status": "ok",
                        "n_test": 625,
                        "kendall_tau": tau + 0.001 * seed,
                        "fit_time_s": 1.0,
                        "query_time_s": query_s[pred],
                    }
                )
    return cfg.store_dir


def test_targets_pass(targets, tmp_path, capsys):
    taus = {("lut", 25): 0.42, ("xgb", 25): 0.5, ("xgb", 1000): 0.85, ("gp", 1000): 0.91}
    store = _store(tmp_path, taus, {"lut": 1e-4, "xgb": 0.002, "gp": 0.02})
    assert targets.main([str(store)]) == 0
    out = capsys.readouterr().out
    assert "PASS: every learning family beats the LUT (tau 0.421)" in out
    assert "PASS: best tau on help:raspi4 at 1000 = 0.911 (gp)" in out
    assert "PASS: best tau on help:pixel3 at 1000 = 0.911 (gp)" in out
    assert "PASS: query < 50 ms" in out
    assert "| predictor | help:pixel3 @25 | help:pixel3 @1000 | help:raspi4 @25 | help:raspi4 @1000 |" in out
    assert "| xgb | 0.501 ± 0.001 | 0.851 ± 0.001 | 0.501 ± 0.001 | 0.851 ± 0.001 |" in out
    assert "| lut | 0.421 ± 0.001 | – | 0.421 ± 0.001 | – |" in out


def test_targets_fail_and_name_the_culprits(targets, tmp_path, capsys):
    taus = {("lut", 25): 0.42, ("lin_reg", 1000): 0.40, ("gp", 1000): 0.88}
    store = _store(tmp_path, taus, {"lut": 1e-4, "lin_reg": 1e-4, "gp": 0.08})
    targets.main([str(store)])
    out = capsys.readouterr().out
    assert "FAIL: every learning family beats the LUT" in out and "lin_reg 0.401" in out
    assert "FAIL: best tau on help:raspi4 at 1000 = 0.881 (gp)" in out
    assert "FAIL: query < 50 ms" in out and "['gp']" in out
