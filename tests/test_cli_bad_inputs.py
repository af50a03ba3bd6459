"""Every subcommand of ``hwpred``, driven with bad inputs: one line on standard error and exit 2,
never a traceback. The table must cover every leaf subcommand the parser has, so a new command
cannot be added without its bad-input cases."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwpred.cli import build_parser, main

NOPE = "/nonexistent/hwpred-test/nothing"


def _leaves(parser: argparse.ArgumentParser, prefix: tuple = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(prefix)
        return
    for action in subs:
        for name, p in action.choices.items():
            yield from _leaves(p, prefix + (name,))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Files that are there but wrong in some way."""
    from hwpred.data import MetricTable
    from hwpred.spaces import NB201

    d = tmp_path_factory.mktemp("bad-inputs")
    (d / "garbage.yaml").write_text("name: [unclosed\n")
    (d / "list.yaml").write_text("- just\n- a list\n")
    (d / "bad-key.yaml").write_text(yaml.safe_dump({"name": "x", "datasets": ["help:raspi4"], "nmae": 1}))
    (d / "noise.parquet").write_bytes(np.random.default_rng(0).bytes(500))
    (d / "archs-bad.txt").write_text("3,1,2,4,3,1\n3,1,9\n")
    (d / "archs-dup.txt").write_text("3,1,2,4,3,1\n3,1,2,4,3,1\n")
    (d / "empty-dir").mkdir()
    (d / "a-file").write_text("not a folder")
    (d / "study.json-dir").mkdir()
    (d / "study.json-dir" / "study.json").write_text("{ not json")
    archs = np.array(NB201.enumerate()[:50])
    MetricTable("nb201", archs, {"x": archs.sum(1).astype(float)}).to_parquet(d / "table.parquet")
    sim = yaml.safe_load((Path(__file__).parents[1] / "simulation" / "small.yaml").read_text())
    (d / "sim.yaml").write_text(yaml.safe_dump(sim))
    return {p.name: str(p) for p in d.iterdir()} | {"dir": str(d)}


