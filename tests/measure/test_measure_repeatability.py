"""Journal tools: carrying a long run to another machine, reading it unfinished, pass agreement."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from hwpred.data.table import MetricTable
from hwpred.errors import DataError
from hwpred.measure import (
    carry_journal,
    journal_path,
    median_rel_diff,
    op_multiset_ties,
    pair_classes,
    pass_agreement,
    select_archs,
    sweep_readings,
)
from hwpred.measure.tables import pass2_column


def _journal(cells, values) -> list[dict]:
    """A --rounds 3 journal: values[(cell index, pass)] is the q10 ratio of each round done."""
    recs = [{"kind": "header", "protocol": {"rounds": 3}, "fingerprint": {}}]
    for (i, p), rounds in values.items():
        for q, v in enumerate(rounds):
            recs.append(
                {
                    "kind": "result",
                    "arch": list(cells[i]),
                    "pass": p,
                    "round": q,
                    "stats": {"median_ms": 10.0, "ratio_q10": v},
                }
            )
    return recs


def test_journal_reading_compares_round0_with_the_median_on_the_same_cells(tmp_path):
    cells = select_archs("nb201", limit=4, seed=0)
    true = [1.0, 1.1, 1.2, 1.3]
    values = {}
    for i, t in enumerate(true):
        values[(i, 0)] = [t, t, t]
        values[(i, 1)] = [t, t, t]
    values[(0, 1)] = [1.25, 1.0, 1.0]  # round 0 of cell 0, pass 2, was thrown off: swaps with cells 1, 2
    values[(3, 1)] = [1.3]  # cell 3 has only its first round in pass 2
    src = tmp_path / "run.jsonl.gz"
    with gzip.open(src, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in _journal(cells, values)) + "\n")
    out = tmp_path / "out" / "ours.parquet"
    out.parent.mkdir()
    assert carry_journal(src, out)
    assert not carry_journal(src, out)  # an existing journal is kept

    r = sweep_readings(journal_path(out))
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
    # the records themselves read the same
    assert json.dumps(sweep_readings(_journal(cells, values))) == json.dumps(r)  # NaN-safe


def test_journal_tools_report_what_is_missing(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        carry_journal(tmp_path / "none.jsonl.gz", tmp_path / "t.parquet")
    with pytest.raises(DataError, match="no measurement journal"):
        sweep_readings(tmp_path / "none.journal.jsonl")


def test_pair_classes_and_same_work_ties():
    # two cells with the same ops in another order, one differing only in none vs skip, one with a conv more
    archs = [(1, 0, 2, 3, 4, 1), (0, 1, 1, 4, 3, 2), (0, 0, 2, 3, 4, 1), (3, 3, 2, 3, 4, 1)]
    ties = op_multiset_ties(archs)
    assert ties["pairs"] == 6 and ties["same_op_multiset"] == 1
    assert ties["tau_ceiling"] == pytest.approx(5 / 6)
    p1 = np.array([2.0, 2.1, 1.9, 5.0])
    p2 = np.array([2.1, 2.0, 1.8, 5.2])  # the same-work pair swaps, every other pair agrees
    pc = pair_classes(archs, p1, p2)
    assert pc["pairs"] == 6 and pc["discordant"] == 1
    assert pc["same_ops"] == {
        "pairs": 1,
        "fraction": pytest.approx(1 / 6),
        "tau": -1.0,
        "share_of_discordant": 1.0,
    }
    assert pc["none_vs_skip"]["pairs"] == 2 and pc["none_vs_skip"]["tau"] == 1.0
    assert pc["rest"]["pairs"] == 3 and pc["rest"]["share_of_discordant"] == 0.0
    assert median_rel_diff([1.0, 2.0, 4.0], [1.0, 2.0, 2.0]) == 0.0
    assert median_rel_diff([1.0, 3.0], [3.0, 1.0]) == pytest.approx(1.0)


def test_pass_agreement_of_a_two_pass_table():
    assert pass2_column("t/latency_ms") == "t/latency_pass2_ms"
    assert pass2_column("t/rel_latency_q10") == "t/rel_latency_q10_pass2"
    assert pass2_column("t/energy_mj") == "t/energy_pass2_mj"
    archs = np.array(select_archs("nb201", limit=4, seed=1))
    t = MetricTable(
        "nb201",
        archs,
        {
            "t/latency_ms": np.array([1.0, 2.0, 3.0, 4.0]),
            "t/latency_pass2_ms": np.array([1.0, 2.0, 4.0, 3.0]),
        },
        {},
    )
    a = pass_agreement(t, "t/latency_ms")
    assert a["tau"] == pytest.approx(4 / 6) and a["spearman"] == pytest.approx(0.8)
    assert a["median_rel_diff"] == pytest.approx(np.median([0, 0, 2 / 7, 2 / 7]))
    with pytest.raises(DataError, match="two-pass"):
        pass_agreement(t, "t/cpu_time_ms")
