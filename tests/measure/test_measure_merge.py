"""``hwpred measure merge``: shards measured with one protocol become one table, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from hwpred.cli import main
from hwpred.data.table import MetricTable

TINY = [
    "--repeats",
    "2",
    "--warmup",
    "0",
    "--no-progress",
    "--no-energy",
    "--reference-every",
    "2",
    "--input-size",
    "16",
    "--two-pass",
]
CELLS = ["0,0,0,0,0,0", "3,3,3,3,3,3", "1,2,3,4,1,2", "2,2,2,2,2,2", "4,3,2,1,0,1"]


def _shard(tmp_path, name: str, cells: list[str], *extra: str):
    f = tmp_path / f"{name}.txt"
    f.write_text("\n".join(cells) + "\n")
    out = tmp_path / f"{name}.parquet"
    assert main(["measure", "nb201", "--archs", str(f), "--out", str(out), *TINY, *extra]) == 0
    return out


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    return _shard(d, "a", CELLS[:3]), _shard(d, "b", CELLS[3:]), d


def test_merge_is_the_union_of_disjoint_shards_with_their_provenance(shards, capsys):
    a, b, d = shards
    out = d / "merged.parquet"
    assert main(["measure", "merge", str(a), str(b), "--out", str(out), "--name", "merged_test"]) == 0
    assert "5 architectures of nb201 from 2 shards" in capsys.readouterr().out
    m, ta, tb = (MetricTable.read_parquet(p) for p in (out, a, b))
    assert len(m) == 5 and m.column_names == ta.column_names and m.units == ta.units
    for t in (ta, tb):  # every merged row is exactly its shard's row
        for c in t.column_names:
            assert np.array_equal(m.lookup(c, t.arch_tuples), t.column(c))
    keys = [tuple(r) for r in m.archs]
    assert keys == sorted(keys)
    meta = m.meta
    assert meta["measure"]["rows"] == 5 and meta["measure"]["protocol"] == ta.meta["measure"]["protocol"]
    assert [s["rows"] for s in meta["merged"]["shards"]] == [3, 2]
    assert all(len(s["sha256"]) == 64 and s["measure"]["rows"] == s["rows"] for s in meta["merged"]["shards"])
    from hwpred.data import load_dataset

    assert len(load_dataset("local:merged_test")) == 5


def test_merge_refuses_overlap_other_protocol_and_foreign_tables(shards, tmp_path, capsys):
    a, b, _ = shards
    overlap = _shard(tmp_path, "c", CELLS[2:4])
    assert main(["measure", "merge", str(a), str(overlap), "--out", str(tmp_path / "m.parquet")]) == 2
    assert "shards must be disjoint" in capsys.readouterr().err
    other = _shard(tmp_path, "d", ["1,1,1,1,1,1"], "--batch-size", "2")
    assert main(["measure", "merge", str(a), str(other), "--out", str(tmp_path / "m.parquet")]) == 2
    err = capsys.readouterr().err
    assert "another protocol" in err and "batch_size" in err
    foreign = tmp_path / "foreign.parquet"
    t = MetricTable.read_parquet(b)
    MetricTable(
        t.space, t.archs, {c: t.column(c) for c in t.column_names}, {"source": "x"}, t.units
    ).to_parquet(foreign)
    assert main(["measure", "merge", str(a), str(foreign), "--out", str(tmp_path / "m.parquet")]) == 2
    assert "not written by hwpred measure" in capsys.readouterr().err
    assert not (tmp_path / "m.parquet").exists()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["measure", "merge", "a.parquet"], "two or more measured tables"),
        (["measure", "merge", "a.parquet", "b.parquet"], "needs --out"),
        (["measure", "merge", "a.parquet", "b.parquet", "--out", "m.csv"], "must be a .parquet file"),
        (["measure", "merge", "a.parquet", "a.parquet", "--out", "m.parquet"], "named twice"),
        (
            ["measure", "merge", "a.parquet", "b.parquet", "--out", "a.parquet", "--overwrite"],
            "is one of the tables",
        ),
        (["measure", "merge", "nope.parquet", "b.parquet", "--out", "m.parquet"], "does not exist"),
    ],
)
def test_merge_bad_input_one_clear_error(argv, needle, shards, capsys, monkeypatch):
    a, b, d = shards
    monkeypatch.chdir(d)
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
