"""Damaged parts are named and recomputed; concurrent runs split the units; dead workers cannot stall a run."""

import json
import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwpred.experiment import PartStore, execute
from hwpred.experiment.health import check_command, repair, store_health


def _store(root: Path, owner: str = "h1") -> PartStore:
    s = PartStore(root, "test store", "meta.json", "parts")
    s.init("t", owner, "test", {"k": 1})
    return s


def _frame(i: int, n: int = 50) -> pd.DataFrame:
    return pd.DataFrame(
        {"unit": [f"u{i}"] * n, "x": np.arange(n, dtype=float) * i, "s": [str(j) for j in range(n)]}
    )


def _damage(path: Path, how: str, other: Path | None = None) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif how == "flip":  # one bit in the middle of the data pages
        b = bytearray(data)
        b[len(b) // 3] ^= 0x10
        path.write_bytes(bytes(b))
    elif how == "swap":  # another unit's valid part under this name
        shutil.copyfile(other, path)


@pytest.mark.parametrize("how", ["truncate", "random", "swap"])
def test_damaged_part_is_named_and_counts_as_missing(tmp_path, how):
    s = _store(tmp_path / "st")
    ids = [f"u{i}" for i in range(4)]
    for i, pid in enumerate(ids):
        s.write_part(pid, _frame(i))
    s.write_plan(ids)
    assert s.missing(ids) == [] and len(s.read_parts()) == 4
    _damage(s.path_of("u2"), how, other=s.path_of("u3"))
    fresh = PartStore(tmp_path / "st", "test store", "meta.json", "parts")  # no verification memo
    bad = fresh.damaged()
    assert [v.name for v in bad] == [s.path_of("u2").name] and bad[0].problem
    assert fresh.missing(ids) == ["u2"]
    assert len(fresh.read_parts()) == 3  # the damaged part is never read as a result
    h = store_health(fresh)
    assert (h.ok, len(h.damaged), h.missing, h.healthy) == (3, 1, 1, False)
    lines = []
    assert check_command(fresh, "units", fix=True, console=lines.append) == 1
    assert any(s.path_of("u2").name in line and "damaged" in line for line in lines)
    assert not s.path_of("u2").exists() and len(list((tmp_path / "st" / "damaged").glob("*.why"))) == 1


def test_bit_flip_in_the_data_is_caught(tmp_path):
    s = _store(tmp_path / "st")
    s.write_part("u1", _frame(7, n=2000))
    _damage(s.path_of("u1"), "flip")
    assert PartStore(tmp_path / "st", "test store", "meta.json", "parts").missing(["u1"]) == ["u1"]


def test_part_of_another_store_is_foreign(tmp_path):
    a, b = _store(tmp_path / "a", "ha"), _store(tmp_path / "b", "hb")
    a.write_part("u1", _frame(1))
    shutil.copyfile(a.path_of("u1"), b.path_of("u1"))
    (bad,) = b.damaged()
    assert "another store" in bad.problem


def test_plain_parquet_without_record_is_foreign(tmp_path):
    s = _store(tmp_path / "st")
    s.parts_dir.mkdir(parents=True, exist_ok=True)
    _frame(1).to_parquet(s.path_of("u1"))
    (bad,) = s.damaged()
    assert "integrity record" in bad.problem


# ---- claims: concurrent runs split the work ------------------------------------------------------
def _logged_work(unit: str) -> str:
    with open(os.environ["HWPRED_TEST_LOG"], "a") as fh:
        fh.write(f"{unit}\n")
    time.sleep(0.05)
    return unit


def _one_run(root: str, n_units: int, workers: int) -> None:
    s = PartStore(root, "test store", "meta.json", "parts")
    s.init("t", "h1", "test", {})
    units = [f"u{i}" for i in range(n_units)]
    todo = s.missing(units)
    execute(
        todo,
        _logged_work,
        lambda u, r: s.write_part(u, _frame(int(u[1:]), n=3)) and None,
        is_done=lambda u: s.has(u),
        claims=s.claims(lambda u: u),
        workers=workers,
        progress=False,
    )


@pytest.mark.parametrize("n_runs", [2, 4])
def test_concurrent_runs_compute_each_unit_once(tmp_path, monkeypatch, n_runs):
    log = tmp_path / "log.txt"
    monkeypatch.setenv("HWPRED_TEST_LOG", str(log))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_one_run, args=(str(tmp_path / "st"), 40, 1)) for _ in range(n_runs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    computed = log.read_text().split()
    assert sorted(computed) == sorted(f"u{i}" for i in range(40))  # every unit, each exactly once
    s = PartStore(tmp_path / "st", "test store", "meta.json", "parts")
    assert s.missing([f"u{i}" for i in range(40)]) == [] and s.claim_files() == []


def test_stale_claim_of_a_dead_run_is_taken_over(tmp_path):
    s = _store(tmp_path / "st")
    dead = mp.get_context("spawn").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    claims = s.claims(lambda u: u)
    path = claims.path("u1")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": claims.host, "pid": dead.pid, "run": "x", "time": 0}))
    live = s.claims(lambda u: u)
    live_path = live.path("u2")
    live_path.write_text(json.dumps({"host": claims.host, "pid": os.getpid(), "run": "y", "time": 0}))
    assert claims.acquire("u1") and claims.taken_over == 1
    assert not claims.acquire("u2")  # held by a live process
    h = store_health(s)
    assert len(h.live_claims) == 2  # ours on u1 and the live one on u2


# ---- dead workers and failures -------------------------------------------------------------------
def _deadly(unit: str) -> str:
    if unit == "poison":
        os._exit(3)  # kills its worker process, as a segfault or the OOM killer would
    return unit


def test_unit_that_kills_its_worker_is_recorded_failed_not_stalling(tmp_path):
    stored, crashed = [], []
    stats = execute(
        ["a", "poison", "b", "c", "d"],
        _deadly,
        lambda u, r: stored.append(u),
        on_crash=lambda u, reason: crashed.append((u, reason)) or None,
        workers=2,
        progress=False,
    )
    assert sorted(stored) == ["a", "b", "c", "d"]
    assert [u for u, _ in crashed] == ["poison"] and "WorkerDied" in crashed[0][1]
    assert stats.ran == 5


def test_failure_summary_groups_by_kind():
    from hwpred.experiment.executor import RunStats

    st = RunStats(errors=["c1: ValueError: bad", "c2: ValueError: worse", "c3: WorkerDied: gone"])
    assert st.failure_summary() == [
        "2 x ValueError: first c1: ValueError: bad",
        "1 x WorkerDied: first c3: WorkerDied: gone",
    ]


def test_repair_removes_stale_claims(tmp_path):
    s = _store(tmp_path / "st")
    s.claims_dir.mkdir(parents=True)
    (s.claims_dir / "x.claim").write_text(json.dumps({"host": "elsewhere", "pid": 1, "run": "z", "time": 0}))
    os.utime(s.claims_dir / "x.claim", (0, 0))
    h = store_health(s)
    assert len(h.stale_claims) == 1
    repair(s, h)
    assert s.claim_files() == []


def test_store_level_frames_are_verified_too(tmp_path, caplog):
    s = _store(tmp_path / "st")
    s.write_frame("results.parquet", _frame(3))
    pd.testing.assert_frame_equal(s.read_frame("results.parquet"), _frame(3))
    path = s.root / "results.parquet"
    path.write_bytes(path.read_bytes()[:-40])
    with caplog.at_level("WARNING"):
        assert s.read_frame("results.parquet") is None
    assert "results.parquet" in caplog.text and "not used" in caplog.text


def test_digest_is_the_sha256_of_the_tables_ipc_stream():
    """Hashed while streaming, the digest equals the SHA-256 of the whole serialised stream, so
    parts written before stay verifiable; chunking and schema metadata do not change it."""
    import hashlib

    import pyarrow as pa

    from hwpred.experiment.integrity import content_digest

    t = pa.table({"x": np.arange(50_000, dtype=np.float64), "name": pa.array(["a x b"] * 50_000)})
    buf = pa.BufferOutputStream()
    with pa.ipc.new_stream(buf, t.schema) as writer:
        writer.write_table(t)
    want = hashlib.sha256(buf.getvalue()).hexdigest()
    assert content_digest(t) == want
    chunked = pa.concat_tables([t.slice(0, 10_000), t.slice(10_000)]).replace_schema_metadata({"k": "v"})
    assert content_digest(chunked) == want
    assert content_digest(t.slice(1)) != want
