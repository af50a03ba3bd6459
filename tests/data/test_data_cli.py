"""`hwpred data list | fetch | show`: output on the mirror, one-line errors and exit code 2 otherwise."""

from __future__ import annotations

import pytest

from hwpred.cli import main
from hwpred.data import load_dataset
from hwpred.errors import DataError

try:
    from tests.data.test_registry import ARCHS, add_manifest, cache_leftovers, env, nats_csv  # noqa: F401 - fixture
except ImportError:  # pytest run from another folder: tests/data itself is on sys.path
    from test_registry import ARCHS, add_manifest, cache_leftovers, env, nats_csv  # noqa: F401


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


def test_list_shows_every_name_with_availability(mirror, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "help:raspi4",
        "help:gold_6226",
        "nats:ImageNet16-120",
        "hwnb360:pi5-onnx-cifar100",
        "hwnb360:cifar100-accuracy",
        "zc:nb201-cifar10",
        "zc:transnas-class_scene",
        "hw-nas-bench:cifar10-edgegpu_latency",
        "transnas:class_scene-inference_time",
    ):
        assert name in out
    line = next(ln for ln in out.splitlines() if ln.startswith("help:raspi4 "))
    assert line.split()[1] == "shipped"  # inside the package: loads with or without the mirror
    line = next(ln for ln in out.splitlines() if ln.startswith("hw-nas-bench:cifar10-edgegpu_latency "))
    assert line.split()[1] == "manual"  # no checksum known: never loaded
    assert main(["data", "list", "help:", "--available"]) == 0
    out = capsys.readouterr().out
    assert "27 of 27 available" in out and "nats:" not in out


def test_list_piped_keeps_whole_names_and_json_has_every_record(mirror, capsys, monkeypatch):
    import json

    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal width must not cut names when piped
    assert main(["data", "list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in records}
    assert by_name["help:raspi4"]["available"] and by_name["help:raspi4"]["manifest_source"] == "shipped"
    assert by_name["transnas:class_scene-inference_time"]["status"] == "manual"
    assert main(["data", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(records) + 1  # one line per dataset, then the count
    assert [ln.split()[0] for ln in lines[:-1]] == [r["name"] for r in records]


def test_show_prints_size_columns_and_statistics(mirror, capsys):
    assert main(["data", "show", "help:raspi4", "--head", "2"]) == 0
    out = capsys.readouterr().out
    assert "15,625 architectures" in out and "raspi4/latency_ms" in out and "median" in out
    assert "|avg_pool_3x3~0|" in out  # first row (--head)
    assert main(["data", "show", "zc:nb201-cifar100"]) == 0
    out = capsys.readouterr().out
    assert "cifar100/synflow" in out and "cifar100/val_acc" in out


def test_fetch_ok(env, capsys):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)})
    assert main(["data", "fetch", "nats:cifar10"]) == 0
    assert "verified and cached" in capsys.readouterr().out
    assert (env.home / "cache/files/nats-tss/nats_bench.csv").is_file()
    assert main(["data", "show", "nats:cifar10"]) == 0
    assert "4 architectures" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["unknown", "mismatch", "missing", "malformed", "nan", "duplicate"])
def test_bad_input_is_one_line_and_exit_2(env, capsys, case):
    rel = "nats-tss/nats_bench.csv"
    if case == "mismatch":
        add_manifest(env, "nats-tss", "nats-csv", {rel: nats_csv(ARCHS)}, sha={rel: "b" * 64})
    elif case == "missing":
        add_manifest(env, "nats-tss", "nats-csv", {rel: nats_csv(ARCHS)}, in_mirror=False)
    elif case == "malformed":
        add_manifest(env, "nats-tss", "nats-csv", {rel: nats_csv(ARCHS)[:-40].replace(b",", b";")})
    elif case == "nan":
        add_manifest(env, "nats-tss", "nats-csv", {rel: nats_csv(ARCHS, nan=True)})
    elif case == "duplicate":
        add_manifest(env, "nats-tss", "nats-csv", {rel: nats_csv([ARCHS[0], ARCHS[1], ARCHS[0]])})
    name = "nats:cifar1" if case == "unknown" else "nats:cifar10"
    for cmd in (["data", "fetch", name], ["data", "show", name]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip()
        # progress lines (time-stamped INFO logs) may come first; the error itself is one line
        errors = [ln for ln in err.splitlines() if "error:" in ln]
        assert (
            len(errors) == 1 and err.splitlines()[-1].startswith("hwpred: error:") and "Traceback" not in err
        )
    assert cache_leftovers(env) == []
    assert not any((env.home / "cache").rglob("*.parquet"))


def test_list_unknown_prefix_fails(env, capsys):
    assert main(["data", "list", "nosuch:"]) == 2
    assert "no dataset name starts with" in capsys.readouterr().err


def test_missing_file_names_the_python_call_in_the_library_and_the_flag_on_the_command_line(env, capsys):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)}, in_mirror=False)
    with pytest.raises(DataError, match=r"fetch\(name, upstream=True\)") as info:
        load_dataset("nats:cifar10")
    assert "--" not in str(info.value)
    assert main(["data", "show", "nats:cifar10"]) == 2
    assert "`hwpred data fetch --upstream nats:cifar10`" in capsys.readouterr().err
