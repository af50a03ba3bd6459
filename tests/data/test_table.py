import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from hwpred.data import Dataset, MetricTable
from hwpred.errors import DataError
from hwpred.spaces import NB201, TRANSNAS_MACRO


def _table(n=20, offset=0, col="lat", seed=0):
    archs = NB201.enumerate()[offset : offset + n]
    rng = np.random.default_rng(seed)
    return MetricTable("nb201", archs, {col: rng.random(n)}, {"source": "test", "device": "cpu"}, {col: "ms"})


def test_empty_table_round_trips_through_parquet(tmp_path):
    # e.g. a two-pass measurement interrupted before any architecture had both passes
    t = MetricTable(
        "nb201",
        np.zeros((0, 6), dtype=np.int64),
        {"dev/latency_ms": np.zeros(0)},
        {"source": "test"},
        {"dev/latency_ms": "ms"},
    )
    t.to_parquet(tmp_path / "empty.parquet")
    back = MetricTable.read_parquet(tmp_path / "empty.parquet")
    assert len(back) == 0 and back.archs.shape == (0, 6) and back.meta["source"] == "test"
    with pytest.raises(DataError, match="array for space nb201"):
        MetricTable("nb201", np.zeros((3, 5), dtype=np.int64), {"dev/latency_ms": np.zeros(3)})


def test_parquet_round_trip_keeps_metadata(tmp_path):
    t = _table()
    p = t.to_parquet(tmp_path / "sub" / "t.parquet")
    u = MetricTable.read_parquet(p)
    assert u.space == "nb201" and u.meta == t.meta and u.units == {"lat": "ms"}
    np.testing.assert_array_equal(u.archs, t.archs)
    np.testing.assert_array_equal(u.column("lat"), t.column("lat"))
    assert not list(tmp_path.glob("sub/.*"))  # no temp file left behind


def test_join_is_on_the_op_tuple_not_row_order():
    a = _table(30, 0, "lat")
    b = _table(30, 10, "acc", seed=1)
    b_shuffled = b.subset(np.random.default_rng(3).permutation(len(b)))
    j = a.join(b_shuffled)
    assert len(j) == 20 and set(j.column_names) == {"lat", "acc"}
    for arch, lat, acc in zip(j.arch_tuples, j.column("lat"), j.column("acc")):
        assert lat == a.lookup("lat", [arch])[0]
        assert acc == b.lookup("acc", [arch])[0]


def test_join_rejects_other_space_no_overlap_and_clashes():
    t = _table(10)
    other = MetricTable("transnas_macro", TRANSNAS_MACRO.enumerate()[:5], {"x": np.arange(5.0)})
    with pytest.raises(DataError, match="different search spaces"):
        t.join(other)
    with pytest.raises(DataError, match="share no architecture"):
        t.join(_table(10, 100, "y"))
    with pytest.raises(DataError, match="rename one side"):
        t.join(_table(10, 0, "lat"))


def test_dataset_selection():
    t = _table(15)
    archs, y = t.dataset("lat")
    assert archs.shape == (15, 6) and y.shape == (15,)
    with pytest.raises(DataError, match="no column 'nope'"):
        t.dataset("nope")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(bad):
    v = np.arange(5.0)
    v[2] = bad
    with pytest.raises(DataError, match="NaN/non-finite"):
        MetricTable("nb201", NB201.enumerate()[:5], {"lat": v})


def test_duplicate_and_invalid_keys_are_rejected():
    archs = NB201.enumerate()[:3] + NB201.enumerate()[:1]
    with pytest.raises(DataError, match="more than once"):
        MetricTable("nb201", archs, {"lat": np.arange(4.0)})
    with pytest.raises(DataError, match="invalid transnas_macro"):
        MetricTable("transnas_macro", [(1, 1, 1, 1, 0, 0)], {"lat": [1.0]})
    with pytest.raises(DataError, match="values for"):
        MetricTable("nb201", NB201.enumerate()[:3], {"lat": np.arange(4.0)})


def test_reading_bad_files(tmp_path):
    with pytest.raises(DataError, match="no table file"):
        MetricTable.read_parquet(tmp_path / "missing.parquet")
    good = _table().to_parquet(tmp_path / "t.parquet")
    trunc = tmp_path / "trunc.parquet"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataError, match="not a readable Parquet"):
        MetricTable.read_parquet(trunc)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pq.read_table(good).replace_schema_metadata({}), plain)
    with pytest.raises(DataError, match="not an hwpred MetricTable"):
        MetricTable.read_parquet(plain)


