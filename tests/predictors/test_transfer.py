"""Transfer families on synthetic device tables (no mirror) and on the HELP split (mirror).

Synthetic devices: each has its own per-op costs drawn around shared ones, latency
exp(additive cost), so a new device is a noisy mix of the known ones, as real devices are.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hwpred.data import Dataset, MetricTable
from hwpred.errors import HwpredError
from hwpred.metrics import spearman
from hwpred.predictors import PredictorError, available, available_transfer, create, load_predictor_folder
from hwpred.predictors.transfer.selection import choose, sequential
from hwpred.predictors.transfer.sources import SourceError, check_leakage, exclude_hardware, hardware
from hwpred.spaces import NB201

N_ARCHS = 1500
FAST = {"transfer_net": {"pretrain_steps": 300, "adapt_steps": 60, "hidden": 32}}


@pytest.fixture(scope="module")
def tables():
    """Five source devices with their own per-op costs; the target's costs are a mix of two of
    theirs plus its own small deviation (latency = exp(additive cost))."""
    rng = np.random.default_rng(0)
    archs = np.array(NB201.enumerate())[rng.choice(15625, N_ARCHS, replace=False)]
    shared = rng.uniform(0, 1, size=(6, 5))
    costs = [shared + 0.4 * rng.standard_normal(shared.shape) for _ in range(5)]
    costs.append(0.6 * costs[0] + 0.4 * costs[1] + 0.05 * rng.standard_normal(shared.shape))
    out = [
        MetricTable("nb201", archs, {f"dev{k}/latency_ms": np.exp(0.3 * c[np.arange(6), archs].sum(1))})
        for k, c in enumerate(costs)
    ]
    return out[:5], out[5]  # sources, target


def _fit(name, sources, target, n=10, seed=0, **kw):
    a, y = target.dataset(target.column_names[0])
    pred = create(name, sources=sources, random_state=seed, **{**FAST.get(name, {}), **kw})
    return pred.fit(a[:n], y[:n]), a, y


def test_registry_keeps_transfer_apart():
    assert set(available_transfer()) == {"transfer_ridge", "transfer_gp", "transfer_net"}
    assert not set(available_transfer()) & set(available())
    assert create("transfer_ridge", sources=["help:pixel3"]).get_params()["sources"] == ["help:pixel3"]


@pytest.mark.parametrize("name", ["transfer_ridge", "transfer_gp", "transfer_net"])
def test_learns_from_ten_samples(tables, name):
    sources, target = tables
    pred, a, y = _fit(name, sources, target)
    rho = spearman(y[10:], pred.predict(a[10:]))
    assert rho > 0.85, rho
    # beats the same family's prior-free alternative: a classic family on the same ten samples
    assert rho > spearman(y[10:], create("ridge_reg").fit(a[:10], y[:10]).predict(a[10:])) + 0.1
    assert np.all(pred.predict(a[:5]) > 0)  # in the target's unit (log model, exp back)


@pytest.mark.parametrize("name", ["transfer_ridge", "transfer_gp", "transfer_net"])
def test_deterministic_and_save_load_without_sources(tables, name, tmp_path):
    sources, target = tables
    p1, a, _ = _fit(name, sources, target, seed=3)
    p2, _, _ = _fit(name, sources, target, seed=3)
    np.testing.assert_array_equal(p1.predict(a), p2.predict(a))
    folder = p1.save(tmp_path / "saved", metric="dev5/latency_ms")
    back = load_predictor_folder(folder)  # the source tables are not given: the folder has them
    np.testing.assert_allclose(back.predict(a), p1.predict(a), rtol=1e-6)
    assert back.get_params()["sources"][0].startswith("table:")
    raw = (folder / "sources.parquet").read_bytes()
    (folder / "sources.parquet").write_bytes(raw[:-20] + b"x" * 20)
    with pytest.raises(HwpredError, match="checksum"):
        load_predictor_folder(folder)


@pytest.mark.parametrize("name", ["transfer_ridge", "transfer_gp"])
def test_zero_samples_rank_by_the_sources(tables, name):
    sources, target = tables
    pred, a, y = _fit(name, sources, target, n=0)
    assert spearman(y, pred.predict(a)) > 0.8


def test_gp_predictive_sd_shrinks_at_measured_points_and_drives_sequential_choice(tables):
    sources, target = tables
    pred, a, y = _fit("transfer_gp", sources, target, n=20)
    sd = pred.predict_std(a)
    assert sd[:20].mean() < 0.5 * sd[20:].mean()
    lookup = Dataset.of(target, target.column_names[0])
    chosen, values = sequential(create("transfer_gp", sources=sources), lookup.lookup, n=8, pool=400)
    assert len({tuple(r) for r in chosen.tolist()}) == 8 and np.allclose(values, lookup.lookup(chosen))


def test_ridge_keeps_the_few_sources_a_target_mixes(tmp_path):
    """Twenty sources, the target a mix of two: with ten samples the whole mix is poorly
    estimated, the sources kept by leave-one-out (keep='auto') recover the two."""
    rng = np.random.default_rng(4)
    archs = np.array(NB201.enumerate())[rng.choice(15625, 1000, replace=False)]
    shared = rng.uniform(0, 1, size=(6, 5))
    costs = [shared + 0.8 * rng.standard_normal(shared.shape) for _ in range(20)]
    mix = 0.5 * costs[3] + 0.5 * costs[7] + 0.05 * rng.standard_normal(shared.shape)

    def table(c, k):
        return MetricTable("nb201", archs, {f"d{k}/ms": np.exp(0.3 * c[np.arange(6), archs].sum(1))})

    sources = [table(c, k) for k, c in enumerate(costs)]
    target = table(mix, "t")
    every, a, y = _fit("transfer_ridge", sources, target, n=10)
    auto, _, _ = _fit("transfer_ridge", sources, target, n=10, keep="auto")
    assert len(every.kept_) == 20 and {3, 7} <= set(auto.kept_.tolist()) and len(auto.kept_) < 20
    assert spearman(y[10:], auto.predict(a[10:])) > spearman(y[10:], every.predict(a[10:])) + 0.1
    two, _, _ = _fit("transfer_ridge", sources, target, n=15, keep=2)
    assert two.kept_.tolist() == [3, 7] and np.count_nonzero(two.coef_) == 2
    back = load_predictor_folder(auto.save(tmp_path / "auto", metric="dt/ms"))
    assert back.kept_.tolist() == auto.kept_.tolist()
    np.testing.assert_allclose(back.predict(a), auto.predict(a), rtol=1e-6)
    for bad in (0, "some", True):
        with pytest.raises(PredictorError, match="keep must be"):
            _fit("transfer_ridge", sources, target, n=10, keep=bad)


def test_cli_fit_takes_family_parameters(tmp_path, capsys):
    """`hwpred transfer fit --param keep=2` on a measured table with shipped HELP sources."""
    from hwpred.cli import main
    from hwpred.data import load_table

    src = load_table("help:raspi4")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(src.archs), 30, replace=False)
    lat = src.column(src.column_names[0])[rows] * np.exp(0.05 * rng.standard_normal(30))
    path = tmp_path / "mine.parquet"
    MetricTable("nb201", src.archs[rows], {"cpu/latency_ms": lat}).to_parquet(path)
    out = tmp_path / "pred"
    argv = [
        "transfer",
        "fit",
        "transfer_ridge",
        "--sources",
        "help:pixel3,help:fpga,help:gold_6226,help:raspi4",
    ]
    assert main([*argv, "--table", str(path), "--param", "keep=2", "--out", str(out)]) == 0
    pred = load_predictor_folder(out)
    assert pred.get_params()["keep"] == 2 and len(pred.kept_) == 2
    assert 3 in pred.kept_.tolist()  # help:raspi4, the source the table was made from


@pytest.mark.parametrize("strategy", ["random", "kcenter", "doptimal"])
def test_selection_strategies_pick_distinct_rows(strategy):
    feats = np.random.default_rng(1).standard_normal((300, 4))
    idx = choose(feats, 12, strategy, seed=2)
    assert len(set(idx.tolist())) == 12 and idx.max() < 300
    np.testing.assert_array_equal(idx, choose(feats, 12, strategy, seed=2))


def test_kcenter_covers_better_than_random():
    feats = np.random.default_rng(1).standard_normal((2000, 3))

    def cover(idx):
        return np.sqrt(((feats[:, None] - feats[idx][None]) ** 2).sum(-1)).min(1).max()

    assert cover(choose(feats, 15, "kcenter")) < cover(choose(feats, 15, "random"))


# ---- bad input: one clear error each ------------------------------------------------------------
def test_bad_sources_one_clear_error_each(tables):
    sources, target = tables
    a, y = target.dataset(target.column_names[0])
    other = MetricTable("transnas_macro", [(1, 2, 4, 2, 0, 0), (1, 2, 4, 4, 0, 0)], {"x": [1.0, 2.0]})
    empty = MetricTable("nb201", np.zeros((0, 6), dtype=int), {"e": []})
    flat = MetricTable("nb201", sources[0].archs, {"c": np.ones(len(sources[0]))})
    part = sources[0].subset(np.arange(100, N_ARCHS))
    cases = [
        (sources + [other], "same search space"),
        (sources + [empty], "is empty"),
        (sources + [flat], "is constant"),
        ([sources[0], sources[0]], "duplicate source"),
        (["help:pixel3", "help:pixel3"], "duplicate source"),
        ([], "sources is empty"),
        ("help-nothing", "unknown dataset|unknown source"),
        ([3.5], "a source must be"),
    ]
    for srcs, needle in cases:
        with pytest.raises(HwpredError, match=needle):
            create("transfer_ridge", sources=srcs).fit(a[:10], y[:10])
    with pytest.raises(SourceError, match="must be in all its sources"):
        create("transfer_ridge", sources=[part, sources[1]]).fit(a[:10], y[:10])
    with pytest.raises(PredictorError, match="at least 2"):
        create("transfer_net", sources=sources).fit(a[:1], y[:1])
    with pytest.raises(SourceError, match="equals the target"):
        create("transfer_ridge", sources=sources + [target]).fit(a[:10], y[:10])


def test_hardware_groups_and_leakage(caplog):
    catalog = ["help:1080ti_1", "help:1080ti_32", "help:essential_ph_1", "help:pixel3"]
    assert hardware("help:1080ti_32", catalog) == "help:1080ti"
    assert hardware("help:essential_ph_1", catalog) == "help:essential_ph_1"  # a phone, not a batch size
    assert exclude_hardware(catalog, "help:1080ti_1") == ["help:essential_ph_1", "help:pixel3"]
    with pytest.raises(SourceError, match="among its own sources"):
        check_leakage("help:pixel3", ["help:pixel3", "help:raspi4"])
    assert any("same hardware" in w for w in check_leakage("help:1080ti_1", ["help:1080ti_32"]))


# ---- real data ----------------------------------------------------------------------------------
@pytest.mark.mirror
def test_help_split_ten_samples(mirror):
    from hwpred.predictors.transfer.protocol import run_protocol

    fams = {"transfer_ridge": lambda s, t: create("transfer_ridge", sources=s, target=t)}
    trials = run_protocol("help-split", fams, [10], [0, 1])
    assert len(trials) == 12
    assert np.mean([t.spearman for t in trials]) > 0.9  # ridge_reg on the same samples: about 0.4


@pytest.mark.mirror
def test_help_all_leaves_out_the_targets_hardware(mirror, caplog):
    from hwpred.data import load_dataset

    a, y = load_dataset("help:titanx_32").arrays()
    pred = create("transfer_ridge", sources="help-all", target="help:titanx_32").fit(a[:10], y[:10])
    assert not any(lbl.startswith("help:titanx_") for lbl in pred.sources_.labels)
    assert len(pred.sources_.labels) == 24  # 27 tables minus titanx at batch 1, 32, 256
    with caplog.at_level(logging.WARNING):
        create("transfer_ridge", sources=["help:titanx_1", "help:pixel3"], target="help:titanx_32").fit(
            a[:10], y[:10]
        )
    assert "same hardware" in caplog.text
