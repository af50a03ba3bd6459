"""The measurement benchmark's journal tools: carrying a long run to another machine, reading it unfinished."""
from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from hwpred.measure.harness import select_archs

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "measure.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_measure", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _journal(cells, values) -> list[dict]:
    """A --rounds 3 journal: values[(cell index, pass)] is the q10 ratio of each round done."""
    recs = [{"kind": "header", "protocol": {"rounds": 3}, "fingerprint": {}}]
    for (i, p), rounds in values.items():
        for q, v in enumerate(rounds):
            recs.append({"kind": "result", "arch": list(cells[i]), "pass": p, "round": q,
                         "stats": {"median_ms": 10.0, "ratio_q10": v}})
    return recs


def test_journal_reading_compares_round0_with_the_median_on_the_same_cells(bench, tmp_path):
    cells = select_archs("nb201", limit=4, seed=0)
    true = [1.0, 1.1, 1.2, 1.3]
    values = {}
    for i, t in enumerate(true):
        values[(i, 0)] = [t, t, t]
        values[(i, 1)] = [t, t, t]
    values[(0, 1)] = [1.25, 1.0, 1.0]  # round 0 of cell 0, pass 2, was thrown off: it swaps with cells 1 and 2
    values[(3, 1)] = [1.3]  # cell 3 has only its first round in pass 2
    src = tmp_path / "run.jsonl.gz"
    with gzip.open(src, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in _journal(cells, values)) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    assert bench.carry_journal(src, out)
    assert not bench.carry_journal(src, out)  # an existing journal is kept

    r = bench.journal_reading(out)
    assert r["jobs"] == 4 * 6 - 2 and r["rounds"] == 3
    k1, k2, k3 = r["by_rounds_done"]
    assert (k1["cells"], k2["cells"], k3["cells"]) == (4, 3, 3)
    # round 0 alone: cell 0 lands between cells 2 and 3 in pass 2, 2 of 6 pairs discordant
    assert k1["tau_round0"] == pytest.approx(2 / 6)
    assert k1["tau_median"] == k1["tau_round0"]  # one round: the median is that round
    assert "tau_previous" not in k1
    # three rounds: the median outvotes the thrown-off job, on the same 3 cells
    assert k3["tau_round0"] == pytest.approx(-1 / 3)
    assert k3["tau_median"] == pytest.approx(1.0)
    # the median of 2 (their mean) still puts cell 0's thrown-off pass 2 between cells 1 and 2
    assert k3["tau_previous"] == pytest.approx(1 / 3) and k2["tau_median"] == pytest.approx(1 / 3)
    assert k3["rel_diff_median"] == 0.0
    assert k3["pair_classes"]["pairs"] == 3
