"""The zero-shot runner and CLI: MetricTable output, cache/resume, missing values, bad input;
the selection extension on small tables; the published-value comparison on real data."""

import math
import warnings

import numpy as np
import pytest
import torch

from hwpred.cli import main
from hwpred.data import MetricTable
from hwpred.errors import ConfigError
from hwpred.spaces import NB201
from hwpred.zeroshot import MissingScoreWarning, ZeroShotError, get_score, load_batch, score_archs
from hwpred.zeroshot.scoring import model_seed

torch.set_num_threads(1)
A1, A2, A3, A4 = (3, 1, 2, 4, 3, 1), (2, 2, 1, 3, 0, 4), (1, 3, 3, 2, 2, 0), (4, 4, 1, 4, 3, 1)
DEAD = (0, 0, 0, 0, 0, 0)  # no path from input to output: ReLU codes all equal


def test_cli_score_command_on_limit_5(tmp_path, capsys):
    out = tmp_path / "zs.parquet"
    rc = main(
        [
            "zeroshot",
            "score",
            "--space",
            "nb201",
            "--scores",
            "naswot,synflow",
            "--data",
            "digits",
            "--limit",
            "5",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    t = MetricTable.read_parquet(out)
    assert t.column_names == ["naswot/digits", "synflow/digits"]
    missing = {a for v in t.meta["missing"].values() for a in v}
    assert len(t) >= 1 and len(t) + len(missing) == 5
    assert t.meta["data"] == "digits" and t.meta["batch_size"] == 128
    # the value is the score of the network built with the documented seed
    arch = t.arch_tuples[0]
    torch.manual_seed(model_seed("nb201", NB201.to_string(arch), 0))
    model = NB201.build_model(arch, num_classes=10)
    assert t.lookup("synflow/digits", [arch])[0] == pytest.approx(
        get_score("synflow")(model, load_batch()), rel=1e-9
    )
    assert "wrote" in capsys.readouterr().out


def test_cli_bad_names_exit_2_with_one_line(tmp_path, capsys):
    assert main(["zeroshot", "score", "--scores", "naswot,nope", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "unknown zero-shot score 'nope'" in capsys.readouterr().err
    assert (
        main(
            ["zeroshot", "score", "--data", "imagenet", "--out", str(tmp_path / "x.parquet"), "--limit", "1"]
        )
        == 2
    )
    assert "unknown zero-shot data 'imagenet'" in capsys.readouterr().err
    assert (
        main(
            [
                "zeroshot",
                "score",
                "--scores",
                "params",
                "--ensemble",
                "params,synflow",
                "--out",
                str(tmp_path / "x.parquet"),
            ]
        )
        == 2
    )
    assert "not in --scores" in capsys.readouterr().err


def test_cache_resume_and_order_independence(tmp_path):
    kw = dict(scores=["params", "synflow"], cache_dir=tmp_path / "cache", progress=False)
    first = score_archs("nb201", [A1, A2, A3], **kw)
    second = score_archs("nb201", [A3, A4, A1], **kw)
    s1 = dict(zip(first.arch_strings(), first.values["synflow/digits"]))
    s2 = dict(zip(second.arch_strings(), second.values["synflow/digits"]))
    for a in (A1, A3):
        assert s1[NB201.to_string(a)] == s2[NB201.to_string(a)]
    # cached archs come back with their recorded timings, not recomputed ones
    t1 = dict(zip(first.arch_strings(), first.seconds["synflow"]))
    t2 = dict(zip(second.arch_strings(), second.seconds["synflow"]))
    assert t1[NB201.to_string(A1)] == t2[NB201.to_string(A1)]
    fresh = score_archs("nb201", [A4], scores=["synflow"], cache_dir=False, progress=False)
    assert fresh.values["synflow/digits"][0] == pytest.approx(s2[NB201.to_string(A4)], rel=1e-12)
    only = score_archs("nb201", [A1, A2, A3, A4, (1, 1, 1, 1, 1, 1)], cached_only=True, **kw)
    assert len(only.archs) == 4
    name = only.add_ensemble(["params", "synflow"])
    tab = only.table()
    assert name in tab.columns and tab.column(name).min() >= 1 and tab.column(name).max() <= 4


def test_cache_is_a_part_store_and_an_interrupted_run_keeps_its_checkpoints(tmp_path, monkeypatch):
    from hwpred.zeroshot import scoring

    kw = dict(scores=["params", "synflow"], cache_dir=tmp_path, progress=False, checkpoint_every=2)
    real, calls = scoring._score_one, []

    def interrupted_after_three(*args):
        if len(calls) == 3:
            raise RuntimeError("killed")
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(scoring, "_score_one", interrupted_after_three)
    with pytest.raises(RuntimeError, match="killed"):
        score_archs("nb201", [A1, A2, A3, A4], **kw)
    folder = scoring.cache_folder(tmp_path, "nb201", load_batch(), 32)
    assert (folder / "cache.json").is_file()
    assert sorted(len(list((folder / n).glob("*.parquet"))) for n in ("params", "synflow")) == [2, 2]
    assert len(score_archs("nb201", [A1, A2, A3, A4], cached_only=True, **kw).archs) == 3
    calls.clear()
    resumed = score_archs("nb201", [A1, A2, A3, A4], **kw)
    assert [c[2] for c in calls] == [NB201.to_string(A4)]  # only the unfinished architecture is scored
    monkeypatch.undo()
    fresh = score_archs("nb201", [A1, A2, A3, A4], **{**kw, "cache_dir": False})
    for col in fresh.values:
        np.testing.assert_array_equal(resumed.values[col], fresh.values[col])


def test_unreadable_cache_files_are_reported_and_their_archs_scored_again(tmp_path, caplog):
    from hwpred.zeroshot.scoring import cache_folder

    kw = dict(scores=["params"], cache_dir=tmp_path, progress=False)
    first = score_archs("nb201", [A1, A2], **kw)
    folder = cache_folder(tmp_path, "nb201", load_batch(), 32)
    (part,) = (folder / "params").glob("*.parquet")
    part.write_bytes(b"not parquet")
    with caplog.at_level("WARNING"):
        again = score_archs("nb201", [A1, A2], **kw)
    assert "damaged:" in caplog.text and part.name in caplog.text and "unreadable" in caplog.text
    assert len(list((folder / "damaged").glob("*.why"))) == 1  # moved aside, its archs scored again
    np.testing.assert_array_equal(again.values["params/digits"], first.values["params/digits"])
    # a cache kept as one file per score is read as well
    import pandas as pd

    pd.DataFrame({"arch": first.arch_strings(), "value": [7.0, 8.0], "seconds": [0.5, 0.25]}).to_parquet(
        folder / "synflow.parquet"
    )
    old = score_archs(
        "nb201", [A1, A2], scores=["synflow"], cache_dir=tmp_path, progress=False, cached_only=True
    )
    assert list(old.values["synflow/digits"]) == [7.0, 8.0] and list(old.seconds["synflow"]) == [0.5, 0.25]


def test_nan_and_inf_scores_are_missing_with_a_warning_and_never_ranked(tmp_path):
    with pytest.warns(MissingScoreWarning, match="naswot: 1 of 2"):
        res = score_archs(
            "nb201", [DEAD, A1], scores=["naswot", "params"], batch_size=8, cache_dir=False, progress=False
        )
    assert res.values["naswot/digits"][0] == -math.inf
    tab = res.table()
    assert tab.arch_tuples == [A1]
    assert tab.meta["missing"] == {"naswot/digits": [NB201.to_string(DEAD)]}
    assert len(res.column_table("params/digits")) == 2  # params is finite for both
    name = res.add_ensemble(["naswot", "params"])
    assert math.isnan(res.values[name][0])
    tab.to_parquet(tmp_path / "t.parquet")
    assert MetricTable.read_parquet(tmp_path / "t.parquet").meta["missing"]["naswot/digits"]


def test_runner_refuses_too_small_batch_before_building_networks():
    with pytest.raises(ZeroShotError, match="at least 2 samples"):
        score_archs("nb201", [A1], scores=["jacob_cov"], batch_size=1, cache_dir=False, progress=False)
    with pytest.raises(ConfigError, match="unknown zero-shot score"):
        score_archs("nb201", [A1], scores=["synflw"], cache_dir=False, progress=False)


def test_limit_is_a_seeded_nested_sample():
    r5 = score_archs("nb201", None, scores=["params"], limit=5, cache_dir=False, progress=False)
    r8 = score_archs("nb201", None, scores=["params"], limit=8, cache_dir=False, progress=False)
    assert set(r5.arch_strings()) <= set(r8.arch_strings())


def test_transnas_macro_backbones_are_scored_at_64_px():
    from hwpred.spaces import TRANSNAS_MACRO

    arch = TRANSNAS_MACRO.from_string("64-342111-basic")
    res = score_archs(
        "transnas_macro", [arch], scores=["naswot", "params"], batch_size=4, cache_dir=False, progress=False
    )
    assert res.meta["image_size"] == 64 and np.isfinite(res.values["naswot/digits"]).all()
    n_params = sum(p.numel() for p in TRANSNAS_MACRO.build_model(arch, num_classes=10).parameters())
    assert res.values["params/digits"][0] == pytest.approx(n_params / 1e6)


# -- selection with a zero-shot accuracy --------------------------------------------------------
def test_selection_study_on_small_tables(tmp_path):
    from hwpred.zeroshot.selection_study import TRUE, SelectionStudy, format_report, run_selection_study

    rng = np.random.default_rng(0)
    archs = np.array(NB201.random(120, rng=1))
    acc = rng.uniform(50, 90, 120)
    lat = rng.uniform(1, 10, 120) + 0.05 * acc
    MetricTable("nb201", archs, {"c/test_acc": acc}, units={"c/test_acc": "%"}).to_parquet(
        tmp_path / "acc.parquet"
    )
    MetricTable("nb201", archs, {"d/latency_ms": lat}).to_parquet(tmp_path / "hw.parquet")
    # a monotone transform of the true accuracy, and a score unrelated to it
    MetricTable(
        "nb201", archs, {"mono/digits": np.exp(acc / 10), "rand/digits": rng.normal(size=120)}
    ).to_parquet(tmp_path / "zs.parquet")
    study = SelectionStudy(
        tmp_path / "zs.parquet",
        ("mono/digits", "rand/digits"),
        accuracy=f"file:{tmp_path}/acc.parquet#c/test_acc",
        hardware=(f"file:{tmp_path}/hw.parquet#d/latency_ms",),
        subset_sizes=(40, "all"),
        noise_stds=(0.0, 0.5),
        trials=8,
        output=tmp_path / "out",
    )
    rep = run_selection_study(study, progress=False)
    s = rep.summary
    at0 = s[s["noise_std"] == 0.0].set_index(["source", "subset_size"])["mra_pareto"]
    # only the ranking of the selection-side accuracy matters: a monotone transform loses nothing
    assert at0[(TRUE, 40)] == 0.0 and at0[("mono/digits", 40)] == 0.0 and at0[("mono/digits", 120)] == 0.0
    assert at0[("rand/digits", 120)] > 0.0
    noisy = s[(s["noise_std"] == 0.5) & (s["source"] == TRUE)]
    assert (noisy["kendall_tau"] < 1).all()
    assert {p.suffix for p in rep.files} >= {".csv", ".png", ".svg"}
    assert "mono/digits" in format_report(rep)
    assert set(rep.losses["larger_loss"]) <= {"zero-shot score", "hardware predictor"}
    rand = rep.losses[(rep.losses["source"] == "rand/digits") & (rep.losses["subset_size"] == 120)]
    assert (rand["score_alone_mra_all"] > 0).all() and len(rand) == 1  # one row per noise level > 0
    with pytest.raises(ConfigError, match="not in"):
        run_selection_study(
            SelectionStudy(
                tmp_path / "zs.parquet",
                ("nope/digits",),
                accuracy=study.accuracy,
                hardware=study.hardware,
                output=tmp_path / "o2",
            ),
            progress=False,
        )


def test_cli_select_reports_a_missing_score_column(tmp_path, capsys):
    archs = np.array(NB201.random(10, rng=2))
    MetricTable("nb201", archs, {"naswot/digits": np.arange(10.0)}).to_parquet(tmp_path / "zs.parquet")
    rc = main(
        [
            "zeroshot",
            "select",
            "--scores-table",
            str(tmp_path / "zs.parquet"),
            "--sources",
            "synflow/digits",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    assert rc == 2 and "score column 'synflow/digits' is not in" in capsys.readouterr().err
    assert (
        main(
            [
                "zeroshot",
                "select",
                "--scores-table",
                str(tmp_path / "zs.parquet"),
                "--sources",
                "naswot/digits",
                "--sizes",
                "5,many",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def test_selection_study_lists_parse_through_the_shared_validators():
    from hwpred.zeroshot.selection_study import parse_floats, parse_sizes

    assert parse_sizes("50, 100,all") == (50, 100, "all") and parse_sizes([25, "all"]) == (25, "all")
    assert parse_floats("0,0.1,1", "noise_stds") == (0.0, 0.1, 1.0)
    with pytest.raises(
        ConfigError, match="^<arguments>: subset_sizes entry must be an integer >= 1, got 'many'"
    ):
        parse_sizes("5,many")
    with pytest.raises(ConfigError, match="more than once"):
        parse_sizes("5,5")
    with pytest.raises(ConfigError, match="^select: --noise holds -1; it cannot be below 0"):
        parse_floats("0,-1", "--noise", "select")


# -- real data --------------------------------------------------------------------------------
def _published(mirror, ds):
    from hwpred.data import load_table

    return load_table(f"zc:nb201-{ds}")


def test_data_free_scores_match_published_values_on_a_subset(mirror):
    from hwpred.metrics import spearman

    zc = _published(mirror, "cifar10")
    idx = np.random.default_rng(0).choice(len(zc), 16, replace=False)
    archs = zc.archs[idx]
    res = score_archs("nb201", archs, scores=["params", "flops", "synflow"], cache_dir=False, progress=False)
    pub = {c: zc.column(f"cifar10/{c}")[idx] for c in ("params", "flops", "synflow")}
    np.testing.assert_allclose(res.values["params/digits"], pub["params"], atol=1e-6)  # same networks
    assert spearman(res.values["flops/digits"], pub["flops"]) >= 0.97
    # published synflow is ln(score); ours is the raw score: rank-equal up to the random init
    assert spearman(res.values["synflow/digits"], pub["synflow"]) >= 0.95


@pytest.mark.slow
@pytest.mark.mirror
def test_data_free_scores_match_published_values_on_all_cells(mirror):
    from hwpred.metrics import spearman
    from hwpred.zeroshot import Batch

    for ds, (classes, px) in {
        "cifar10": (10, 32),
        "cifar100": (100, 32),
        "ImageNet16-120": (120, 16),
    }.items():
        zc = _published(mirror, ds)
        batch = Batch(torch.zeros(1, 3, px, px), torch.zeros(1, dtype=torch.long), classes, f"shape-{ds}", 0)
        res = score_archs(
            "nb201", zc.archs, scores=["params", "flops", "synflow"], batch=batch, progress=False
        )
        for c in ("params", "flops", "synflow"):
            ours = res.values[f"{c}/shape-{ds}"]
            ok = np.isfinite(ours)
            assert spearman(ours[ok], zc.column(f"{ds}/{c}")[ok]) >= 0.99, (ds, c)


@pytest.mark.slow
@pytest.mark.mirror
def test_naswot_correlates_with_nats_accuracy_like_published(mirror):
    from hwpred.data import load_table
    from hwpred.metrics import spearman

    zc = _published(mirror, "cifar10")
    archs = zc.archs[np.random.default_rng(0).choice(len(zc), 100, replace=False)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingScoreWarning)
        res = score_archs("nb201", archs, scores=["naswot"], progress=False)
    v = res.values["naswot/digits"]
    ok = np.isfinite(v)
    acc = load_table("nats:cifar10").lookup("cifar10/test_acc", archs[ok])
    assert spearman(v[ok], acc) >= 0.6


def test_two_worker_processes_give_the_values_of_one(tmp_path):
    archs = [A1, A2, A3, A4]
    kw = dict(scores=["synflow", "params"], cache_dir=False, progress=False)
    one = score_archs("nb201", archs, **kw)
    two = score_archs("nb201", archs, workers=2, **kw)
    for col in one.values:
        np.testing.assert_array_equal(one.values[col], two.values[col])
    assert np.isfinite(two.seconds["synflow"]).all()
    with pytest.raises(ConfigError, match="workers"):
        score_archs("nb201", archs, workers=0, **kw)
