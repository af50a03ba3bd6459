"""hwpred's own measured tables shipped as ``hwpred:<name>``: added by one function into a temporary
copy of the package's resources, then loaded offline with exactly the file's values, listed as
shipped, refused when damaged, and usable in a study config and as a transfer source."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwpred.data import load_dataset, load_table, manifests, shipped
from hwpred.data.cache import table_path
from hwpred.data.fetching import FileUnavailable
from hwpred.data.manifests import catalog
from hwpred.data.names import describe, list_datasets
from hwpred.data.ship import main as ship_main
from hwpred.data.ship_measured import add_measured_table, manifest_path
from hwpred.data.table import MetricTable
from hwpred.errors import DataError
from hwpred.metrics import kendall_tau

COL = "cpu-t1-b1/latency_ms"


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    """One real, tiny measurement: 5 NAS-Bench-201 cells, two passes (a few seconds)."""
    from hwpred.cli import main

    out = tmp_path_factory.mktemp("measured") / "T.parquet"
    args = ["--limit", "5", "--repeats", "2", "--warmup", "0", "--two-pass", "--no-energy"]
    args += ["--input-size", "16", "--no-progress", "--out", str(out)]
    assert main(["measure", "nb201", *args]) == 0
    return out


@pytest.fixture
def resources(tmp_path, monkeypatch) -> Path:
    """A temporary copy of the package's manifests and of its measured-table folder, used in their
    place; no mirror, and an empty home."""
    root = tmp_path / "resources"
    shutil.copytree(manifests.MANIFEST_DIR, root / "datasets")
    shutil.copytree(shipped.shipped_dir() / "hwpred-measured", root / "tables" / "hwpred-measured")
    monkeypatch.setattr(manifests, "MANIFEST_DIR", root / "datasets")
    monkeypatch.setattr(shipped, "shipped_dir", lambda: root / "tables")
    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    monkeypatch.setenv("HWPRED_HOME", str(tmp_path / "home"))
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _variant(src: Path, dest: Path, **measure) -> Path:
    """The measured table with other metadata (e.g. ``complete=False``) or another source."""
    t = MetricTable.read_parquet(src)
    meta = json.loads(json.dumps(t.meta))
    if "source" in measure:
        meta["source"] = measure.pop("source")
    meta["measure"].update(measure)
    return MetricTable(t.space, t.archs, t.columns, meta, t.units).to_parquet(dest)


def test_added_table_loads_offline_with_exactly_the_files_values(resources, measured):
    entry = add_measured_table(measured, "nb201_tiny_cpu")
    shipped_file = resources / "tables" / "hwpred-measured" / "nb201_tiny_cpu.parquet"
    assert shipped_file.read_bytes() == measured.read_bytes()  # copied as written
    rec = json.loads(shipped_file.with_suffix(".json").read_text())
    assert rec["sha256"] == entry["sha256"] == _sha(measured) and rec["rows"] == 5

    src = MetricTable.read_parquet(measured)
    full = load_table("hwpred:nb201_tiny_cpu", all_columns=True)
    assert np.array_equal(full.archs, src.archs) and full.column_names == src.column_names
    for c in src.column_names:
        assert full.column(c).tobytes() == src.column(c).tobytes(), c
    assert full.units == src.units and full.meta == src.meta

    ds = load_dataset("hwpred:nb201_tiny_cpu")
    assert ds.column == COL and ds.unit == "ms" and np.array_equal(ds.lookup(src.archs), src.column(COL))
    names = load_table("hwpred:nb201_tiny_cpu").column_names
    assert names == entry["columns"] and names[0] == COL
    assert {"cpu-t1-b1/latency_pass2_ms", "cpu-t1-b1/cpu_time_ms", "cpu-t1-b1/cpu_time_pass2_ms"} <= set(
        names
    )
    assert not any("_iqr" in c or "_std" in c or "n_repeats" in c for c in names)
    other = load_dataset("hwpred:nb201_tiny_cpu#cpu-t1-b1/cpu_time_pass2_ms")
    assert np.array_equal(other.arrays()[1], src.column("cpu-t1-b1/cpu_time_pass2_ms"))
    assert not (resources.parent / "home" / "cache").exists()  # nothing fetched, nothing converted


def test_manifest_entry_holds_the_provenance_and_the_test_retest_tau(resources, measured):
    add_measured_table(measured, "nb201_tiny_cpu", column="cpu-t1-b1/cpu_time_ms")
    doc = yaml.safe_load(manifest_path().read_text())
    assert doc["id"] == "hwpred-measured" and doc["prefix"] == "hwpred" and doc["license"] == "MIT"
    assert "CITATION.cff" in doc["citation"]
    entry = doc["tables"]["nb201_tiny_cpu"]
    assert entry["file"] == "hwpred-measured/nb201_tiny_cpu.parquet"
    assert entry["sha256"] == _sha(measured) and entry["size"] == measured.stat().st_size
    assert entry["space"] == "nb201" and entry["column"] == "cpu-t1-b1/cpu_time_ms"
    src = MetricTable.read_parquet(measured)
    prov = entry["provenance"]
    tau = kendall_tau(src.column("cpu-t1-b1/cpu_time_ms"), src.column("cpu-t1-b1/cpu_time_pass2_ms"))
    assert prov["test_retest_tau"] == tau
    assert prov["test_retest_columns"] == ["cpu-t1-b1/cpu_time_ms", "cpu-t1-b1/cpu_time_pass2_ms"]
    dev = src.meta["device"]
    assert prov["cpu_model"] == dev["cpu_model"] and prov["date"] == dev["date"]
    assert prov["runtime"] == "torch" and prov["runtime_version"] == dev["torch"]
    assert (prov["threads"], prov["batch_size"], prov["input_size"]) == (1, 1, 16)
    assert (prov["repeats"], prov["warmup"], prov["passes"], prov["rows"]) == (2, 0, 2, 5)
    assert f"tau {tau:.3f}" in entry["description"]
    # the manifest's files are its tables' files (the package's own and this one), with their sha256
    m = catalog()[0]["hwpred-measured"]
    files = {f.path: (f.sha256, f.url) for f in m.files}
    assert files[entry["file"]] == (entry["sha256"], None) and len(files) == len(doc["tables"])


def test_compact_ships_the_ranked_columns_and_records_the_measured_file(resources, measured):
    entry = add_measured_table(measured, "nb201_tiny_cpu", compact=True)
    src = MetricTable.read_parquet(measured)
    shipped_file = resources / "tables" / "hwpred-measured" / "nb201_tiny_cpu.parquet"
    assert entry["measured_sha256"] == _sha(measured) and entry["sha256"] == _sha(shipped_file)
    assert entry["sha256"] != entry["measured_sha256"] and entry["size"] == shipped_file.stat().st_size
    full = load_table("hwpred:nb201_tiny_cpu", all_columns=True)
    assert set(full.column_names) == set(entry["columns"])
    assert set(entry["dropped_columns"]) == set(src.column_names) - set(full.column_names)
    assert any("n_repeats" in c for c in entry["dropped_columns"])
    assert any("_iqr" in c for c in entry["dropped_columns"])
    for c in full.column_names:  # the kept columns carry exactly the measured values
        assert full.column(c).tobytes() == src.column(c).tobytes(), c
    assert full.meta == src.meta and np.array_equal(full.archs, src.archs)
    prov = entry["provenance"]
    assert prov["test_retest_tau"] == kendall_tau(src.column(COL), src.column("cpu-t1-b1/latency_pass2_ms"))


def test_listing_and_describe_mark_it_shipped(resources, measured, capsys):
    from hwpred.cli import main

    add_measured_table(measured, "nb201_tiny_cpu")
    rows = {r["name"]: r for r in list_datasets()}
    row = rows["hwpred:nb201_tiny_cpu"]
    assert row["status"] == "shipped" and row["available"] and row["manifest_source"] == "shipped"
    info = describe("hwpred:nb201_tiny_cpu")
    assert info["shipped"] and info["license"] == "MIT" and info["column"] == COL and info["unit"] == "ms"
    assert main(["data", "list", "hwpred:"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("hwpred:nb201_tiny_cpu"))
    assert line.split()[1] == "shipped"


def test_damaged_or_swapped_shipped_file_is_never_used(resources, measured, tmp_path, caplog, monkeypatch):
    add_measured_table(measured, "nb201_tiny_cpu")
    target = resources / "tables" / "hwpred-measured" / "nb201_tiny_cpu.parquet"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(FileUnavailable, match="hwpred-measured/nb201_tiny_cpu.parquet is not available"):
        load_dataset("hwpred:nb201_tiny_cpu")
    assert "does not match its record" in caplog.text
    assert {r["name"]: r for r in list_datasets()}["hwpred:nb201_tiny_cpu"]["status"] != "shipped"

    # another measured table with a record rewritten to match it: the manifest's sha256 still refuses it
    other = _variant(measured, tmp_path / "other.parquet", requested=6)
    shutil.copyfile(other, target)
    rec = json.loads(target.with_suffix(".json").read_text())
    rec["sha256"] = _sha(target)
    target.with_suffix(".json").write_text(json.dumps(rec))
    assert not describe("hwpred:nb201_tiny_cpu")["shipped"]
    with pytest.raises(FileUnavailable):
        load_dataset("hwpred:nb201_tiny_cpu")

    # a good copy in the mirror is the fallback (verified, then cached); a damaged one is an error
    mirror = tmp_path / "mirror"
    (mirror / "hwpred-measured").mkdir(parents=True)
    copy = mirror / "hwpred-measured" / "nb201_tiny_cpu.parquet"
    copy.write_bytes(bytes(raw))
    monkeypatch.setenv("HWPRED_DATA_MIRROR", str(mirror))
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("hwpred:nb201_tiny_cpu")
    shutil.copyfile(measured, copy)
    ds = load_dataset("hwpred:nb201_tiny_cpu")
    src = MetricTable.read_parquet(measured)
    assert np.array_equal(ds.lookup(src.archs), src.column(COL))
    assert table_path("hwpred-measured/nb201_tiny_cpu").is_file()


def test_bad_inputs_each_give_one_clear_error(resources, measured, tmp_path):
    folder = resources / "tables" / "hwpred-measured"
    before = (manifest_path().read_bytes(), sorted(p.name for p in folder.iterdir()))
    foreign = _variant(measured, tmp_path / "foreign.parquet", source="hwpred measure import")
    incomplete = _variant(measured, tmp_path / "incomplete.parquet", complete=False, requested=9)
    not_a_table = tmp_path / "plain.parquet"
    not_a_table.write_bytes(b"PAR1 not really")
    cases = [
        (tmp_path / "missing.parquet", "x", None, "no table file at"),
        (not_a_table, "x", None, "not a readable Parquet file"),
        (foreign, "x", None, "is not a table measured by hwpred measure"),
        (incomplete, "x", None, r"is not a complete measurement \(5 of 9 architectures\)"),
        (measured, "x", "cpu-t1-b1/nope_ms", "has no column 'cpu-t1-b1/nope_ms'"),
        (measured, "a/b", None, "must be letters, digits"),
    ]
    for path, name, column, message in cases:
        with pytest.raises(DataError, match=message):
            add_measured_table(path, name, column)
    assert (manifest_path().read_bytes(), sorted(p.name for p in folder.iterdir())) == before

    add_measured_table(measured, "taken")
    with pytest.raises(DataError, match=r"hwpred:taken is already shipped .*--overwrite"):
        add_measured_table(measured, "taken", column="cpu-t1-b1/cpu_time_ms")
    assert load_dataset("hwpred:taken").column == COL
    add_measured_table(measured, "taken", column="cpu-t1-b1/cpu_time_ms", overwrite=True)
    assert load_dataset("hwpred:taken").column == "cpu-t1-b1/cpu_time_ms"


def test_command_adds_a_table_and_reports_errors_in_one_line(resources, measured, tmp_path, capsys):
    assert ship_main(["--measured", str(measured), "--name", "hwpred:cmd_tiny"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("shipped hwpred:cmd_tiny: 5 nb201 architectures, default column " + COL)
    assert describe("hwpred:cmd_tiny")["shipped"]
    assert ship_main(["--measured", str(measured), "--name", "cmd_tiny"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: hwpred:cmd_tiny is already shipped") and "\n" not in err
    with pytest.raises(SystemExit):
        ship_main(["--measured", str(measured)])  # no --name
    assert "--measured needs --name" in capsys.readouterr().err


def test_a_study_config_and_a_transfer_source_can_name_it(resources, measured, tmp_path):
    from hwpred.predictors.transfer.sources import SourceError, resolve_sources
    from hwpred.study.config import parse_config, validate

    add_measured_table(measured, "nb201_study_cpu")
    doc = {
        "name": "measured",
        "datasets": ["hwpred:nb201_study_cpu"],
        "predictors": ["lin_reg"],
        "train_sizes": [2],
        "test_size": 2,
        "seeds": [0],
        "output": str(tmp_path / "results"),
    }
    checked = validate(parse_config(doc), check_store=False)
    assert (
        checked.sizes == {"hwpred:nb201_study_cpu": 5} and checked.spaces["hwpred:nb201_study_cpu"] == "nb201"
    )
    bundle = resolve_sources(["hwpred:nb201_study_cpu"], "nb201")
    src = MetricTable.read_parquet(measured)
    assert len(bundle.archs) == 5 and np.array_equal(
        bundle.values[:, 0], src.lookup(COL, [tuple(a) for a in bundle.archs])
    )
    with pytest.raises(SourceError, match="same search space"):
        resolve_sources(["hwpred:nb201_study_cpu"], "transnas_macro")


def test_the_shipped_macro_table_is_every_backbone_with_its_recorded_repeatability():
    """hwpred:transnas_macro_cpu, as shipped: all 3,256 TransNAS-Bench-101 macro backbones once,
    and the test-retest tau in the manifest is the one its two passes give."""
    import yaml

    from hwpred.data import load_dataset
    from hwpred.metrics import kendall_tau
    from hwpred.spaces import TRANSNAS_MACRO

    ds = load_dataset("hwpred:transnas_macro_cpu")
    archs, y = ds.arrays()
    assert ds.column == "cpu-t1-b1/cpu_time_ms" and len(y) == 3256 and np.all(y > 0)
    assert {tuple(a) for a in archs} == set(TRANSNAS_MACRO.enumerate())
    from hwpred._resources import resource_dir

    doc = yaml.safe_load((resource_dir("datasets") / "hwpred-measured.yaml").read_text())
    prov = doc["tables"]["transnas_macro_cpu"]["provenance"]
    t = ds.table
    assert prov["test_retest_tau"] == kendall_tau(
        t.column(ds.column), t.column("cpu-t1-b1/cpu_time_pass2_ms")
    )
    assert t.meta["measure"]["rows"] == 3256 and len(t.meta["merged"]["shards"]) == 2
