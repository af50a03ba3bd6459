"""Pairs, config validation, the resumable grid runner, report, mapping and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwpred.data.table import MetricTable
from hwpred.errors import ConfigError, DataError
from hwpred.simulation import RESULT_COLUMNS, SimulationStore, load_config, parse_config, plan, run_simulation
from hwpred.simulation.mapping import load_study_results, place_predictors
from hwpred.simulation.pairs import make_pair
from hwpred.simulation.report import make_report
from hwpred.simulation.unit import run_unit, unit_task
from hwpred.spaces import NB201, TRANSNAS_MACRO

N_ARCH = 600


@pytest.fixture(scope="module")
def tables():
    """Synthetic accuracy (percent) and latency tables on the same 600 NB201 cells, in different row order."""
    rng = np.random.default_rng(0)
    all_archs = np.array(NB201.enumerate())
    archs = all_archs[rng.choice(len(all_archs), N_ARCH, replace=False)]
    size = archs.sum(axis=1).astype(float)
    acc = np.clip(40 + 2 * size + rng.normal(0, 3, N_ARCH), 1, 99)
    lat = 2 + size + np.exp(rng.normal(0, 0.5, N_ARCH))
    perm = rng.permutation(N_ARCH)
    acc_t = MetricTable("nb201", archs, {"c10/test_acc": acc}, units={"c10/test_acc": "%"})
    hw_t = MetricTable("nb201", archs[perm], {"dev/latency_ms": lat[perm]}, units={"dev/latency_ms": "ms"})
    return acc_t, hw_t, archs, acc, lat


@pytest.fixture(scope="module")
def pair(tables):
    acc_t, hw_t, *_ = tables
    return make_pair(
        acc_t, "c10/test_acc", hw_t, "dev/latency_ms", accuracy_name="syn:acc", hardware_name="syn:lat"
    )


def _cfg(tmp_path, **over):
    doc = {
        "name": "t",
        "pairs": [{"accuracy": "syn:acc", "hardware": "syn:lat"}],
        "subset_sizes": [50, "all"],
        "noise_stds": [0.0, 0.5, 1.0],
        "trials": 6,
        "seed": 0,
        "output": str(tmp_path),
        "trials_per_part": 4,
        "example": {"subset_size": 100},
    }
    doc.update(over)
    return parse_config(doc, "test.yaml")


# ---- pairs ---------------------------------------------------------------------------------
def test_pair_joins_on_op_tuple_not_row_order(tables, pair):
    _, _, archs, acc, lat = tables
    idx = {tuple(a): i for i, a in enumerate(archs)}
    for k in range(0, N_ARCH, 37):
        i = idx[tuple(pair.archs[k])]
        assert pair.acc[k] == pytest.approx(acc[i] / 100)
        assert pair.hw_raw[k] == lat[i]
    assert pair.hw.mean() == pytest.approx(0, abs=1e-12) and pair.hw.std() == pytest.approx(1)
    assert 0 < pair.acc.min() and pair.acc.max() <= 1
    assert np.array_equal(pair.select_acc, pair.acc)


def test_pair_different_search_spaces(tables):
    acc_t, *_ = tables
    tn = np.array(TRANSNAS_MACRO.enumerate()[:20])
    other = MetricTable("transnas_macro", tn, {"lat": np.arange(20.0)})
    with pytest.raises(DataError, match="search space"):
        make_pair(acc_t, "c10/test_acc", other, "lat")


def test_pair_no_common_architectures(tables):
    acc_t, _, archs, *_ = tables
    all_archs = np.array(NB201.enumerate())
    have = {tuple(a) for a in archs}
    others = np.array([a for a in all_archs if tuple(a) not in have][:30])
    hw = MetricTable("nb201", others, {"lat": np.arange(30.0)})
    with pytest.raises(DataError, match="no architecture in common"):
        make_pair(acc_t, "c10/test_acc", hw, "lat")


def test_pair_constant_column(tables):
    acc_t, _, archs, *_ = tables
    hw = MetricTable("nb201", archs, {"lat": np.full(N_ARCH, 3.0)})
    with pytest.raises(DataError, match="constant"):
        make_pair(acc_t, "c10/test_acc", hw, "lat")
    const_acc = MetricTable("nb201", archs, {"acc": np.full(N_ARCH, 0.5)})
    with pytest.raises(DataError, match="constant"):
        make_pair(
            const_acc, "acc", MetricTable("nb201", archs, {"lat": np.arange(N_ARCH, dtype=float)}), "lat"
        )


def test_pair_with_selection_accuracy(tables):
    acc_t, hw_t, archs, acc, _ = tables
    proxy = MetricTable("nb201", archs, {"score": -acc})
    p = make_pair(
        acc_t,
        "c10/test_acc",
        hw_t,
        "dev/latency_ms",
        select_table=proxy,
        select_column="score",
        selection_name="zc:fake",
    )
    assert np.allclose(p.select_acc, -p.acc * 100)
    assert "select by zc:fake" in p.key


# ---- config --------------------------------------------------------------------------------
def test_config_minimal_form_and_errors(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(
        "name: small\npairs: [{accuracy: 'nats:cifar10', hardware: 'help:raspi4'}]\n"
        "subset_sizes: [1000]\nnoise_stds: [0.0, 0.5, 1.0]\ntrials: 30\nseed: 0\n"
        f"output: {tmp_path / 'out'}\n"
    )
    cfg = load_config(cfg_file)
    assert cfg.pairs[0].hardware == "help:raspi4" and cfg.noise_stds == (0.0, 0.5, 1.0) and cfg.trials == 30
    with pytest.raises(ConfigError, match="negative"):
        _cfg(tmp_path, noise_stds=[0.0, -0.1])
    with pytest.raises(ConfigError, match="accuracy_noise_stds"):
        _cfg(tmp_path, accuracy_noise_stds=[-1])
    with pytest.raises(ConfigError, match="unknown key"):
        _cfg(tmp_path, trails=3)
    with pytest.raises(ConfigError, match="subset_sizes"):
        _cfg(tmp_path, subset_sizes=[0])
    with pytest.raises(ConfigError, match="trials"):
        _cfg(tmp_path, trials=0)
    with pytest.raises(ConfigError, match="lacks 'hardware'"):
        _cfg(tmp_path, pairs=[{"accuracy": "x"}])
    r = _cfg(tmp_path, noise_stds={"start": 0, "stop": 1, "step": 0.1})
    assert len(r.noise_stds) == 11 and r.noise_stds[-1] == 1.0
    cross = _cfg(tmp_path, pairs={"accuracy": ["a:1", "a:2"], "hardware": ["h:1", "h:2", "h:3"]})
    assert len(cross.pairs) == 6


@pytest.mark.parametrize(
    "override, message",
    [
        ({"noise_stds": [0.0, float("inf")]}, "test.yaml: noise_stds holds inf; .* must be finite"),
        (
            {"example": {"subset_size": "ALL"}},
            "test.yaml: example.subset_size must be an integer >= 1 or 'all'",
        ),
        ({"example": {"noise_std": -1}}, "test.yaml: example.noise_std must be a number >= 0"),
        (
            {"pairs": [{"accuracy": "a:1", "hardware": "h:1"}] * 2},
            "test.yaml: pairs lists a:1 x h:1 more than once",
        ),
        (
            {"pairs": [{"accuracy": "a:1", "hardware": "h:1", "hw": 2}]},
            r"test.yaml: pairs\[0\] has unknown key",
        ),
        ({"name": "../up"}, "test.yaml: name '../up' must be letters, digits"),
        ({"accuracy_scale": "pct"}, "test.yaml: accuracy_scale 'pct' is unknown; use one of auto, percent"),
        ({"noise_model": {"repeats": 3}}, r"test.yaml: noise_model has unknown key\(s\) \['repeats'\]"),
        ({"subset_sizes": [100, 100]}, "test.yaml: subset_sizes lists 100 more than once"),
        ({"output": ""}, "test.yaml: missing required key 'output'"),
    ],
)
def test_config_errors_name_the_file_and_the_key(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        _cfg(tmp_path, **override)


@pytest.mark.parametrize("name, digest", [("small", "b99ea7845fbdfb86"), ("paper2022", "d6a1f42561023f6f")])
def test_config_hash_of_shipped_configs_is_unchanged(name, digest):
    """A store belongs to its config's hash: a changed hash would orphan every existing store."""
    cfg = load_config(Path(__file__).resolve().parents[2] / "simulation" / f"{name}.yaml")
    assert cfg.config_hash == digest