def _cases(f: dict[str, str]) -> dict[str, list[list[str]]]:
    out = f["dir"] + "/out"
    return {
        "data list": [["nosuch:"], ["--available", "--no-such-flag"]],
        "data fetch": [["nosuch"], ["help:nosuch"], []],
        "data show": [["nosuch"], ["help:raspi4", "--head", "-1"], ["help:raspi4", "--head", "abc"]],
        "study run": [
            [NOPE + ".yaml"],
            [f["garbage.yaml"]],
            [f["list.yaml"]],
            [f["bad-key.yaml"]],
            [f["bad-key.yaml"], "--workers", "0"],
            [f["bad-key.yaml"], "--executor", "slurm"],
        ],
        "study default": [["--workers", "0"], ["--workers", "x"], ["--executor", "slurm"]],
        "study report": [[NOPE], [f["empty-dir"]], [f["a-file"]], [f["study.json-dir"]]],
        "study check": [[NOPE], [f["empty-dir"]], [f["study.json-dir"]]],
        "measure": [
            ["nosuch"],
            ["nb201", "--limit", "0"],
            ["nb201", "--limit", "99999"],
            ["nb201", "--out", out + ".csv"],
            ["nb201", "--max-time", "5"],
            ["nb201", "--archs", NOPE],
            ["nb201", "--archs", f["archs-bad.txt"]],
            ["nb201", "--archs", f["archs-dup.txt"]],
            ["nb201", "--device", "tpu"],
            ["nb201", "--resume", "--overwrite"],
            ["model"],
            ["model", "nosuchmodule:build"],
            ["nb201", "--runtime", "tflite"],
            ["export", "nosuch", "--out", out],
            ["export", "nb201", "--format", "tflite", "--out", out],
            ["export", "nb201", "--archs", f["archs-dup.txt"], "--out", out],
            ["import", NOPE, NOPE, "--device", "x", "--out", out + ".parquet"],
            ["import", f["empty-dir"], f["garbage.yaml"], "--device", "x", "--out", out + ".parquet"],
            ["merge", f["table.parquet"], NOPE + ".parquet", "--out", out + ".parquet"],
            ["merge", f["table.parquet"], f["noise.parquet"], "--out", out + ".parquet"],
        ],
        "simulate run": [[NOPE + ".yaml"], [f["garbage.yaml"]], [f["sim.yaml"], "--workers", "0"]],
        "simulate report": [[NOPE], [f["empty-dir"]]],
        "simulate map": [[NOPE, NOPE], [f["empty-dir"], f["noise.parquet"]]],
        "simulate check": [[NOPE], [f["a-file"]]],
        "simulate expect": [
            ["--tau", "1.5", "--candidates", "1000"],
            ["--tau", "0.8", "--candidates", "0"],
            ["--tau", "0.8", "--candidates", "100", "--hardware", "help:nosuch"],
            ["--tau", "0.8", "--candidates", "100", "--summary", NOPE + ".parquet"],
            ["--tau", "abc", "--candidates", "100"],
        ],
        "zeroshot score": [
            ["--space", "nosuch", "--out", out + ".parquet"],
            ["--archs", f["archs-bad.txt"], "--out", out + ".parquet"],
            ["--archs", f["archs-dup.txt"], "--out", out + ".parquet"],
            ["--scores", "nosuch", "--out", out + ".parquet"],
            ["--scores", ",", "--out", out + ".parquet"],
            ["--out", out + ".csv"],
            ["--batch-size", "1", "--scores", "naswot", "--out", out + ".parquet"],
            ["--limit", "0", "--out", out + ".parquet"],
        ],
        "zeroshot select": [
            ["--scores-table", NOPE + ".parquet"],
            ["--scores-table", f["noise.parquet"]],
            ["--scores-table", f["table.parquet"], "--sizes", "abc"],
        ],
        "zeroshot list": [["extra"]],
        "zeroshot check": [["--cache", NOPE]],
        "nas train-predictor": [
            ["--dataset", "nosuch", "--out", out],
            ["--dataset", "file:" + f["table.parquet"] + "#x", "--family", "nosuch", "--out", out],
            ["--dataset", "file:" + f["table.parquet"] + "#x", "--train-size", "0", "--out", out],
        ],
        "nas search": [
            ["--space", "nosuch", "--accuracy", "nats:cifar10", "--predictor", NOPE, "--out", out],
            ["--accuracy", "nats:cifar10", "--predictor", NOPE, "--out", out],
            ["--accuracy", NOPE, "--predictor", f["empty-dir"], "--out", out],
            ["--accuracy", "nats:cifar10", "--predictor", NOPE, "--out", out, "--generations", "0"],
        ],
        "transfer choose": [
            ["--sources", "nosuch", "--n", "5", "--out", out + ".txt"],
            ["--sources", "help-all", "--n", "0", "--out", out + ".txt"],
            ["--strategy", "psychic", "--n", "5", "--out", out + ".txt"],
        ],
        "transfer fit": [
            ["nosuch", "--table", f["table.parquet"], "--out", out],
            ["transfer_ridge", "--table", NOPE + ".parquet", "--out", out],
            ["transfer_ridge", "--table", f["noise.parquet"], "--out", out],
            ["transfer_ridge", "--table", f["table.parquet"], "--param", "keep", "--out", out],
            ["transfer_ridge", "--table", f["table.parquet"], "--param", "keep=0", "--out", out],
        ],
        "transfer predict": [[NOPE, "--out", out + ".parquet"], [f["empty-dir"], "--out", out + ".parquet"]],
        "nas verify": [[NOPE, "--table", "help:raspi4"], [f["empty-dir"], "--table", "help:raspi4"]],
    }


def test_every_subcommand_has_bad_input_cases(files):
    assert set(_leaves(build_parser())) == set(_cases(files))


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage line + exit 2
        code = exc.code
    return code, capsys.readouterr().err


def test_bad_inputs_end_in_one_clear_line(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HWPRED_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    failures = []
    for command, cases in _cases(files).items():
        for extra in cases:
            argv = command.split() + extra
            code, err = _run(argv, capsys)  # an uncaught exception here fails the test with its traceback
            lines = [ln for ln in err.strip().splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("hwpred: error:") or ": error:" in ln]
            if code != 2 or not errors or "Traceback" in err:
                failures.append(f"hwpred {' '.join(argv)} -> exit {code}: {err.strip()[-300:]!r}")
    assert not failures, "\n".join(failures)
