"""``hwpred measure export`` / ``import``: the round trip through an external device tool, and every
problem an import must report instead of importing silently."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwpred.cli import main
from hwpred.data.table import MetricTable
from hwpred.measure import MeasureError
from hwpred.measure.export import export_space, read_manifest
from hwpred.measure.importing import ImportProblems, import_results

pytest.importorskip("onnxruntime", reason="the 'onnx' extra (onnx, onnxruntime) is not installed")

TOOL = Path(__file__).with_name("device_tool.py")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "nb201"
    res = export_space("nb201", folder, limit=4, seed=3, progress=False)
    assert res.exported == 4 and not res.failed
    return folder


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_round_trip_through_an_external_tool(tmp_path, capsys):
    folder = tmp_path / "exp"
    archs = tmp_path / "archs.txt"
    archs.write_text(
        "3,1,2,4,3,1\n0,0,0,0,0,0\n|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|\n"
    )
    assert main(["measure", "export", "nb201", "--format", "onnx", "--archs", str(archs), "--out", str(folder),
                 "--no-progress"]) == 0  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["space"] == "nb201" and manifest["input"]["shape"] == [1, 3, 32, 32]
    assert {"hwpred", "torch", "onnx"} <= set(manifest["versions"]) and manifest["opset"] == 17
    assert len(manifest["models"]) == 3 and all(len(m["sha256"]) == 64 for m in manifest["models"])
    assert (folder / "README.txt").read_text().count("latency_ms") >= 1

    results = tmp_path / "results.csv"
    # the device tool: another process that knows only the export folder, timings in microseconds
    subprocess.run([sys.executable, str(TOOL), str(folder), str(results), "--unit", "us", "--repeats", "3"],
                   check=True, timeout=300)  # fmt: skip
    out = tmp_path / "tool.parquet"
    assert main(["measure", "import", str(folder), str(results), "--device", "edgebox", "--out", str(out),
                 "--name", "edgebox"]) == 0  # fmt: skip
    t = MetricTable.read_parquet(out)
    assert t.space == "nb201" and len(t) == 3
    with open(results) as fh:
        rows = list(csv.DictReader(fh))
    by_file = {r["file"]: float(r["latency_us"]) / 1000 for r in rows}
    want = [by_file[m["file"]] for m in manifest["models"]]
    got = t.lookup("edgebox/latency_ms", [tuple(m["ops"]) for m in manifest["models"]])
    np.testing.assert_allclose(got, want)
    assert np.all(t.column("edgebox/n_repeats") == 3)
    assert t.meta["device"]["name"] == "edgebox" and len(t.meta["import"]["results_sha256"]) == 64

    from hwpred.data import load_dataset

    archs_, y = load_dataset("local:edgebox").arrays()  # what studies and transfer predictors read
    assert len(y) == 3 and np.all(y > 0)


def rows_for(folder: Path, unit_factor: float = 1.0) -> list[list]:
    return [[m["file"], f"{(i + 1) * unit_factor}"] for i, m in enumerate(read_manifest(folder)["models"])]


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda rows: rows + [["models/nb201-999999.onnx", "1.0"]], "unknown file"),
        (lambda rows: [rows[0][:1] + ["-2"], *rows[1:]], "positive finite"),
        (lambda rows: [rows[0][:1] + ["fast"], *rows[1:]], "not a number"),
        (lambda rows: [rows[0][:1] + ["nan"], *rows[1:]], "positive finite"),
        (lambda rows: rows + [rows[0]], "duplicate of row 2"),
        (lambda rows: rows[1:], "have no row"),
        (lambda rows: [rows[0][:1] + [""], *rows[1:]], "no latency_ms value"),
    ],
)
def test_import_reports_bad_rows_and_imports_nothing(exported, tmp_path, edit, needle):
    csv_path = write_csv(tmp_path / "r.csv", ["file", "latency_ms"], edit(rows_for(exported)))
    out = tmp_path / "t.parquet"
    with pytest.raises(ImportProblems, match=needle):
        import_results(exported, csv_path, "dev", out=out)
    assert not out.exists()


@pytest.mark.parametrize(
    "header, needle",
    [
        (["file", "latency_min"], "unknown latency unit"),
        (["file", "time"], "no latency column"),
        (["name", "latency_ms"], "no 'file' or 'arch' column"),
        (["file", "latency_ms", "latency_us"], "twice"),
    ],
)
def test_import_rejects_bad_headers(exported, tmp_path, header, needle):
    csv_path = write_csv(tmp_path / "r.csv", header, rows_for(exported))
    with pytest.raises(MeasureError, match=needle):
        import_results(exported, csv_path, "dev")


def test_import_by_arch_string_units_energy_and_ignored_columns(exported, tmp_path):
    models = read_manifest(exported)["models"]
    rows = [[m["arch"], 1500.0 * (i + 1), 0.5, "x"] for i, m in enumerate(models)]
    csv_path = write_csv(tmp_path / "r.csv", ["arch", "latency_us", "energy_j", "note"], rows)
    res = import_results(exported, csv_path, "board")
    lat = res.table.lookup("board/latency_ms", [tuple(m["ops"]) for m in models])
    np.testing.assert_allclose(lat, [1.5 * (i + 1) for i in range(len(models))])
    assert np.all(res.table.column("board/energy_mj") == 500.0) and res.ignored_columns == ["note"]


def test_import_checks_sha256_of_rows_and_files(exported, tmp_path):
    rows = [r + ["0" * 64] for r in rows_for(exported)]
    with pytest.raises(ImportProblems, match="sha256 0000"):
        import_results(exported, write_csv(tmp_path / "a.csv", ["file", "latency_ms", "sha256"], rows), "d")
    copy = tmp_path / "copy"
    export_space("nb201", copy, limit=4, seed=3, progress=False)
    first = copy / read_manifest(copy)["models"][0]["file"]
    first.write_bytes(first.read_bytes() + b"\0")
    with pytest.raises(ImportProblems, match="changed after export"):
        import_results(copy, write_csv(tmp_path / "b.csv", ["file", "latency_ms"], rows_for(copy)), "d")


def test_import_missing_rows_allowed_on_request_and_listed(exported, tmp_path):
    csv_path = write_csv(tmp_path / "r.csv", ["file", "latency_ms"], rows_for(exported)[1:])
    res = import_results(exported, csv_path, "dev", allow_missing=True)
    assert res.rows == 3 and len(res.missing) == 1
    assert res.table.meta["import"]["missing"] == res.missing


def test_import_against_another_space(exported, tmp_path):
    csv_path = write_csv(tmp_path / "r.csv", ["arch", "latency_ms"], [["64-41414-basic", "3"]])
    with pytest.raises(ImportProblems, match="nb201 space"):
        import_results(exported, csv_path, "dev")
    with pytest.raises(MeasureError, match="of the nb201 space, not transnas_macro"):
        import_results(exported, csv_path, "dev", space="transnas_macro")


def test_import_of_a_folder_that_is_not_an_export(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"models": []}))
    with pytest.raises(MeasureError, match="not an hwpred export manifest"):
        read_manifest(tmp_path)


def test_export_records_a_failed_architecture_and_goes_on(tmp_path, monkeypatch, capsys):
    from hwpred.measure import export as export_mod

    real = export_mod.export_arch

    def flaky(space, arch, path, **kw):
        if tuple(arch) == (0,) * 6:
            raise RuntimeError("cannot export")
        return real(space, arch, path, **kw)

    monkeypatch.setattr(export_mod, "export_arch", flaky)
    archs = tmp_path / "a.txt"
    archs.write_text("0,0,0,0,0,0\n1,1,1,1,1,1\n")
    rc = main(
        ["measure", "export", "nb201", "--archs", str(archs), "--out", str(tmp_path / "e"), "--no-progress"]
    )
    assert rc == 1 and "1 architecture(s) failed" in capsys.readouterr().out
    m = read_manifest(tmp_path / "e")
    assert len(m["models"]) == 1 and m["failed"][0]["arch"].startswith("|none~0|")


def test_export_cli_errors(tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("mine")
    for argv, needle in [
        (["measure", "export", "nb201", "--limit", "2", "--out", str(tmp_path / "busy")], "not empty"),
        (["measure", "export", "nb201", "--limit", "2"], "needs --out"),
        (["measure", "export", "darts", "--out", str(tmp_path / "d")], "unknown search space"),
        (["measure", "import", str(tmp_path)], "needs the export folder and one CSV"),
        (["measure", "import", str(tmp_path), "a.csv", "b.csv"], "needs the export folder and one CSV"),
    ]:
        assert main(argv) == 2
        assert needle in capsys.readouterr().err


def test_export_macro_backbones_at_a_non_square_input(tmp_path):
    res = export_space("transnas_macro", tmp_path / "m", limit=2, input_size="48x72", num_classes=5,
                       progress=False)  # fmt: skip
    assert res.manifest["input"]["shape"] == [1, 3, 48, 72] and res.manifest["output"]["shape"] == [1, 5]
    assert all(m["arch"].endswith("-basic") for m in res.manifest["models"])