def test_subset_size_larger_than_space(tmp_path, pair):
    cfg = _cfg(tmp_path, subset_sizes=[N_ARCH + 1])
    with pytest.raises(ConfigError, match="larger than the 600"):
        run_simulation(cfg, pairs=[pair], progress=False)


# ---- grid ----------------------------------------------------------------------------------
def test_grid_runs_resumes_and_is_deterministic(tmp_path, pair):
    cfg = _cfg(tmp_path)
    store = run_simulation(cfg, pairs=[pair], progress=False)
    df = store.read()
    assert set(RESULT_COLUMNS) <= set(df.columns)
    assert len(df) == 2 * 3 * 6  # sizes x noise levels x trials
    assert set(df["subset_size"]) == {50, N_ARCH}
    zero = df[df["noise_std"] == 0]
    assert (zero["mra_all"] == 0).all() and (zero["mra_pareto"] == 0).all()
    assert (zero["hv_fraction"] == 1).all() and (zero["kendall_tau"] == 1).all()
    noisy = df[df["noise_std"] == 1.0]
    assert (noisy["kendall_tau"] < 1).all() and noisy["mra_all"].mean() > 0
    assert ((df["hv_fraction"] > 0) & (df["hv_fraction"] <= 1 + 1e-12)).all()
    # resume: nothing to redo; parts untouched
    parts = sorted(store.parts_dir.glob("*.parquet"))
    assert len(parts) == 2 * 2  # 2 sizes x ceil(6 / 4) blocks
    mtimes = [p.stat().st_mtime_ns for p in parts]
    run_simulation(cfg, pairs=[pair], progress=False)
    assert [p.stat().st_mtime_ns for p in parts] == mtimes
    # a lost part is recomputed to the same numbers
    first = pd.read_parquet(parts[0])
    parts[0].unlink()
    store.results_path.unlink()
    run_simulation(cfg, pairs=[pair], progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(parts[0]), first)
    pd.testing.assert_frame_equal(store.read(), df)
    # the store belongs to its config
    with pytest.raises(ConfigError, match="different config"):
        run_simulation(_cfg(tmp_path, seed=1), pairs=[pair], progress=False)
    assert (store.root / "example.parquet").is_file()
    info = json.loads((store.root / "example.json").read_text())
    assert info["subset_size"] == 100


