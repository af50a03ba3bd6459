"""The experiment scaffold on its own: validators, part store, executor, report helpers."""

import os
import time

import pandas as pd
import pytest

from hwpred.errors import ConfigError, DataError
from hwpred.experiment import (
    Outcome,
    PartStore,
    as_int,
    check_keys,
    config_hash,
    execute,
    float_list,
    int_list,
    locate_store,
    markdown_table,
    markdown_to_html,
    named_entries,
    save_figure,
    seed_list,
)


def test_validators_return_typed_values():
    assert as_int(3.0, "k", "cfg.yaml", minimum=1) == 3
    assert int_list([100, "all", 25], "sizes", "s", words=("all",), sort=True) == (25, 100, "all")
    assert seed_list("2-4", "seeds", "s") == (2, 3, 4)
    assert seed_list([0, 5], "seeds", "s") == (0, 5)
    assert float_list({"start": 0, "stop": 0.3, "step": 0.1}, "noise", "s") == (0.0, 0.1, 0.2, 0.3)
    assert list(named_entries(["a", {"name": "b", "x": 1}], "items", {"name", "x"}, "s")) == [
        (0, {"name": "a"}),
        (1, {"name": "b", "x": 1}),
    ]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: as_int(True, "trials", "cfg.yaml"), "cfg.yaml: trials must be an integer, got True"),
        (
            lambda: as_int(0, "trials", "cfg.yaml", minimum=1),
            "cfg.yaml: trials must be an integer >= 1, got 0",
        ),
        (lambda: int_list([5, 5], "sizes", "cfg.yaml"), "cfg.yaml: sizes lists 5 more than once"),
        (lambda: int_list([], "sizes", "cfg.yaml"), "cfg.yaml: sizes must be a non-empty list"),
        (lambda: seed_list("4-2", "seeds", "cfg.yaml"), "cfg.yaml: seeds '4-2' is not a seed range"),
        (
            lambda: float_list([0.1, -1], "noise", "cfg.yaml"),
            "cfg.yaml: noise holds -1; it cannot be below 0",
        ),
        (lambda: float_list([float("nan")], "noise", "cfg.yaml"), "cfg.yaml: noise holds nan"),
        (lambda: check_keys({"nmae": 1}, {"name"}, "cfg.yaml"), r"cfg.yaml: has unknown key\(s\) \['nmae'\]"),
        (
            lambda: list(named_entries([3], "predictors", {"name"}, "cfg.yaml")),
            r"cfg.yaml: predictors\[0\] must",
        ),
    ],
)
def test_validators_speak_with_one_voice(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_config_hash_is_stable_and_order_free():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({"a": 1})) == 16


def _store(tmp_path):
    return PartStore(tmp_path / "s", kind="test store", meta_name="test.json", parts="parts")


def test_store_claims_writes_and_reads_parts(tmp_path):
    store = _store(tmp_path)
    store.init("s", "h1", "cfg.yaml", {"x": 1})
    store.init("s", "h1", "cfg.yaml", {"x": 1})  # idempotent
    assert store.read_meta()["config_hash"] == "h1"
    with pytest.raises(ConfigError, match="different config"):
        store.init("s", "h2", "other.yaml", {"x": 2})
    store.write_part("u/1", pd.DataFrame({"v": [1.0, 2.0]}))
    store.write_part("u/2", pd.DataFrame({"v": [3.0]}))
    assert store.has("u/1") and not store.has("u/3")
    assert store.missing(["u/1", "u/3", "u/2"]) == ["u/3"]
    frames = [t.to_pandas() for t in store.read_parts()]
    assert sorted(pd.concat(frames)["v"]) == [1.0, 2.0, 3.0]
    assert locate_store(tmp_path, "test.json", "test store", "the test") == store.root
    with pytest.raises(DataError, match="not a test store"):
        locate_store(tmp_path / "s" / "parts", "test.json", "test store", "the test")


def test_readers_tolerate_a_run_in_progress(tmp_path):
    store = _store(tmp_path)
    store.init("s", "h1", "cfg.yaml", {})
    store.write_part("ok", pd.DataFrame({"v": [1]}))
    (store.parts_dir / ".tmp-half.part").write_bytes(b"PAR1 half")  # a writer in flight
    (store.parts_dir / "garbage-0000000000.parquet").write_bytes(b"no parquet")  # damaged part
    assert len(store.part_files()) == 2
    assert [t.num_rows for t in store.read_parts()] == [1]
    old = time.time() - 7200
    os.utime(store.parts_dir / ".tmp-half.part", (old, old))
    assert store.clean_temp() == 1


def test_store_without_meta_but_with_parts_is_refused(tmp_path):
    store = _store(tmp_path)
    store.parts_dir.mkdir(parents=True)
    (store.parts_dir / "x-0000000000.parquet").write_bytes(b"")
    with pytest.raises(ConfigError, match="no test.json"):
        store.init("s", "h", "cfg.yaml", {})


def _square(x):
    if x == 3:
        return {"x": x, "error": "three is not allowed"}
    return {"x": x, "y": x * x}


@pytest.mark.parametrize("workers", [1, 2])
def test_execute_runs_every_unit_once_and_counts_failures(workers):
    results = {}

    def on_result(unit, res):
        results[unit] = res
        return Outcome(ok="error" not in res, error=res.get("error"), seconds=0.0)

    stats = execute(
        [0, 1, 2, 3, 4, 5],
        _square,
        on_result,
        is_done=lambda u: u == 5,
        workers=workers,
        progress=False,
        already_done=2,
    )
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert results[4] == {"x": 4, "y": 16}
    assert (stats.total, stats.already_done, stats.ran, stats.failed) == (8, 2, 5, 1)
    assert stats.errors == ["three is not allowed"]


def test_execute_refuses_unknown_executor():
    with pytest.raises(ConfigError, match="executor 'spark' is unknown"):
        execute([1], _square, lambda u, r: None, executor="spark", progress=False)


def test_report_helpers(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.DataFrame({"name": ["a", "b"], "tau": [0.51234, float("nan")]})
    md = markdown_table(df)
    assert md.splitlines()[2] == "| a | 0.512 |" and md.splitlines()[3] == "| b | - |"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    paths, b64 = save_figure(fig, tmp_path / "fig")
    assert [p.name for p in paths] == ["fig.png", "fig.svg"] and all(p.stat().st_size > 0 for p in paths)
    page = markdown_to_html(f"# Title\n\n{md}\n\n![fig](fig.png)\n", "t", images={"fig.png": b64})
    assert "<h1>Title</h1>" in page and "<td>0.512</td>" in page and "data:image/png;base64," in page
