"""``hwpred measure`` end to end on real NB201 networks (tiny repeats), and lookup tables."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwpred.cli import main
from hwpred.data.table import MetricTable

TINY = ["--repeats", "2", "--warmup", "0", "--no-progress", "--no-energy", "--reference-every", "2"]


def test_cli_end_to_end_limit_5_registered_and_resumable(tmp_path, capsys):
    out = tmp_path / "cpu.parquet"
    rc = main(
        ["measure", "nb201", "--device", "cpu", "--limit", "5", "--out", str(out), "--name", "testcpu", *TINY]
    )
    assert rc == 0
    t = MetricTable.read_parquet(out)
    assert len(t) == 5 and t.space == "nb201"
    lat = t.column("cpu-t1-b1/latency_ms")
    assert np.all(lat > 0) and np.all(t.column("cpu-t1-b1/n_repeats") == 2)
    assert "wrote" in capsys.readouterr().out

    from hwpred.data import load_dataset

    ds = load_dataset("local:testcpu")  # what a study config names
    archs, y = ds.arrays()
    assert ds.column == "cpu-t1-b1/latency_ms" and len(y) == 5
    assert np.array_equal(y, t.lookup("cpu-t1-b1/latency_ms", [tuple(a) for a in archs]))

    # same output again without --resume: one clear error, exit code 2
    assert main(["measure", "nb201", "--limit", "5", "--out", str(out), *TINY]) == 2
    assert "--resume" in capsys.readouterr().err
    # --resume with a larger limit measures only the two missing cells
    assert main(["measure", "nb201", "--limit", "7", "--out", str(out), "--resume", *TINY]) == 0
    assert "2 jobs measured now" in capsys.readouterr().out
    assert len(MetricTable.read_parquet(out)) == 7


def test_cli_archs_file_two_pass_and_batch(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("0,0,0,0,0,0\n3,3,3,3,3,3\n1,2,3,4,1,2\n")
    out = tmp_path / "b.parquet"
    assert (
        main(
            [
                "measure",
                "nb201",
                "--archs",
                str(f),
                "--two-pass",
                "--batch-size",
                "2",
                "--input-size",
                "16",
                "--classes",
                "100",
                "--out",
                str(out),
                *TINY,
            ]
        )
        == 0
    )
    t = MetricTable.read_parquet(out)
    assert len(t) == 3 and "cpu-t1-b2/latency_pass2_ms" in t.columns
    assert t.meta["device"]["batch_size"] == 2 and t.meta["device"]["input_size"] == 16
    col = t.column("cpu-t1-b2/latency_ms")
    # all-conv3x3 costs more than the empty cell, by far, whatever the noise
    assert col[t.index_of((3,) * 6)] > col[t.index_of((0,) * 6)]

    # --rounds: three jobs per cell and pass, the table holds their median
    rounds = tmp_path / "rounds.parquet"
    assert (
        main(
            [
                "measure",
                "nb201",
                "--archs",
                str(f),
                "--rounds",
                "3",
                "--paired-reference",
                "--out",
                str(rounds),
                *TINY,
            ]
        )
        == 0
    )
    t = MetricTable.read_parquet(rounds)
    assert (
        len(t) == 3 and t.meta["measure"]["protocol"]["rounds"] == 3 and t.meta["measure"]["jobs_done"] == 9
    )
    assert np.all(t.column("cpu-t1-b1/n_repeats") == 6)
    q10 = t.column("cpu-t1-b1/rel_latency_q10")
    assert q10[t.index_of((3,) * 6)] > q10[t.index_of((0,) * 6)]

    f.write_text("0,0,0,0,0,0\n")
    ad = tmp_path / "adaptive.parquet"
    assert (
        main(
            [
                "measure",
                "nb201",
                "--archs",
                str(f),
                "--adaptive",
                "--target",
                "0.9",
                "--max-repeats",
                "9",
                "--out",
                str(ad),
                *TINY,
                "--repeats",
                "6",
            ]
        )
        == 0
    )
    t = MetricTable.read_parquet(ad)
    pol = t.meta["measure"]["protocol"]["policy"]
    assert pol["adaptive"] is True and pol["target_rel_ci"] == 0.9 and pol["max_repeats"] == 9
    assert 6 <= t.column("cpu-t1-b1/n_repeats")[0] <= 9


def test_cli_transnas_macro_with_input_size(tmp_path):
    out = tmp_path / "macro.parquet"
    assert (
        main(
            [
                "measure",
                "transnas_macro",
                "--limit",
                "2",
                "--input-size",
                "64",
                "--classes",
                "17",
                "--out",
                str(out),
                *TINY,
            ]
        )
        == 0
    )
    t = MetricTable.read_parquet(out)
    assert t.space == "transnas_macro" and len(t) == 2
    assert t.meta["device"]["input_size"] == 64 and t.meta["measure"]["protocol"]["num_classes"] == 17
    assert t.meta["reference"]["arch"] == "64-41414-basic"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["measure", "nb999"], "unknown search space"),
        (["measure", "nb201", "--device", "tpu"], "unknown device"),
        (["measure", "model"], "module:function"),
        (["measure", "model", "no_such_mod_x:f"], "cannot import"),
        (["measure", "model", "os:getcwd"], "not a torch.nn.Module"),
        (["measure", "lut", "nb201", "--mode", "sideways"], "unknown lookup-table mode"),
        (["measure", "lut", "transnas_macro", "--mode", "isolated"], "nb201 only"),
        (["measure", "lut", "nb201", "--mode", "isolated", "--rounds", "3"], "--rounds is not available"),
        (["measure", "nb201", "--rounds", "0"], "rounds must be >= 1"),
        (["measure", "nb201", "--resume", "--overwrite"], "contradict"),
    ],
)
def test_cli_bad_input_one_clear_error(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwpred: error:") and needle in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA; the no-CUDA error cannot occur")
def test_cli_cuda_on_a_machine_without_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["measure", "nb201", "--device", "cuda", "--limit", "2"]) == 2
    assert "CUDA" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


def test_cli_output_holding_another_table(tmp_path, capsys):
    other = tmp_path / "other.parquet"
    MetricTable(
        "nb201", np.array([[1, 1, 1, 1, 1, 1]]), {"acc": np.array([90.0])}, {"source": "nats"}
    ).to_parquet(other)
    assert main(["measure", "nb201", "--limit", "2", "--out", str(other), "--resume", *TINY]) == 2
    assert "holds another table" in capsys.readouterr().err


def test_cli_user_model(tmp_path, capsys):
    f = tmp_path / "net.py"
    f.write_text(
        "import torch\ndef build():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())\n"
    )
    out = tmp_path / "m.json"
    assert main(["measure", "model", f"{f}:build", "--input-shape", "3,16,16", "--out", str(out), *TINY]) == 0
    res = json.loads(out.read_text())
    assert (
        res["model"].endswith(":build") and res["passes"][0]["n"] == 2 and res["passes"][0]["median_ms"] > 0
    )
    assert res["device"]["input_size"] == [3, 16, 16]


def test_lut_tables_fit_the_lut_predictor(tmp_path):
    from hwpred.predictors import create
    from hwpred.predictors.lut import LookupTablePredictor

    need = LookupTablePredictor.required_archs("nb201")
    for mode in ("neighbours", "isolated"):
        out = tmp_path / f"lut-{mode}.parquet"
        assert main(["measure", "lut", "nb201", "--mode", mode, "--out", str(out), *TINY]) == 0
        t = MetricTable.read_parquet(out)
        assert sorted(t.arch_tuples) == sorted(need)
        assert t.meta["lut"]["mode"] == mode
        archs, y = t.dataset("cpu-t1-b1/latency_ms")
        model = create("lut", space="nb201").fit(archs, y)
        assert np.allclose(model.predict(archs), y)  # the table reproduces what it was built from
    import pandas as pd  # isolated mode also writes the per-op timings next to the table

    o = pd.read_parquet(tmp_path / "lut-isolated.ops.parquet")
    assert len(o) == 15 and set(o.op_name) >= {"nor_conv_3x3", "none"} and (o.latency_ms > 0).all()
    conv = o[o.op_name == "nor_conv_3x3"].set_index("stage").latency_ms
    skip = o[o.op_name == "skip_connect"].set_index("stage").latency_ms
    assert (conv > skip).all()  # a 3x3 convolution costs more than an identity at every stage


def test_library_messages_name_parameters_and_the_cli_shows_flags():
    from hwpred.measure.cli import flag_wording

    assert (
        flag_wording("pass `resume=True` to continue, `overwrite=True` to start over, or another `out`")
        == "pass --resume to continue, --overwrite to start over, or another --out"
    )
    assert (
        flag_wording("needs `device='cpu'` `threads=1`; use `mode='neighbours'`; `num_classes`")
        == "needs --device cpu --threads 1; use --mode neighbours; --classes"
    )
    assert flag_wording("`paired_reference=True` is a CPU option") == "--paired-reference is a CPU option"
    assert flag_wording("no parameter here") == "no parameter here"