def test_results_do_not_depend_on_blocking_or_workers(tmp_path, pair):
    cfg = _cfg(tmp_path)
    whole = run_unit(unit_task(pair, cfg, 50, 0, 6))
    split = pd.concat([run_unit(unit_task(pair, cfg, 50, 0, 2)), run_unit(unit_task(pair, cfg, 50, 2, 6))])
    key = ["noise_std", "trial"]
    a = whole.sort_values(key).reset_index(drop=True)
    b = split.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    two = run_simulation(_cfg(tmp_path / "w2"), pairs=[pair], progress=False, workers=2).read()
    one = run_simulation(_cfg(tmp_path / "w1"), pairs=[pair], progress=False, workers=1).read()
    pd.testing.assert_frame_equal(one, two)


def test_plan_weights_units_by_their_selections(tmp_path, pair):
    cfg = _cfg(tmp_path, accuracy_noise_stds=[0.0, 0.5])
    units = plan(cfg, [pair])
    assert len(units) == 2 * 2 and len({u.part_id for u in units}) == len(units)  # sizes x blocks of trials
    assert [u.weight for u in units] == [4 * 3 * 2, 2 * 3 * 2] * 2
    assert sum(u.weight for u in units) == 2 * 6 * 3 * 2  # sizes x trials x noise x accuracy noise


def test_dask_executor_gives_the_same_rows(tmp_path, pair):
    pytest.importorskip("dask.distributed")
    local = run_simulation(_cfg(tmp_path / "local"), pairs=[pair], progress=False).read()
    dask = run_simulation(_cfg(tmp_path / "dask"), pairs=[pair], progress=False, executor="dask", workers=1)
    pd.testing.assert_frame_equal(dask.read(), local)
    assert SimulationStore.open(tmp_path / "dask").root == dask.root  # the output folder finds its store
    with pytest.raises(ConfigError, match="executor 'slurm' is unknown"):
        run_simulation(_cfg(tmp_path / "x"), pairs=[pair], progress=False, executor="slurm")


