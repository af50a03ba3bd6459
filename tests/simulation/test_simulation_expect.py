"""The per-cell summary, the lookup built on it, and the named noise / reference options."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hwpred.data import MetricTable
from hwpred.errors import ConfigError, DataError
from hwpred.simulation import NoiseModel, expected_cost, make_pair, make_report, parse_config, run_simulation
from hwpred.simulation.expect import Lookup, published_summary
from hwpred.simulation.summary import METRICS, cell_summary, pooled_sd, read_summary
from hwpred.spaces import NB201

N = 300


def _pair(seed: int, name: str):
    rng = np.random.default_rng(seed)
    archs = np.array(NB201.enumerate()[:N])
    size = np.array([sum(op in (2, 3) for op in a) for a in archs], dtype=float)
    acc = MetricTable(
        "nb201", archs, {"acc": np.clip(50 + 5 * size + rng.normal(0, 4, N), 1, 99)}, units={"acc": "%"}
    )
    lat = MetricTable("nb201", archs, {"ms": 1 + size + np.exp(rng.normal(0, 0.4, N))}, units={"ms": "ms"})
    return make_pair(acc, "acc", lat, "ms", accuracy_name="toy:acc", hardware_name=name)


def _cfg(tmp_path, name="grid", **over):
    doc = {
        "name": name,
        "pairs": [{"accuracy": "toy:acc", "hardware": "toy:a"}, {"accuracy": "toy:acc", "hardware": "toy:b"}],
        "subset_sizes": [50, 150, "all"],
        "noise_stds": [0.0, 0.2, 0.5, 1.0],
        "trials": 12,
        "trials_per_part": 6,
        "output": str(tmp_path),
        "example": {"subset_size": 50},
    }
    doc.update(over)
    return parse_config(doc, "test.yaml")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("expect")
    pairs = [_pair(0, "toy:a"), _pair(1, "toy:b")]
    store = run_simulation(_cfg(tmp), pairs=pairs, progress=False)
    rep = make_report(store.root)
    return store, rep


def test_summary_has_mean_sd_count_per_cell(grid):
    store, rep = grid
    cells, meta = read_summary(rep.tables["cells"])
    rows = store.read()
    assert len(cells) == 2 * 3 * 4 and (cells["trials"] == 12).all()
    one = rows[
        (rows["pair"] == "toy:acc x toy:a") & (rows["subset_size"] == 150) & (rows["noise_std"] == 0.5)
    ]
    c = cells[
        (cells["pair"] == "toy:acc x toy:a") & (cells["subset_size"] == 150) & (cells["noise_std"] == 0.5)
    ]
    assert c["mra_pareto_mean"].iloc[0] == pytest.approx(one["mra_pareto"].mean())
    assert c["kendall_tau_sd"].iloc[0] == pytest.approx(one["kendall_tau"].std())
    assert meta["config_hash"] == store.read_meta()["config_hash"] and meta["complete"]
    assert {"numpy", "numba", "hwpred"} <= set(meta["software"])
    assert rep.figures["grid_mra_vs_tau"].is_file() and rep.figures["grid_hv_vs_candidates"].is_file()


def test_lookup_at_a_grid_point_returns_that_cell(grid):
    _, rep = grid
    cells, _ = read_summary(rep.tables["cells"])
    c = cells[
        (cells["hardware"] == "toy:a") & (cells["subset_size"] == 150) & (cells["noise_std"] == 0.5)
    ].iloc[0]
    e = expected_cost(c["kendall_tau_mean"], 150, hardware="toy:a", summary=rep.tables["cells"])
    assert e.pairs == ["toy:acc x toy:a"] and not e.notes
    assert e.metrics["mra_all"].mean == pytest.approx(c["mra_all_mean"])
    assert e.metrics["hv_fraction"].sd_trials == pytest.approx(c["hv_fraction_sd"])


def test_lookup_over_pairs_is_the_mean_of_the_pairs(grid):
    _, rep = grid
    look = Lookup(rep.tables["cells"])
    both = look.expect(0.8, 100)
    a, b = look.expect(0.8, 100, hardware="toy:a"), look.expect(0.8, 100, hardware="toy:b")
    assert len(both.pairs) == 2
    for m in ("mra_all", "mra_pareto", "hv_fraction"):
        assert both.metrics[m].mean == pytest.approx((a.metrics[m].mean + b.metrics[m].mean) / 2)
        assert both.metrics[m].pair_min == pytest.approx(min(a.metrics[m].mean, b.metrics[m].mean))
    # between two sizes the value lies between the sizes' values
    lo, hi = look.expect(0.8, 50, hardware="toy:a"), look.expect(0.8, 150, hardware="toy:a")
    v = a.metrics["mra_pareto"].mean
    assert min(lo.metrics["mra_pareto"].mean, hi.metrics["mra_pareto"].mean) - 1e-12 <= v
    assert v <= max(lo.metrics["mra_pareto"].mean, hi.metrics["mra_pareto"].mean) + 1e-12


def test_lookup_says_when_outside_the_grid(grid):
    _, rep = grid
    e = expected_cost(0.01, 10, summary=rep.tables["cells"])
    assert any("candidates 10 outside" in n for n in e.notes)
    assert any("tau 0.01 outside" in n for n in e.notes)


@pytest.mark.parametrize(
    "kw, err, msg",
    [
        ({"tau": 1.5, "candidates": 100}, ConfigError, r"--tau must lie in \[0, 1\]"),
        ({"tau": -0.1, "candidates": 100}, ConfigError, r"--tau must lie in \[0, 1\]"),
        ({"tau": 0.8, "candidates": 0}, ConfigError, "--candidates must be a positive"),
        ({"tau": 0.8, "candidates": -5}, ConfigError, "--candidates must be a positive"),
        (
            {"tau": 0.8, "candidates": 100, "hardware": "help:nope"},
            DataError,
            "no hardware dataset 'help:nope'",
        ),
        ({"tau": 0.8, "candidates": 100, "accuracy": "nats:x"}, DataError, "no accuracy dataset 'nats:x'"),
    ],
)
def test_bad_requests_are_one_clear_error(grid, kw, err, msg):
    _, rep = grid
    with pytest.raises(err, match=msg):
        expected_cost(summary=rep.tables["cells"], **kw)


def test_missing_summary_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no simulation summary at"):
        expected_cost(0.8, 100, summary=tmp_path / "none.parquet")
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(bad)
    with pytest.raises(DataError, match="lacks the summary column"):
        expected_cost(0.8, 100, summary=bad)


def test_cli_expect_prints_the_pairs_and_exits_2_on_bad_input(grid):
    _, rep = grid
    run = [sys.executable, "-m", "hwpred.cli", "simulate", "expect", "--summary", str(rep.tables["cells"])]
    ok = subprocess.run(run + ["--tau", "0.8", "--candidates", "100"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "over 2 pairs" in ok.stdout and "MRA_pareto (pp)" in ok.stdout
    bad = subprocess.run(run + ["--tau", "2", "--candidates", "100"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--tau must lie in [0, 1]" in bad.stderr


@pytest.mark.skipif(not published_summary().is_file(), reason="no published summary in this checkout")
def test_published_summary_answers_the_readme_question():
    e = expected_cost(0.8, 1000, hardware="help:raspi4", accuracy="nats:cifar10")
    assert e.pairs == ["nats:cifar10 x help:raspi4"]
    assert 0 < e.metrics["mra_pareto"].mean < e.metrics["mra_all"].mean < 5
    assert 0.5 < e.metrics["hv_fraction"].mean < 1


def test_pooled_sd_equals_the_sd_of_all_trials():
    rng = np.random.default_rng(0)
    groups = [rng.normal(m, 1, k) for m, k in ((0, 5), (2, 9), (1, 4))]
    sd = pooled_sd([g.std(ddof=1) for g in groups], [g.mean() for g in groups], [len(g) for g in groups])
    assert sd == pytest.approx(np.concatenate(groups).std(ddof=1))


def test_seed_code_noise_variant_shift_follows_the_std():
    fixed, seed = NoiseModel(), NoiseModel(variant="seed-code")
    for std in (0.1, 0.5, 1.0):
        a = fixed.sample(3000, std, np.random.default_rng(5))
        b = seed.sample(3000, std, np.random.default_rng(5))
        assert a.std() == pytest.approx(std) and b.std() == pytest.approx(std)
        # at std 1 the seed code's shift range (2 x std) equals the fixed one (2 v, v = 1)
        assert np.array_equal(a, b) == (std == 1.0)
    with pytest.raises(ConfigError, match="noise variant 'seed' is unknown"):
        NoiseModel(variant="seed")


def test_named_options_enter_the_hash_only_when_not_default(tmp_path):
    base = _cfg(tmp_path)
    assert "hv_reference" not in base.result_fields() and "variant" not in base.result_fields()["noise_model"]
    other = _cfg(tmp_path, hv_reference="subset-max", noise_model={"variant": "seed-code"})
    assert other.config_hash != base.config_hash
    with pytest.raises(ConfigError, match="hv_reference 'max' is unknown"):
        _cfg(tmp_path, hv_reference="max")


def test_subset_max_reference_is_1_1_x_the_subsets_largest_metric(tmp_path):
    pair = _pair(0, "toy:a")
    cfg = _cfg(
        tmp_path,
        name="ref",
        pairs=[{"accuracy": "toy:acc", "hardware": "toy:a"}],
        hv_reference="subset-max",
        subset_sizes=["all"],
        noise_stds=[0.0],
        trials=1,
    )
    rows = run_simulation(cfg, pairs=[pair], progress=False).read()
    from hwpred.simulation import TrueFront

    ref_z = (1.1 * pair.hw_raw.max() - pair.hw_mean) / pair.hw_std
    assert rows["hv_true"].iloc[0] == pytest.approx(
        float(TrueFront(pair.acc, pair.hw, ref_hw=ref_z).hv_true[0])
    )
    front_rows = run_simulation(
        _cfg(
            tmp_path,
            name="ref2",
            pairs=[{"accuracy": "toy:acc", "hardware": "toy:a"}],
            subset_sizes=["all"],
            noise_stds=[0.0],
            trials=1,
        ),
        pairs=[pair],
        progress=False,
    ).read()
    assert front_rows["hv_true"].iloc[0] < rows["hv_true"].iloc[0]


def test_cell_summary_counts_only_finite_values():
    keys = {
        "pair": "p",
        "accuracy": "a",
        "hardware": "h",
        "selection_accuracy": None,
        "subset_size": 2,
        "subset_all": False,
        "noise_std": 0.5,
        "acc_noise_std": 0.0,
    }
    df = pd.DataFrame({**{k: [v] * 3 for k, v in keys.items()}, **{m: [1.0, np.nan, 3.0] for m in METRICS}})
    c = cell_summary(df)
    assert c["mra_all_count"].iloc[0] == 2 and c["trials"].iloc[0] == 3 and c["mra_all_mean"].iloc[0] == 2.0


def test_study_report_states_each_predictors_selection_cost(grid):
    from hwpred.study.report import format_costs, predictor_costs

    _, rep = grid
    look = Lookup(rep.tables["cells"])
    summary = pd.DataFrame(
        {
            "dataset": ["toy:a", "help:elsewhere"],
            "predictor": ["xgb", "ridge"],
            "train_size": [100, 50],
            "kendall_tau_mean": [0.8, 0.3],
        }
    )
    cost = predictor_costs(summary, candidates=(50, 150), lookup=look)
    assert len(cost) == 4
    mine = cost[(cost["dataset"] == "toy:a") & (cost["candidates"] == 150)].iloc[0]
    assert mine["mra_pareto_expected"] == pytest.approx(
        look.expect(0.8, 150, hardware="toy:a").metrics["mra_pareto"].mean
    )
    assert mine["lookup_pairs"] == "1 pair of toy:a"
    other = cost[cost["dataset"] == "help:elsewhere"]
    assert (other["lookup_pairs"] == "all 2 pairs").all() and other["outside_grid"].all()
    assert "toy:a xgb n=100 tau 0.800 -> 50: MRA_pareto" in format_costs(cost)


def test_real_predictor_markers_come_from_the_pairs_own_table_and_one_training_size(grid):
    from hwpred.simulation.mapping import pair_markers, place_predictors

    store, _ = grid
    study = pd.DataFrame(
        {
            "dataset": ["toy:a", "toy:a", "toy:a", "toy:b", "help:other"],
            "predictor": ["xgb", "xgb", "ridge", "xgb", "xgb"],
            "train_size": [100, 20, 100, 100, 100],
            "seed": [0, 0, 0, 0, 0],
            "kendall_tau": [0.9, 0.6, 0.7, 0.8, 0.5],
            "dev_std": [0.2, 0.8, 0.5, 0.3, 0.9],
        }
    )
    placed = place_predictors(store.read(), study)
    mine = pair_markers(placed, "toy:acc x toy:a", 100, 150)
    assert sorted(mine["predictor"]) == ["ridge", "xgb"]
    assert (mine["dataset"] == "toy:a").all() and (mine["train_size"] == 100).all()
    assert mine.loc[mine["predictor"] == "xgb", "kendall_tau"].iloc[0] == 0.9  # not averaged with n=20
    assert pair_markers(placed, "toy:acc x toy:b", 20, 150).empty


def test_summary_one_part_at_a_time_equals_the_summary_of_all_rows(grid, tmp_path):
    from hwpred.simulation.summary import summarise_store

    store, rep = grid
    whole, _ = read_summary(rep.tables["cells"])
    parts, rows = summarise_store(store)
    assert rows == len(store.read()) and len(parts) == len(whole)
    for c in ("mra_pareto_mean", "kendall_tau_sd", "hv_fraction_mean", "n_selected_count", "trials"):
        assert np.allclose(
            parts[c].to_numpy(float),
            whole[c].to_numpy(float),
            rtol=1e-6,
            atol=1e-9,
            equal_nan=True,  # stored as float32
        )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hwpred.cli",
            "simulate",
            "report",
            str(store.root),
            "--summary-only",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    cells, meta = read_summary(tmp_path / "cells.parquet")
    assert len(cells) == len(whole) and meta["pairs_unfinished"] == [] and (tmp_path / "grid.md").is_file()


def test_perfectly_measured_candidates_use_the_whole_spaces_reference(grid, tmp_path):
    from hwpred.simulation.equivalence import equivalent_candidates, exact_subsets

    store, rep = grid
    cells, _ = read_summary(rep.tables["cells"])
    pair = _pair(0, "toy:a")
    exact = exact_subsets(pair, _cfg(tmp_path), trials=12)
    rows = store.read()
    whole0 = rows[(rows["pair"] == pair.key) & rows["subset_all"] & (rows["noise_std"] == 0.0)]
    assert exact.loc[exact["subset_size"] == N, "hv_exact"].iloc[0] == pytest.approx(whole0["hv"].mean())
    assert list(exact["subset_size"]) == [N, 50, 150]
    eq = equivalent_candidates(cells, exact)
    assert eq.loc[eq["noise_std"] == 0.0, "candidates_median"].iloc[0] == pytest.approx(N)
    noisy = eq[eq["noise_std"] == 1.0]["candidates_median"].iloc[0]
    assert 1 <= noisy < N  # a noisy predictor on all is worth fewer measured candidates
