"""Shipped tables: real data that loads with no mirror and no network, equal to the upstream import."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hwpred.data import fetch, load_dataset, load_table
from hwpred.data import fetching as fetching_mod
from hwpred.data.cache import stamp
from hwpred.data.fetching import FileUnavailable
from hwpred.data.manifests import catalog, file_entry
from hwpred.data.names import describe, list_datasets
from hwpred.data.shipped import SHIPPED_MANIFESTS, is_shipped, shipped_dir, shipped_path, ships_verbatim
from hwpred.data.sources import importer


def _shipped_specs():
    return [s for s in catalog()[1].values() if s.manifest in SHIPPED_MANIFESTS]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No mirror, an empty home, and any attempt to copy or download a file is a test failure."""
    monkeypatch.delenv("HWPRED_DATA_MIRROR", raising=False)
    monkeypatch.setenv("HWPRED_HOME", str(tmp_path / "home"))

    def no_files(*a, **k):
        raise AssertionError(f"a shipped name tried to fetch a file: {a}")

    monkeypatch.setattr(fetching_mod, "_retrieve", no_files)
    return tmp_path / "home"


def test_every_shipped_name_loads_offline(offline):
    specs = _shipped_specs()
    assert {s.name for s in specs if s.name.startswith("help:")} == {
        f"help:{d}" for d in importer("help-latency").DEVICES
    }
    assert {"zc:nb201-cifar10", "zc:nb201-cifar100", "zc:nb201-ImageNet16-120"} <= {s.name for s in specs}
    for spec in specs:
        ds = load_dataset(spec.name)
        assert ds.column == spec.column and len(ds) > 600
        assert np.all(np.isfinite(ds.arrays()[1]))
    raspi = load_dataset("help:raspi4")
    assert len(raspi) == 15625 and raspi.unit == "ms"
    assert raspi.table.meta["license"] == "MIT" and "HELP" in raspi.table.meta["citation"]
    assert not (offline / "cache").exists()  # nothing copied, nothing converted


def test_listing_marks_shipped_and_fetch_only(offline):
    rows = {r["name"]: r for r in list_datasets()}
    assert rows["help:pixel3"]["status"] == "shipped" and rows["help:pixel3"]["available"]
    assert rows["zc:transnas-class_scene"]["status"] == "shipped"
    # tables with no stated licence stay fetch-only
    assert rows["nats:cifar10"]["status"] == "download" and not rows["nats:cifar10"]["available"]
    assert all(r["status"] != "shipped" for n, r in rows.items() if n.startswith("hwnb360:"))
    assert describe("help:raspi4")["shipped"] and not describe("nats:cifar10")["shipped"]
    assert fetch("help:raspi4") == []  # nothing to fetch for a shipped table


def test_fetch_command_says_a_shipped_name_needs_nothing(offline, capsys):
    from hwpred.cli import main

    assert main(["data", "fetch", "help:pixel3"]) == 0
    assert "help:pixel3: shipped in the package, nothing to fetch" in capsys.readouterr().out


def test_licences_citations_and_upstream_checksums_ship_beside_the_tables():
    ms = catalog()[0]
    for mid, licence in SHIPPED_MANIFESTS.items():
        folder = shipped_dir() / mid
        text = (folder / "LICENSE").read_text()
        assert ("MIT License" if licence == "MIT" else "Apache License") in text
        assert ms[mid].citation.strip().splitlines()[0] in (folder / "CITATION.txt").read_text()
        assert ms[mid].license == licence
    for spec in _shipped_specs():
        import json

        rec = json.loads(shipped_path(spec.table_key).with_suffix(".json").read_text())
        assert rec["built_from"] == stamp(spec)  # regenerate (python -m hwpred.data.ship) when this fails
        assert rec["built_from"]["files"] == {r: file_entry(r, spec.manifest).sha256 for r in spec.files}
        assert is_shipped(spec)


def test_damaged_shipped_table_is_not_used(offline, monkeypatch, tmp_path, caplog):
    from hwpred.data import shipped

    copy = tmp_path / "tables"
    shutil.copytree(shipped_dir(), copy)
    target = copy / "help-nb201" / "raspi4.parquet"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    monkeypatch.setattr(shipped, "shipped_dir", lambda: copy)
    with pytest.raises(FileUnavailable, match="HWPRED_DATA_MIRROR is not set"):
        load_dataset("help:raspi4")
    assert "does not match its record" in caplog.text
    assert len(load_dataset("help:pixel3")) == 15625  # the undamaged ones still load


@pytest.mark.mirror
def test_shipped_values_equal_the_mirror_import(mirror):
    """Byte-for-byte: the importer run on the mirror's upstream files gives the shipped tables.

    (Measured tables ship as their manifest's own files, which ``is_shipped`` checks byte for byte.)"""
    ms, _ = catalog()
    for mid in (m for m in SHIPPED_MANIFESTS if not ships_verbatim(m)):
        m = ms[mid]
        specs = [s for s in _shipped_specs() if s.manifest == mid]
        files = {r: mirror / r for s in specs for r in s.files}
        fresh = importer(m.format).build(m, files, sorted({s.table_key for s in specs}))
        for spec in specs:
            ours, theirs = load_table(spec.name, all_columns=True), fresh[spec.table_key]
            assert np.array_equal(ours.archs, theirs.archs), spec.name
            assert list(ours.columns) == list(theirs.columns), spec.name
            for c in theirs.columns:
                a, b = ours.column(c), theirs.column(c)
                assert a.dtype == b.dtype == np.float64 and a.tobytes() == b.tobytes(), (spec.name, c)
            assert ours.units == theirs.units
            extra = {"hwpred_cache", "shipped"}
            assert {k: v for k, v in ours.meta.items() if k not in extra} == theirs.meta


def test_package_stays_small_enough_for_a_wheel():
    """The wheel must stay under 15 MB; the package's files, uncompressed, bound its size."""
    import hwpred

    root = shipped_dir().parents[1]
    assert root == Path(hwpred.__file__).parent
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert size < 15e6, f"the hwpred package holds {size / 1e6:.1f} MB"
    tables = sum(p.stat().st_size for p in shipped_dir().rglob("*") if p.is_file())
    assert tables < 6e6
