"""A study's tuning trials in an Optuna database: config keys, CLI options, names, hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from hwpred.errors import ConfigError
from hwpred.study import parse_config, run_study, validate


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    from hwpred.data import MetricTable
    from hwpred.spaces import NB201

    archs = np.array(NB201.enumerate())
    rng = np.random.default_rng(5)
    y = 1.0 + rng.uniform(0, 1, (6, 5))[np.arange(6), archs].sum(1) + 0.05 * rng.standard_normal(len(archs))
    p = tmp_path_factory.mktemp("tuning-storage") / "syn.parquet"
    MetricTable("nb201", archs, {"lat": y}).to_parquet(p)
    return p


def _doc(table: Path, out: Path, **tuning) -> dict:
    return {
        "name": "tuned",
        "datasets": [f"file:{table}#lat"],
        "predictors": ["ridge_reg"],
        "train_sizes": [30],
        "test_size": 200,
        "seeds": [0],
        "tuning": {"n_trials": 3, **tuning},
        "output": str(out),
    }


def test_trials_land_in_named_studies_and_the_hash_ignores_where(tmp_path, table):
    import optuna

    url = f"sqlite:///{tmp_path / 'tune.db'}"
    cfg = parse_config(_doc(table, tmp_path / "out", storage=url, study_name="demo"))
    assert cfg.predictors[0].tuning.storage == url
    assert cfg.config_hash == parse_config(_doc(table, tmp_path / "out")).config_hash
    run = run_study(cfg, progress=False)
    cell = run.grid.cells[0]
    names = optuna.get_all_study_names(storage=url)
    assert names == [f"demo/{cell.cell_id}"]
    study = optuna.load_study(storage=url, study_name=names[0])
    assert study.metric_names == ["cv_kendall_tau"] and study.user_attrs["family"] == "ridge_reg"
    assert len(study.trials) == 3 and "fold_fingerprint" in study.user_attrs


def test_cli_options_override_the_config(tmp_path, table, capsys):
    import optuna

    from hwpred.cli import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "tuned.yaml"
    path.write_text(yaml.safe_dump(_doc(table, tmp_path / "out")))
    assert main(["study", "run", str(path), "--no-progress", "--storage", url, "--study-name", "cli"]) == 0
    (name,) = optuna.get_all_study_names(storage=url)
    assert name.startswith("cli/") and name.endswith("|ridge_reg|n30|s0")


def test_bad_storage_and_names_are_config_errors(tmp_path, table):
    with pytest.raises(ConfigError, match="tuning.storage 'nosuchdb://x' cannot be opened"):
        validate(parse_config(_doc(table, tmp_path / "out", storage="nosuchdb://x")))
    with pytest.raises(ConfigError, match="study_name must be a non-empty string"):
        parse_config(_doc(table, tmp_path / "out", study_name=""))
    with pytest.raises(ConfigError, match="storage must be a non-empty string"):
        parse_config(_doc(table, tmp_path / "out", storage=5))
