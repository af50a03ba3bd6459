"""Named datasets: the registry on the real mirror, and fetch/cache/bad-input cases on small files."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from hwpred.data import (
    Dataset,
    MetricTable,
    available_datasets,
    fetch,
    load_dataset,
    load_table,
    register_local,
)
from hwpred.data.shipped import shipped_path
from hwpred.data.sources import help as help_src
from hwpred.errors import ConfigError, DataError
from hwpred.spaces import NB201

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


# -- real data ------------------------------------------------------------------------------------
def test_join_help_raspi4_with_nats_cifar10(mirror):
    joined = load_table("help:raspi4").join(load_table("nats:cifar10"))
    assert len(joined) == 15625
    assert set(joined.columns) == {"raspi4/latency_ms", "cifar10/test_acc"}
    arch = NB201.from_string(ARCH0)
    assert joined.lookup("raspi4/latency_ms", [arch])[0] == 10.481976820010459
    assert joined.lookup("cifar10/test_acc", [arch])[0] == pytest.approx(85.8633333, abs=1e-6)


def test_every_help_device_loads_as_a_dataset(mirror):
    for dev in help_src.DEVICES:
        ds = load_dataset(f"help:{dev}")
        archs, y = ds.arrays()
        assert isinstance(ds, Dataset) and ds.column == f"{dev}/latency_ms" and ds.unit == "ms"
        assert archs.shape == (15625, 6) and len(y) == 15625 and np.all(y > 0)
    # the fast read of a shipped (or cached) table gives exactly what the validating reader gives
    fast = load_table("help:pixel3")
    slow = MetricTable.read_parquet(shipped_path("help-nb201/pixel3"))
    assert np.array_equal(fast.archs, slow.archs)
    assert np.array_equal(fast.column("pixel3/latency_ms"), slow.column("pixel3/latency_ms"))
    assert fast.units == slow.units and fast.meta == slow.meta


def test_available_from_mirror(mirror):
    rows = {name: ok for name, ok, _ in available_datasets()}
    assert sum(ok for n, ok in rows.items() if n.startswith("help:")) == 27
    assert all(rows[f"nats:{d}"] for d in ("cifar10", "cifar100", "ImageNet16-120"))
    hw360 = [n for n in rows if n.startswith("hwnb360:")]
    assert len(hw360) == 33 and all(rows[n] for n in hw360)
    assert rows["hwnb360:pi5-onnx-cifar100"] and rows["hwnb360:pixel-litert-darcy"]
    zc = [n for n in rows if n.startswith("zc:")]
    assert len(zc) == 10 and all(rows[n] for n in zc)
    # listed but not available: no copy and no published checksum
    assert rows["hw-nas-bench:cifar10-edgegpu_latency"] is False
    assert rows["transnas:class_scene-inference_time"] is False


def test_named_zc_and_hwnb360(mirror):
    zc = load_dataset("zc:nb201-cifar10")
    assert zc.column == "cifar10/val_acc" and "cifar10/synflow" in zc.table.columns
    syn = load_dataset("zc:nb201-cifar10#cifar10/synflow")
    assert syn.column == "cifar10/synflow" and len(syn) == len(zc)
    tn = load_dataset("zc:transnas-jigsaw")
    assert tn.space == "transnas_macro"
    hw = load_dataset("hwnb360:pi5-onnx-cifar100")
    assert list(hw.table.columns) == ["pi5-onnx/cifar100/latency_ms"]
    assert hw.table.lookup(hw.column, [NB201.from_string(ARCH0)])[0] == pytest.approx(1.830504, abs=1e-6)
    assert len(load_table("hwnb360:pi5-onnx-cifar100", all_columns=True).columns) == 33
    with pytest.raises(DataError, match="no column"):
        load_dataset("nats:cifar10#cifar10/nope")


# -- small files in an isolated home/mirror -------------------------------------------------------
@pytest.fixture
def env(tmp_path, monkeypatch):
    e = SimpleNamespace(home=tmp_path / "home", mirror=tmp_path / "mirror", manifests=tmp_path / "manifests")
    for p in (e.home, e.mirror, e.manifests):
        p.mkdir()
    monkeypatch.setenv("HWPRED_HOME", str(e.home))
    monkeypatch.setenv("HWPRED_DATA_MIRROR", str(e.mirror))
    monkeypatch.setenv("HWPRED_MANIFESTS", str(e.manifests))
    return e


def sha_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def add_manifest(
    env,
    mid: str,
    fmt: str,
    files: dict[str, bytes],
    space: str = "nb201",
    sha: dict[str, str | None] | None = None,
    url: dict[str, str] | None = None,
    in_mirror: bool = True,
) -> Path:
    entries = []
    for rel, data in files.items():
        if in_mirror:
            (env.mirror / rel).parent.mkdir(parents=True, exist_ok=True)
            (env.mirror / rel).write_bytes(data)
        s = (sha or {}).get(rel, sha_bytes(data))
        entries.append({"path": rel, "url": (url or {}).get(rel), "sha256": s})
    path = env.manifests / f"{mid}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": mid,
                "title": f"test {mid}",
                "format": fmt,
                "space": space,
                "license": "test",
                "files": entries,
            }
        )
    )
    time.sleep(0.01)  # distinct mtime so the manifest catalogue is re-read
    return path


def nats_csv(archs, acc0=90.0, nan=False) -> bytes:
    lines = [
        "CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs,ArchitectureString"
    ]
    for i, a in enumerate(archs):
        v = "nan" if (nan and i == 1) else f"{acc0 + i}"
        lines.append(f"{v},{60 + i},{30 + i},{NB201.to_string(a)}")
    return ("\n".join(lines) + "\n").encode()


ARCHS = [(3, 3, 3, 3, 3, 3), (1, 2, 0, 4, 3, 1), (0, 0, 2, 2, 4, 4), (2, 1, 3, 0, 0, 1)]


def cache_leftovers(env) -> list[Path]:
    return [p for p in (env.home / "cache").rglob("*") if p.is_file() and p.name.startswith(".")]


def test_fetch_copies_verifies_caches_and_imports(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)})
    paths = fetch("nats:cifar10")
    cached = env.home / "cache/files/nats-tss/nats_bench.csv"
    assert paths == [cached] and cached.read_bytes() == (env.mirror / "nats-tss/nats_bench.csv").read_bytes()
    assert (env.home / "cache/tables/nats-tss/accuracy.parquet").is_file()
    ds = load_dataset("nats:cifar100")
    assert ds.table.lookup("cifar100/test_acc", [ARCHS[2]])[0] == 62.0
    # once imported, loading needs neither the mirror nor the raw file
    os.environ["HWPRED_DATA_MIRROR"] = str(env.mirror / "gone")
    cached.unlink()
    assert load_table("nats:cifar10").lookup("cifar10/test_acc", [ARCHS[3]])[0] == 93.0


def test_load_auto_fetches_from_mirror(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)})
    assert len(load_table("nats:ImageNet16-120")) == 4
    assert (env.home / "cache/files/nats-tss/nats_bench.csv").is_file()


def test_checksum_mismatch_caches_nothing(env):
    add_manifest(
        env,
        "nats-tss",
        "nats-csv",
        {"nats-tss/nats_bench.csv": nats_csv(ARCHS)},
        sha={"nats-tss/nats_bench.csv": "a" * 64},
    )
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("nats:cifar10")
    with pytest.raises(DataError, match="checksum mismatch"):
        load_table("nats:cifar10")
    assert not (env.home / "cache/files/nats-tss/nats_bench.csv").exists()
    assert not (env.home / "cache/tables").exists() or not any((env.home / "cache/tables").rglob("*.parquet"))
    assert cache_leftovers(env) == []


def test_damaged_cached_file_is_replaced(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)})
    fetch("nats:cifar10")
    cached = env.home / "cache/files/nats-tss/nats_bench.csv"
    cached.write_bytes(b"garbage")
    fetch("nats:cifar10", force=True)
    assert cached.read_bytes() == (env.mirror / "nats-tss/nats_bench.csv").read_bytes()


def test_missing_file_is_one_clear_error(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)}, in_mirror=False)
    with pytest.raises(DataError, match="not available: it is not in the mirror"):
        load_dataset("nats:cifar10")
    os.environ.pop("HWPRED_DATA_MIRROR")
    with pytest.raises(DataError, match="HWPRED_DATA_MIRROR is not set"):
        fetch("nats:cifar10")
    assert ("nats:cifar10", False) in {(n, ok) for n, ok, _ in available_datasets()}


def test_malformed_and_nan_sources_leave_no_table(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS, nan=True)})
    with pytest.raises(DataError, match="NaN"):
        load_table("nats:cifar10")
    assert not any((env.home / "cache").rglob("*.parquet"))
    bad = nats_csv(ARCHS).replace(b"ArchitectureString", b"Arch")
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": bad})
    with pytest.raises(DataError, match="lacks column"):
        fetch("nats:cifar10")
    assert not any((env.home / "cache").rglob("*.parquet")) and cache_leftovers(env) == []


def test_duplicate_and_invalid_keys(env):
    dup = nats_csv([ARCHS[0], ARCHS[1], ARCHS[0]])
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": dup})
    with pytest.raises(DataError, match="duplicate"):
        load_table("nats:cifar10")
    inv = nats_csv(ARCHS).replace(b"nor_conv_3x3~0|+", b"conv_7x7~0|+", 1)
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": inv})
    with pytest.raises(DataError, match="bad edge"):
        load_table("nats:cifar10")


def test_truncated_cache_table_is_rebuilt(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)})
    load_table("nats:cifar10")
    tp = env.home / "cache/tables/nats-tss/accuracy.parquet"
    tp.write_bytes(tp.read_bytes()[:50])
    assert len(load_table("nats:cifar10")) == 4
    assert len(MetricTable.read_parquet(tp)) == 4


def test_swapped_valid_cache_table_is_rebuilt(env):
    """A valid table with the right stamp but other rows (a swapped file) is not served."""
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS)})
    good = load_table("nats:cifar10")
    tp = env.home / "cache/tables/nats-tss/accuracy.parquet"
    full = MetricTable.read_parquet(tp)
    fake = MetricTable(
        full.space, full.archs[:2], {k: v[:2] for k, v in full.columns.items()}, full.meta, full.units
    )
    fake.to_parquet(tp)  # same stamp in its metadata, 2 rows instead of 4
    again = load_table("nats:cifar10")
    assert len(again) == 4 and np.array_equal(again.archs, good.archs)
    # a cached table whose raw file is gone everywhere cannot be rebuilt: one clear error
    fake.to_parquet(tp)
    for f in (env.home / "cache").rglob("nats_bench.csv"):
        f.unlink()
    for f in Path(os.environ["HWPRED_DATA_MIRROR"]).rglob("nats_bench.csv"):
        f.unlink()
    with pytest.raises(DataError, match="nats_bench.csv"):
        load_table("nats:cifar10")


def test_changed_manifest_rebuilds_table(env):
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS, acc0=90.0)})
    assert load_table("nats:cifar10").lookup("cifar10/test_acc", [ARCHS[0]])[0] == 90.0
    add_manifest(env, "nats-tss", "nats-csv", {"nats-tss/nats_bench.csv": nats_csv(ARCHS, acc0=50.0)})
    assert load_table("nats:cifar10").lookup("cifar10/test_acc", [ARCHS[0]])[0] == 50.0


def test_upstream_download_is_verified(env, tmp_path):
    up = tmp_path / "upstream.csv"
    up.write_bytes(nats_csv(ARCHS))
    add_manifest(
        env,
        "nats-tss",
        "nats-csv",
        {"nats-tss/nats_bench.csv": up.read_bytes()},
        in_mirror=False,
        url={"nats-tss/nats_bench.csv": up.as_uri()},
    )
    fetch("nats:cifar10", upstream=True)
    assert len(load_table("nats:cifar10")) == 4
    up.write_bytes(nats_csv(ARCHS)[:-20])  # upstream file changed/truncated
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("nats:cifar10", upstream=True, force=True)
    assert cache_leftovers(env) == []
    add_manifest(
        env,
        "nats-tss",
        "nats-csv",
        {"nats-tss/nats_bench.csv": b"x"},
        in_mirror=False,
        url={"nats-tss/nats_bench.csv": (tmp_path / "nowhere.csv").as_uri()},
    )
    with pytest.raises(DataError, match="could not download"):
        fetch("nats:cifar10", upstream=True)


def test_unknown_names(env):
    with pytest.raises(DataError, match="did you mean help:raspi4"):
        load_dataset("help:raspi")
    with pytest.raises(DataError, match="hwpred data list"):
        load_table("nosuch:thing")
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("local:never-registered")
    with pytest.raises(DataError, match="unknown dataset"):
        fetch("help:nope")


def test_bad_manifest_is_a_config_error(env):
    (env.manifests / "broken.yaml").write_text(
        "id: broken\nformat: nats-csv\nfiles:\n  - path: x.csv\n    sha256: 12\n"
    )
    with pytest.raises(ConfigError, match="64 hex"):
        available_datasets()
    (env.manifests / "broken.yaml").write_text("id: [unclosed\n")
    with pytest.raises(ConfigError, match="not readable YAML"):
        available_datasets()


def test_hwnasbench_pickle_through_registry(env, tmp_path):
    write_hwnasbench_pickle = _sources_helper("write_hwnasbench_pickle")

    p = write_hwnasbench_pickle(tmp_path / "hw.pickle", ARCHS)
    rel = "hw-nas-bench/HW-NAS-Bench-v1_0.pickle"
    add_manifest(env, "hw-nas-bench", "hw-nas-bench-pickle", {rel: p.read_bytes()}, sha={rel: None})
    with pytest.raises(DataError, match="no sha256"):
        load_dataset("hw-nas-bench:cifar10-raspi4_latency")
    add_manifest(env, "hw-nas-bench", "hw-nas-bench-pickle", {rel: p.read_bytes()})
    ds = load_dataset("hw-nas-bench:cifar10-raspi4_latency")
    assert ds.column == "raspi4/latency_ms" and len(ds) == 4
    assert load_dataset("hw-nas-bench:ImageNet16-120-fpga_energy").unit == "mJ"
    assert dict((n, ok) for n, ok, _ in available_datasets())["hw-nas-bench:cifar100-edgetpu_latency"]


def test_transnas_pth_through_registry(env, tmp_path):
    write_transnas_pth = _sources_helper("write_transnas_pth")

    p = write_transnas_pth(tmp_path / "t.pth", ["64-41414-basic", "64-1242-basic"])
    rel = "transnas-bench-101/transnas-bench_v10141024.pth"
    add_manifest(env, "transnas-bench-101", "transnas-pth", {rel: p.read_bytes()}, space="transnas_macro")
    ds = load_dataset("transnas:class_scene-inference_time")
    assert ds.space == "transnas_macro" and len(ds) == 2
    assert (
        load_dataset("transnas:autoencoder-test_loss#autoencoder/test_ssim").column == "autoencoder/test_ssim"
    )
    with pytest.raises(DataError, match="no 'room_layout' data"):
        load_dataset("transnas:room_layout-test_loss")


def _sources_helper(name: str):
    try:
        import tests.data.test_data_sources as mod
    except ImportError:  # pytest run from another folder: tests/data itself is on sys.path
        import test_data_sources as mod
    return getattr(mod, name)


def test_local_and_file_names(env, tmp_path):
    t = MetricTable(
        "nb201",
        ARCHS[:3],
        {"cpu/latency_ms": [1.0, 2.0, 3.0], "cpu/energy_mj": [4.0, 5.0, 6.0]},
        {"device": "test"},
        {"cpu/latency_ms": "ms"},
    )
    path = t.to_parquet(tmp_path / "measured.parquet")
    assert register_local("my-cpu", path, column="cpu/latency_ms", description="test table") == "local:my-cpu"
    ds = load_dataset("local:my-cpu")
    assert ds.column == "cpu/latency_ms" and ds.arrays()[1].tolist() == [1.0, 2.0, 3.0]
    assert load_dataset("local:my-cpu#cpu/energy_mj").arrays()[1].tolist() == [4.0, 5.0, 6.0]
    assert ("local:my-cpu", True, "test table") in available_datasets()
    assert load_dataset(f"file:{path}#cpu/energy_mj").column == "cpu/energy_mj"
    with pytest.raises(DataError, match="several columns"):
        load_dataset(f"file:{path}")
    register_local("nocol", path)
    with pytest.raises(DataError, match="several columns"):
        load_dataset("local:nocol")
    with pytest.raises(DataError, match="must be letters"):
        register_local("bad name!", path)
    with pytest.raises(DataError, match="no table file"):
        register_local("missing", tmp_path / "nope.parquet")
    with pytest.raises(DataError, match="no column"):
        register_local("x", path, column="cpu/nope")
    path.unlink()
    assert ("local:my-cpu", False, "test table") in available_datasets()
    with pytest.raises(DataError, match="no table file"):
        load_dataset("local:my-cpu")


def test_load_dataset_docstring_example_runs():
    import doctest

    from hwpred.data import load_dataset

    runner = doctest.DocTestRunner()
    for example in doctest.DocTestFinder().find(load_dataset, "load_dataset", globs={}):
        runner.run(example)
    assert runner.tries > 0 and runner.failures == 0