def test_store_layout_and_lookup(tmp_path, pair):
    store = run_simulation(_cfg(tmp_path), pairs=[pair], progress=False)
    names = {p.name for p in store.root.iterdir()}
    assert names == {
        "simulation.json",
        "plan.json",
        "claims",
        "pairs.json",
        "parts",
        "results.parquet",
        "example.parquet",
        "example.json",
    }
    assert json.loads(store.pairs_path.read_text())["pairs"][0]["n"] == N_ARCH
    meta = store.read_meta()
    assert meta["config_hash"] == _cfg(tmp_path).config_hash and meta["config"]["trials"] == 6
    run_simulation(_cfg(tmp_path, name="t2"), pairs=[pair], progress=False)
    with pytest.raises(DataError, match="holds several simulations"):
        SimulationStore.open(tmp_path)


def test_run_simulation_example_runs(tmp_path, monkeypatch):
    import doctest
    import tempfile

    from hwpred.simulation import run

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = doctest.testmod(run, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_accuracy_noise_and_example(tmp_path, pair):
    cfg = _cfg(tmp_path, accuracy_noise_stds=[0.0, 0.5], subset_sizes=[100], noise_stds=[0.0])
    df = run_simulation(cfg, pairs=[pair], progress=False).read()
    assert set(df["acc_noise_std"]) == {0.0, 0.5}
    with_noise = df[df["acc_noise_std"] == 0.5]
    assert (with_noise["kendall_tau_acc"] < 1).all()
    assert (df[df["acc_noise_std"] == 0]["mra_all"] == 0).all()


# ---- report and mapping --------------------------------------------------------------------
def test_report_and_mapping(tmp_path, pair):
    cfg = _cfg(tmp_path, trials=8)
    store = run_simulation(cfg, pairs=[pair], progress=False)
    sim = store.read()
    curve = sim[(sim["subset_size"] == 50)].groupby("noise_std")[["mra_all", "kendall_tau"]].mean()
    study = pd.DataFrame(
        {
            "dataset": ["syn:lat"] * 4 + ["other:dev"] * 2,
            "predictor": ["gp", "gp", "mlp", "mlp", "gp", "gp"],
            "train_size": [100] * 6,
            "seed": [0, 1, 0, 1, 0, 1],
            "kendall_tau": [0.8, 0.8, 0.6, 0.6, 0.7, 0.7],
            "dev_std": [0.5, 0.5, 0.25, 0.75, 2.0, 2.0],  # mlp averages to 0.5 too
        }
    )
    path = tmp_path / "study.csv"
    study.to_csv(path, index=False)
    placed = place_predictors(sim, load_study_results(path), subset_sizes=[50])
    gp = placed[(placed["predictor"] == "gp") & (placed["dataset"] == "syn:lat")].iloc[0]
    assert gp["mra_all_at_std"] == pytest.approx(curve.loc[0.5, "mra_all"])
    assert gp["matched_pair"] and not gp["outside_range"]
    taus, mras = curve["kendall_tau"].to_numpy(), curve["mra_all"].to_numpy()
    order = np.argsort(taus)
    assert gp["mra_all_at_tau"] == pytest.approx(np.interp(0.8, taus[order], mras[order]))
    other = placed[placed["dataset"] == "other:dev"].iloc[0]
    assert not other["matched_pair"] and other["outside_range"]  # dev_std 2.0 beyond the simulated 1.0
    with pytest.raises(DataError, match="lack column"):
        bad = tmp_path / "bad.csv"
        study.drop(columns=["dev_std"]).to_csv(bad, index=False)
        load_study_results(bad)

    from hwpred.cli import main

    assert (
        main(
            [
                "simulate",
                "map",
                str(store.root),
                str(path),
                "--subset-size",
                "50",
                "--out",
                str(tmp_path / "placed.csv"),
            ]
        )
        == 0
    )
    assert set(pd.read_csv(tmp_path / "placed.csv")["predictor"]) == {"gp", "mlp"}

    rep = make_report(store.root, predictors=load_study_results(path))
    for key in ("mra_vs_noise", "mra_vs_tau", "hv_vs_candidates", "example"):
        assert rep.figures[key].is_file() and rep.figures[key].with_suffix(".svg").is_file()
        assert rep.figures[key].stat().st_size > 10_000
    md = rep.summary_md.read_text()
    assert "MRA" in md and "mra_vs_tau.png" in md and "Real predictors" in md
    by_noise = pd.read_csv(rep.tables["by_noise"])
    row = by_noise[(by_noise["subset_size"] == 50) & (by_noise["noise_std"] == 0.5)].iloc[0]
    assert row["mra_all_mean"] == pytest.approx(curve.loc[0.5, "mra_all"])
    html = rep.summary_html.read_text()
    assert "<table>" in html
    assert html.count('src="data:image/png;base64,') == 4  # a self-contained page: every figure embedded


def test_report_per_pair_and_subset_sizes(tmp_path, tables, pair):
    acc_t, hw_t, archs, acc, _ = tables
    proxy = make_pair(
        acc_t,
        "c10/test_acc",
        hw_t,
        "dev/latency_ms",
        accuracy_name="syn:acc",
        hardware_name="syn:lat",
        select_table=MetricTable("nb201", archs, {"s": -acc}),
        select_column="s",
        selection_name="anti",
    )
    store = run_simulation(_cfg(tmp_path, trials=2), pairs=[pair, proxy], progress=False)
    rep = make_report(store.root, per_pair=True, subset_sizes=["50"])
    assert set(pd.read_csv(rep.tables["by_pair"])["subset_size"]) == {50}
    folders = sorted(p.name for p in (rep.out_dir / "pairs").iterdir())
    assert len(folders) == 2
    for name in folders:
        for f in ("by_noise.csv", "mra_vs_noise.png", "mra_vs_tau.svg", "hv_vs_candidates.png"):
            assert (rep.out_dir / "pairs" / name / f).is_file()
    assert "Per pair at 50 candidates" in rep.summary_md.read_text()
    with pytest.raises(DataError, match="no results for subset sizes"):
        make_report(store.root, subset_sizes=[7])


def test_report_on_missing_store(tmp_path):
    with pytest.raises(DataError, match="not a simulation store"):
        make_report(tmp_path)


# ---- CLI -----------------------------------------------------------------------------------
def test_cli_run_and_report_with_file_datasets(tmp_path, tables, capsys):
    from hwpred.cli import main

    acc_t, hw_t, *_ = tables
    acc_p = acc_t.to_parquet(tmp_path / "acc.parquet")
    hw_p = hw_t.to_parquet(tmp_path / "hw.parquet")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"name: cli\npairs: [{{accuracy: 'file:{acc_p}#c10/test_acc', hardware: 'file:{hw_p}#dev/latency_ms'}}]\n"
        f"subset_sizes: [100]\nnoise_stds: [0.0, 0.5]\ntrials: 3\nseed: 0\noutput: {tmp_path / 'out'}\n"
        "example: {subset_size: 100}\n"
    )
    assert main(["simulate", "run", str(cfg), "--no-progress", "--workers", "1"]) == 0
    assert main(["simulate", "report", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "mra_vs_tau" in out and (tmp_path / "out" / "cli" / "report" / "summary.md").is_file()
    # user errors: one line, exit code 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(cfg.read_text().replace("noise_stds: [0.0, 0.5]", "noise_stds: [-0.5]"))
    assert main(["simulate", "run", str(bad)]) == 2
    assert "negative" in capsys.readouterr().err
    big = tmp_path / "big.yaml"
    big.write_text(cfg.read_text().replace("subset_sizes: [100]", "subset_sizes: [100000]"))
    assert main(["simulate", "run", str(big)]) == 2
    assert "larger than" in capsys.readouterr().err


# ---- real data -----------------------------------------------------------------------------
def test_real_pair_raspi4_cifar10(mirror, tmp_path):
    from hwpred.simulation.pairs import load_pair

    p = load_pair("nats:cifar10", "help:raspi4")
    assert len(p) == 15625
    assert 0.09 < p.acc.min() and p.acc.max() < 0.96  # percent turned into a fraction
    cfg = parse_config(
        {
            "name": "real",
            "pairs": [{"accuracy": "nats:cifar10", "hardware": "help:raspi4"}],
            "subset_sizes": [1000],
            "noise_stds": [0.0, 1.0],
            "trials": 5,
            "seed": 0,
            "output": str(tmp_path),
        },
        "real.yaml",
    )
    df = run_simulation(cfg, pairs=[p], progress=False).read()
    assert (df[df["noise_std"] == 0]["mra_all"] == 0).all()
    noisy = df[df["noise_std"] == 1.0]
    assert 0.3 < noisy["kendall_tau"].mean() < 0.8 and noisy["mra_all"].mean() > 0


def test_paper_config_lists_every_mirror_pair(mirror):
    cfg = load_config(Path(__file__).resolve().parents[2] / "simulation" / "paper2022.yaml")
    assert cfg.trials == 1000 and cfg.subset_sizes == (100, 500, 1000, 2000, 5000, "all")
    assert len(cfg.noise_stds) == 11
    accs = {p.accuracy for p in cfg.pairs}
    hws = {p.hardware for p in cfg.pairs}
    assert accs == {"nats:cifar10", "nats:cifar100", "nats:ImageNet16-120"}
    from hwpred.data import available_datasets

    avail = {n for n, ok, _ in available_datasets() if ok}
    offered = {
        n
        for n in avail
        if n.startswith("help:")
        or (n.startswith("hwnb360:") and not n.endswith("-accuracy") and not n.endswith("latency_var"))
    }
    assert hws == offered


def test_grid_rows_equal_reference(tmp_path, pair):
    """End to end: a stored row equals the reference evaluation of the same subset and noise."""
    from test_simulation import ref_evaluate, ref_front

    from hwpred.simulation.unit import _noise, _subset

    cfg = _cfg(tmp_path, subset_sizes=[80, "all"], noise_stds=[0.7], trials=3)
    df = run_simulation(cfg, pairs=[pair], progress=False).read()
    for size in (80, N_ARCH):
        task = unit_task(pair, cfg, size if size == 80 else "all", 0, 3)
        for t in range(3):
            idx = _subset(task, t)
            acc, hw = pair.acc[idx], pair.hw[idx]
            # the grid lays the noise vector out in the subset's accuracy order (best first)
            order = np.argsort(-acc, kind="stable")
            noisy = hw.copy()
            noisy[order] += _noise(task, t, 0.7, "hw", len(idx))
            front_max = hw[ref_front(acc, hw)].max()
            raw = front_max * pair.hw_std + pair.hw_mean
            ref_hw = (1.1 * raw - pair.hw_mean) / pair.hw_std
            want = ref_evaluate(ref_front(acc, noisy), acc, hw, ref_hw)
            row = df[(df["subset_size"] == size) & (df["trial"] == t)].iloc[0]
            assert row["mra_all"] == pytest.approx(100 * want["mra_all"], abs=1e-10)
            assert row["mra_pareto"] == pytest.approx(100 * want["mra_pareto"], abs=1e-10)
            assert row["hv"] == pytest.approx(want["hv"], rel=1e-10)
            assert row["hv_fraction"] == pytest.approx(want["hv"] / want["hv_true"], rel=1e-10)
            assert row["n_verified"] == want["n_verified"]


def test_selection_by_proxy_accuracy(tmp_path, tables, pair):
    """A proxy equal to the true accuracy selects exactly as the truth does (same seeds); a
    reversed proxy selects badly, while MRA is still measured with the true accuracy."""
    acc_t, hw_t, archs, acc, _ = tables
    same = make_pair(
        acc_t,
        "c10/test_acc",
        hw_t,
        "dev/latency_ms",
        accuracy_name="syn:acc",
        hardware_name="syn:lat",
        select_table=MetricTable("nb201", archs, {"s": acc}),
        select_column="s",
        selection_name="proxy",
    )
    worse = make_pair(
        acc_t,
        "c10/test_acc",
        hw_t,
        "dev/latency_ms",
        accuracy_name="syn:acc",
        hardware_name="syn:lat",
        select_table=MetricTable("nb201", archs, {"s": -acc}),
        select_column="s",
        selection_name="anti",
    )
    base = run_simulation(_cfg(tmp_path / "a"), pairs=[pair], progress=False).read()
    prox = run_simulation(_cfg(tmp_path / "b"), pairs=[same], progress=False).read()
    cols = ["subset_size", "noise_std", "trial", "mra_all", "mra_pareto", "hv", "hv_fraction", "kendall_tau"]
    pd.testing.assert_frame_equal(base[cols], prox[cols])
    assert np.allclose(prox["kendall_tau_acc"], 1.0)
    bad = run_simulation(_cfg(tmp_path / "c"), pairs=[worse], progress=False).read()
    assert (bad["kendall_tau_acc"] < -0.99).all()
    assert bad["mra_all"].mean() > 2 * base["mra_all"].mean() > 0
    assert (bad[bad["noise_std"] == 0]["mra_all"] > 0).any()  # wrong even without metric noise
