"""Study: config validation, splits, grid, store, report, CLI (fast, synthetic data)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwpred._io import part_filename
from hwpred.errors import ConfigError, HwpredError
from hwpred.study import ResultStore, load_config, parse_config, validate
from hwpred.study.cells import build_grid, split, train_indices
from hwpred.study.store import RESULT_COLUMNS


def _cfg(table_path: Path, out: Path, **over) -> dict:
    doc = {
        "name": "tiny",
        "datasets": [f"file:{table_path}#cpu/latency_ms"],
        "predictors": ["lin_reg", "ridge_reg"],
        "train_sizes": [20, 60],
        "test_size": 300,
        "seeds": [0, 1],
        "tuning": {"n_trials": 0},
        "output": str(out),
    }
    doc.update(over)
    return doc


# ---- config ------------------------------------------------------------------------------------
def test_minimal_yaml_form_parses(tmp_path, table_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(_cfg(table_path, tmp_path / "res")))
    cfg = load_config(p)
    assert cfg.name == "tiny" and cfg.seeds == (0, 1)
    assert cfg.datasets[0].train_sizes == (20, 60) and cfg.datasets[0].test_size == 300
    assert [q.name for q in cfg.predictors] == ["lin_reg", "ridge_reg"]
    assert cfg.store_dir == tmp_path / "res" / "tiny"
    v = validate(cfg)
    assert v.sizes[cfg.datasets[0].name] == 15625


def test_shipped_configs_parse():
    root = Path(__file__).resolve().parents[2] / "studies"
    paper = load_config(root / "paper2022.yaml")
    assert paper.seeds == tuple(range(50))
    assert len(paper.predictors) == 18 and paper.missing_datasets == "skip"
    sizes = {d.train_sizes for d in paper.datasets}
    assert (11, 25, 55, 124, 276, 614, 1366, 3036, 6748, 15000) in sizes
    assert (9, 18, 34, 65, 123, 234, 442, 837, 1585, 2999) in sizes
    quick = load_config(root / "quick.yaml")
    assert len(quick.predictors) == 18 and len(quick.seeds) == 3 and len(quick.datasets) >= 3
    assert all(len(d.train_sizes) >= 5 for d in quick.datasets)
    assert all(p.tuning.n_trials <= 5 for p in quick.predictors)


def test_config_hash_of_shipped_configs_is_stable():
    """A store belongs to the hash of its config: the hashes of existing configs must never change,
    or their stores would stop resuming."""
    root = Path(__file__).resolve().parents[2] / "studies"
    assert load_config(root / "tiny.yaml").config_hash == "cd0465b05c4a9d07"
    assert load_config(root / "quick.yaml").config_hash == "816c8de2cb6f9a7c"
    assert load_config(root / "paper2022.yaml").config_hash == "1fd56ceac015825b"


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"predictors": ["lin_reg", "no_such_family"]}, "unknown predictor 'no_such_family'"),
        ({"datasets": ["help:no_such_device"]}, "no_such_device"),
        ({"seeds": [0, 1, 0]}, "lists 0 more than once"),
        ({"train_sizes": [20, 15400]}, "exceed its 15625 architectures minus the 300-architecture test set"),
        (
            {"predictors": [{"name": "ridge_reg", "params": {"alhpa": 1.0}}]},
            "no hyper-parameter(s) ['alhpa']",
        ),
        ({"tuning": {"n_trials": -1}}, "n_trials must be >= 0"),
        ({"executor": "slurm"}, "executor 'slurm' is unknown"),
        ({"bogus": 1}, "unknown key(s) ['bogus']"),
        ({"name": "a/b"}, "must be letters"),
    ],
)
def test_bad_config_one_clear_error(tmp_path, table_path, change, needle):
    with pytest.raises(ConfigError) as ei:
        validate(parse_config(_cfg(table_path, tmp_path / "res", **change)))
    assert needle in str(ei.value)
    assert not (tmp_path / "res" / "tiny").exists()  # nothing ran, no store claimed


def test_file_dataset_errors(tmp_path, table_path):
    with pytest.raises(ConfigError, match="no column 'nope'"):
        validate(parse_config(_cfg(table_path, tmp_path, datasets=[f"file:{table_path}#nope"])))
    with pytest.raises(ConfigError, match="not available here"):
        validate(parse_config(_cfg(table_path, tmp_path, datasets=[f"file:{tmp_path}/missing.parquet#x"])))
    # a cluster config skips absent data instead (reported), as long as something is left to run
    doc = _cfg(
        table_path,
        tmp_path,
        missing_datasets="skip",
        datasets=[f"file:{tmp_path}/missing.parquet#x", f"file:{table_path}#cpu/latency_ms"],
    )
    v = validate(parse_config(doc))
    assert len(v.datasets) == 1 and len(v.skipped) == 1
    assert any("skipped" in n for n in build_grid(v).notes)


def test_registry_dataset_without_data_is_missing_not_malformed(tmp_path, table_path, monkeypatch):
    """A known name whose files are neither cached nor in the mirror counts as missing: skippable."""
    from hwpred.study.cells import clear_cache

    (tmp_path / "empty-mirror").mkdir()
    monkeypatch.setenv("HWPRED_DATA_MIRROR", str(tmp_path / "empty-mirror"))
    monkeypatch.setenv("HWPRED_HOME", str(tmp_path / "home"))
    clear_cache()
    with pytest.raises(ConfigError, match="'nats:cifar10' is not available here"):  # fetch-only
        validate(parse_config(_cfg(table_path, tmp_path, datasets=["nats:cifar10"])))
    v = validate(
        parse_config(
            _cfg(
                table_path,
                tmp_path,
                missing_datasets="skip",
                datasets=["nats:cifar10", f"file:{table_path}#cpu/latency_ms"],
            )
        )
    )
    assert list(v.skipped) == ["nats:cifar10"]
    assert [d.name for d in v.datasets] == [f"file:{table_path}#cpu/latency_ms"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output(tmp_path, table_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            validate(parse_config(_cfg(table_path, ro / "sub")))
    finally:
        ro.chmod(stat.S_IRWXU)


def test_output_that_is_a_file_is_unwritable(tmp_path, table_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match="not writable"):
        validate(parse_config(_cfg(table_path, f)))


def test_store_of_a_different_config_is_refused(tmp_path, table_path):
    from hwpred.study import run_study

    run_study(
        parse_config(_cfg(table_path, tmp_path, predictors=["lin_reg"], seeds=[0], train_sizes=[20])),
        progress=False,
    )
    other = parse_config(_cfg(table_path, tmp_path, predictors=["lin_reg"], seeds=[0, 1], train_sizes=[20]))
    with pytest.raises(ConfigError, match="written by a different config"):
        validate(other)
    # executor, workers and output location are not part of the identity
    same = parse_config(
        _cfg(
            table_path,
            tmp_path,
            predictors=["lin_reg"],
            seeds=[0],
            train_sizes=[20],
            executor="dask",
            workers=2,
        )
    )
    validate(same)


def test_package_exports_resolve():
    import hwpred.study as study

    assert callable(study.plan) and study.plan.__module__ == "hwpred.study.cells"
    for name in study.__all__:
        assert getattr(study, name) is not None, name
    from hwpred.study import plan, run_study

    assert plan is study.plan and run_study.__module__ == "hwpred.study.run"


# ---- splits and grid ---------------------------------------------------------------------------
def test_splits_nested_disjoint_and_depend_on_seed_only():
    n, test = 15625, 625
    for seed in (0, 1, 7):
        te, pool = split(n, test, seed)
        assert len(te) == test and len(set(te)) == test
        prev = np.array([], dtype=int)
        for size in (11, 25, 55, 124, 276, 614, 1366):
            tr = train_indices(n, test, seed, size)
            assert len(set(tr)) == size
            assert not set(tr) & set(te), "training set overlaps the test set"
            assert set(prev) <= set(tr), "training sets are not nested"
            prev = tr
        np.testing.assert_array_equal(split(n, test, seed)[0], te)  # reproducible
    assert not np.array_equal(split(n, test, 0)[0], split(n, test, 1)[0])


def test_splits_independent_of_row_order(tmp_path, table_path):
    """Split on the set of architectures: a shuffled copy of the table gives the same test archs."""
    from hwpred.data import MetricTable
    from hwpred.study.cells import study_dataset

    t = MetricTable.read_parquet(table_path)
    perm = np.random.default_rng(3).permutation(len(t))
    shuffled = tmp_path / "shuffled.parquet"
    t.subset(perm).to_parquet(shuffled)
    a = study_dataset(f"file:{table_path}#cpu/latency_ms")
    b = study_dataset(f"file:{shuffled}#cpu/latency_ms")
    te, _ = split(len(a), 100, 4)
    (a_archs, a_y), (b_archs, b_y) = a.arrays(), b.arrays()
    np.testing.assert_array_equal(a_archs[te], b_archs[te])
    np.testing.assert_array_equal(a_y[te], b_y[te])


def test_grid_cells_and_lut_reference(tmp_path, table_path):
    from hwpred.predictors.lut import LookupTablePredictor

    v = validate(parse_config(_cfg(table_path, tmp_path, predictors=["lin_reg", "lut"], seeds=[0, 1, 2])))
    grid = build_grid(v)
    learn = [c for c in grid.cells if c.predictor == "lin_reg"]
    ref = [c for c in grid.cells if c.predictor == "lut"]
    assert len(learn) == 2 * 3 and len({c.cell_id for c in grid.cells}) == len(grid.cells)
    assert len(ref) == 3 and all(c.reference for c in ref)
    assert {c.train_size for c in ref} == {len(LookupTablePredictor.required_archs("nb201"))}


# ---- running, store, report --------------------------------------------------------------------
def test_run_records_every_field_and_resumes(tmp_path, table_path):
    from hwpred.study import run_study

    cfg = parse_config(_cfg(table_path, tmp_path, predictors=["lin_reg", "xgb", "lut"]))
    r1 = run_study(cfg, progress=False)
    df = r1.store.read()
    assert len(df) == len(r1.grid.cells) == r1.stats.ran
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert df["config_hash"].eq(cfg.config_hash).all()
    for col in ("kendall_tau", "spearman", "pearson", "rmse", "dev_std", "fit_time_s", "query_time_s"):
        assert df[col].notna().all(), col
    assert (df["tuning_time_s"] == 0).all()
    assert json.loads(df["versions"].iloc[0])["numpy"] == np.__version__
    assert df["host"].str.len().gt(0).all()
    params = json.loads(df[df.predictor == "xgb"]["best_params"].iloc[0])
    assert params["max_depth"] == 6 and params["random_state"] in (0, 1)
    # learning works: the additive synthetic latency is easy at 60 samples
    big = df[(df.predictor == "lin_reg") & (df.train_size == 60)]
    assert big["kendall_tau"].min() > 0.8
    # dev_std is the std of (prediction - truth) / std(truth) on the test set
    assert (df["dev_std"] > 0).all() and (df[df.predictor == "lin_reg"]["dev_std"] < 1).all()
    lut = df[df.predictor == "lut"]
    assert (lut["n_test"] <= 300).all() and lut["kendall_tau"].min() > 0.8
    # re-running skips everything; numbers unchanged
    r2 = run_study(cfg, progress=False)
    assert r2.stats.ran == 0 and r2.stats.already_done == len(r1.grid.cells)
    assert r2.store.read()[RESULT_COLUMNS].equals(df[RESULT_COLUMNS])


def test_run_study_docstring_example_runs():
    import doctest
    import sys

    from hwpred.study import run_study

    result = doctest.testmod(sys.modules[run_study.__module__])
    assert result.attempted >= 10 and result.failed == 0


def test_failed_cell_is_recorded_not_fatal(tmp_path, table_path):
    from hwpred.study import run_study

    # an impossible hyper-parameter value fails inside fit: the study goes on and records why
    cfg = parse_config(
        _cfg(
            table_path,
            tmp_path,
            predictors=[{"name": "ridge_reg", "params": {"alpha": "x"}}, "lin_reg"],
            seeds=[0],
            train_sizes=[20],
        )
    )
    r = run_study(cfg, progress=False)
    df = r.store.read()
    bad = df[df.predictor == "ridge_reg"]
    assert (bad["status"] == "failed").all() and bad["error"].str.len().gt(0).all()
    assert (df[df.predictor == "lin_reg"]["status"] == "ok").all()
    assert r.stats.failed == 1


def test_store_atomic_names_and_temp_files_ignored(tmp_path):
    store = ResultStore(tmp_path / "s")
    store.cells_dir.mkdir(parents=True)
    (store.cells_dir / ".tmp-abc.part").write_bytes(b"half a file")
    rec = {
        "cell_id": "help:raspi4|xgb|n25|s0",
        "status": "ok",
        "kendall_tau": 0.5,
        "train_size": 25,
        "seed": 0,
        "dataset": "help:raspi4",
        "predictor": "xgb",
    }
    store.write(rec)
    store.write(rec)  # same cell twice: still one file, one row
    assert store.has(rec["cell_id"]) and len(store.part_files()) == 1
    assert len(store.read()) == 1
    assert part_filename("a|b/c") != part_filename("a|b_c")  # sanitised names never collide


def test_open_store_finds_the_one_store_of_an_output_folder(tmp_path):
    from hwpred.errors import DataError
    from hwpred.study import open_store

    for name in ("a", "b"):
        cfg = parse_config(
            {
                "name": name,
                "datasets": ["x"],
                "predictors": ["lin_reg"],
                "train_sizes": [5],
                "test_size": 5,
                "seeds": [0],
                "output": str(tmp_path / name),
            }
        )
        ResultStore(cfg.store_dir).claim(cfg)
        assert open_store(tmp_path / name).root == cfg.store_dir
    (tmp_path / "both").mkdir()
    for name in ("a", "b"):
        (tmp_path / name / name).rename(tmp_path / "both" / name)
    with pytest.raises(DataError, match="holds several studies"):
        open_store(tmp_path / "both")
    with pytest.raises(DataError, match="not a study store"):
        open_store(tmp_path / "a")


def test_report_writes_figures_table_and_self_contained_html(tmp_path, table_path):
    from hwpred.study import run_study
    from hwpred.study.report import write_report

    cfg = parse_config(_cfg(table_path, tmp_path, predictors=["lin_reg", "ridge_reg", "lut"]))
    r = run_study(cfg, progress=False)
    rep = write_report(tmp_path)  # the output folder holding one store also works
    for stem in ("kendall_tau", "kendall_tau_centred", "fit_time"):
        for ext in ("png", "svg"):
            f = rep.out / f"{stem}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f
    page = rep.html.read_text()
    assert page.count("data:image/png;base64,") == 3 and "<img" in page and 'src="http' not in page
    assert "lin_reg" in page and "lut" in page
    md = (rep.out / "summary.md").read_text().splitlines()
    assert md[0].startswith("Studied: 2 predictor families") and rep.headline[0] == md[0]
    md = md[md.index("") + 1 :]  # after the opening: what was studied and one answer
    md = md[md.index("") + 1 :]
    assert md[0].startswith("| dataset | predictor |") and "RMSE (ms)" in md[0] and md[1].startswith("|---|")
    assert all(line.count("|") == md[0].count("|") for line in md)  # a real Markdown table
    s = rep.summary
    row = s[(s.predictor == "lin_reg") & (s.train_size == 60)].iloc[0]
    df = r.store.read()
    taus = df[(df.predictor == "lin_reg") & (df.train_size == 60)]["kendall_tau"]
    assert row["kendall_tau_mean"] == pytest.approx(taus.mean())
    assert row["kendall_tau_std"] == pytest.approx(taus.std(ddof=1))
    assert row["n_seeds"] == 2


def test_cli_run_report_and_errors(tmp_path, table_path, capsys):
    from hwpred.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_cfg(table_path, tmp_path / "out", predictors=["lin_reg"], seeds=[0])))
    assert main(["study", "run", str(cfg), "--no-progress", "--dry-run"]) == 0
    assert main(["study", "run", str(cfg), "--no-progress"]) == 0
    assert main(["study", "report", str(tmp_path / "out" / "tiny")]) == 0
    assert (tmp_path / "out" / "tiny" / "report" / "report.html").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_cfg(table_path, tmp_path / "out", predictors=["nope"])))
    capsys.readouterr()
    assert main(["study", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown predictor 'nope'" in err and "Traceback" not in err
    assert main(["study", "report", str(tmp_path / "nothing-here")]) == 2


def test_default_study_measure_here_without_harness_says_how_to_get_data(tmp_path, monkeypatch):
    import sys

    from hwpred.study.default import default_config_dict

    monkeypatch.setitem(sys.modules, "hwpred.measure", None)  # a build without the harness
    with pytest.raises(HwpredError, match="--measure-here: this build has no measurement harness"):
        default_config_dict(tmp_path, measure_here=True)


def test_default_study_uses_shipped_tables_without_mirror(tmp_path, monkeypatch):
    from hwpred.data.names import describe
    from hwpred.study.default import default_config_dict

    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    cfg = parse_config(default_config_dict(tmp_path / "o"))
    names = [d.name for d in cfg.datasets]
    assert names == ["help:pixel3", "help:raspi4", "help:gold_6226", "help:titan_rtx_256", "help:fpga"]
    assert all(describe(n)["shipped"] for n in names)
    assert "lut" in [p.name for p in cfg.predictors] and max(cfg.datasets[0].train_sizes) == 1000
    assert len(cfg.seeds) == 3
    validate(cfg)  # every dataset loads here, with no mirror


@pytest.mark.slow
def test_default_study_measures_a_cpu_table_and_runs(tmp_path, monkeypatch):
    """--measure-here: the harness measures a small two-pass table here, the study runs on it, and
    the table's noise (test-retest tau of its passes) can be read back."""
    from hwpred.study import default, run_study

    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    monkeypatch.setattr(default, "LOCAL_TABLE_SIZE", 60)
    doc = default.default_config_dict(tmp_path, measure_here=True)
    doc.update(predictors=["ridge_reg", "lut"], train_sizes=[20], test_size=30, seeds=[0])
    r = run_study(parse_config(doc), progress=False)
    df = r.store.read()
    assert len(df) == 2 and (df["status"] == "ok").all(), df["error"].tolist()
    assert set(df["dataset"]) == {f"local:{default.LOCAL_TABLE_NAME}"}  # a name, not a temporary path
    noise = default.table_noise(f"local:{default.LOCAL_TABLE_NAME}")
    assert -1.0 <= noise["tau"] <= 1.0 and noise["median_rel_diff"] >= 0.0


def test_tiny_study_on_real_mirror_data(tmp_path, mirror):
    """studies/tiny.yaml's shape on the real HELP Raspberry Pi 4 table (625-architecture test set)."""
    from hwpred.study import run_study

    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "studies" / "tiny.yaml").read_text())
    doc.update(output=str(tmp_path), predictors=["ridge_reg", "lut"], seeds=[0])
    r = run_study(parse_config(doc), progress=False)
    df = r.store.read()
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert set(df["n_test"][df.predictor == "ridge_reg"]) == {625}
    ridge = df[(df.predictor == "ridge_reg") & (df.train_size == 100)]["kendall_tau"].iloc[0]
    assert ridge > 0.5  # a real learning signal on real latencies, far above a random ranking