def test_strings_are_accepted_as_keys():
    s = [NB201.to_string(a) for a in NB201.enumerate()[:4]]
    t = MetricTable("nb201", s, {"lat": np.arange(4.0)})
    assert t.arch_tuples == NB201.enumerate()[:4]
    assert list(t.to_frame()["arch"]) == s


def test_dataset_view_of_a_table():
    t = _table(12)
    ds = Dataset.of(t, "lat")
    assert ds.name == "lat" and ds.table is t and ds.column == "lat"
    assert ds.space == "nb201" and ds.unit == "ms" and len(ds) == 12
    named = Dataset.of(t, "lat", name="cpu-latency")
    assert named.name == "cpu-latency" and named.table is t
    archs, y = ds.arrays()
    np.testing.assert_array_equal(archs, t.archs)
    np.testing.assert_array_equal(y, t.column("lat"))
    before = t.archs.copy(), t.column("lat").copy()
    archs[:], y[:] = 4, -1.0  # arrays() hands out copies: the table is untouched
    np.testing.assert_array_equal(t.archs, before[0])
    np.testing.assert_array_equal(t.column("lat"), before[1])
    assert Dataset.of(t.rename({"lat": "raw"}), "raw").unit == "ms"
    with pytest.raises(DataError, match="no column 'nope'"):
        Dataset.of(t, "nope")
    with pytest.raises(DataError, match="expected a MetricTable"):
        Dataset.of(t.to_frame(), "lat")


def test_dataset_lookup_follows_the_given_order_not_the_table_order():
    t = _table(40, 100)
    shuffled = t.subset(np.random.default_rng(5).permutation(len(t)))
    ds = Dataset.of(shuffled, "lat", name="shuffled")
    want = [NB201.enumerate()[i] for i in (139, 100, 120, 100, 105)]  # a repeat is answered twice
    expected = [t.column("lat")[i - 100] for i in (139, 100, 120, 100, 105)]
    assert ds.lookup(want).tolist() == expected
    assert ds.lookup(np.asarray(want)).tolist() == expected  # an (n, positions) int array
    assert ds.lookup([NB201.to_string(a) for a in want]).tolist() == expected  # arch strings
    assert ds.lookup([]).shape == (0,)
    everything = ds.lookup(t.archs)
    np.testing.assert_array_equal(everything, t.column("lat"))


def test_dataset_lookup_names_the_first_architecture_the_table_lacks():
    t = _table(10)
    ds = Dataset.of(t, "lat", name="small")
    absent = NB201.enumerate()[50], NB201.enumerate()[60]
    first = f"dataset small has no measurement for architecture {absent[0]} ({NB201.to_string(absent[0])})"
    with pytest.raises(DataError, match=re.escape(first)):
        ds.lookup([NB201.enumerate()[3], absent[0], absent[1]])
    # out-of-range op ids never alias another architecture's key
    with pytest.raises(DataError, match=r"architecture \(0, 0, 0, 0, 0, 5\)"):
        Dataset.of(t, "lat").lookup([(0, 0, 0, 0, 0, 5)])
    with pytest.raises(DataError, match="6-position nb201 op tuples"):
        ds.lookup([(0, 1, 2)])
    empty = MetricTable("nb201", np.zeros((0, 6), dtype=np.int64), {"lat": np.zeros(0)})
    with pytest.raises(DataError, match="no measurement"):
        Dataset.of(empty, "lat").lookup([NB201.enumerate()[0]])


def test_key_join_agrees_with_a_per_row_index_in_both_spaces():
    for space, n in ((NB201, 3000), (TRANSNAS_MACRO, 800)):
        every = space.enumerate()
        pick = np.random.default_rng(1).choice(len(every), n, replace=False)
        archs = [every[i] for i in pick]
        t = MetricTable(space.name, archs, {"v": np.arange(float(n))})
        by_tuple = {a: i for i, a in enumerate(archs)}
        query = [archs[i] for i in np.random.default_rng(2).permutation(n)[:200]]
        assert t.rows_of(query).tolist() == [by_tuple[a] for a in query]
        assert t.lookup("v", query).tolist() == [float(by_tuple[a]) for a in query]
        assert t.index_of(query[7]) == by_tuple[query[7]]
        outside = next(a for a in every if a not in by_tuple)
        with pytest.raises(DataError, match=f"not in this {space.name} table"):
            t.index_of(outside)
