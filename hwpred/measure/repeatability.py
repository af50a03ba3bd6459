"""How repeatable a run's measurements are, read from its table or its journal.

Two passes of one protocol are two independent measurements of every architecture: the Kendall
tau between them is the noise floor of any predictor fitted to the table. This module gives that
agreement for a two-pass table, where the passes disagree (NAS-Bench-201 pairs of cells doing the
same work are a coin toss), and, for a run of several rounds, the agreement after each sweep,
read from the journal whether the run is finished or not.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from ..data.table import MetricTable
from ..errors import DataError
from ..metrics import kendall_tau, spearman
from ..spaces import get_space
from .journal import Journal, journal_protocol, results_by_round
from .tables import pass2_column

#: the two NAS-Bench-201 ops without weights: ``none`` is ``x.mul(0)``, ``skip_connect`` the identity
WEIGHTLESS_OPS = ("none", "skip_connect")
PAIR_CLASSES = ("same_ops", "none_vs_skip", "rest")


def median_rel_diff(a, b) -> float:
    """Median over cells of |a - b| / mean(a, b): how far two passes are apart, relatively."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.median(np.abs(a - b) / ((a + b) / 2)))


def rank_agreement(a, b) -> dict:
    """Kendall tau, Spearman rho and median relative difference between two passes' values."""
    return {"tau": kendall_tau(a, b), "spearman": spearman(a, b), "median_rel_diff": median_rel_diff(a, b)}


def pass_agreement(table: MetricTable, column: str) -> dict:
    """:func:`rank_agreement` of a two-pass table's first-pass ``column`` (e.g.
    ``cpu-t1-b1/latency_ms``) with its second pass (``cpu-t1-b1/latency_pass2_ms``)."""
    second = pass2_column(column)
    for c in (column, second):
        if c not in table.columns:
            raise DataError(
                f"the table has no column {c!r}; pass agreement needs a two-pass measurement "
                f"table (columns: {', '.join(table.column_names)})"
            )
    return rank_agreement(table.column(column), table.column(second))


def op_counts(archs, space: str = "nb201") -> np.ndarray:
    """(cells, ops): how many of the positions of each architecture carry each op."""
    a = np.asarray(archs)
    return np.stack([(a == k).sum(1) for k in range(len(get_space(space).op_names))], 1)


def op_multiset_ties(archs, space: str = "nb201") -> dict:
    """Pairs of cells with the same multiset of ops. All NAS-Bench-201 edges run on tensors of one
    shape, so such cells do the same work and their latency order is a coin toss in each pass:
    with a fraction f of such pairs, two passes cannot agree beyond tau = 1 - f on average."""
    groups = Counter(tuple(row) for row in op_counts(archs, space))
    pairs = len(archs) * (len(archs) - 1) // 2
    tied = sum(v * (v - 1) // 2 for v in groups.values())
    return {
        "pairs": pairs,
        "same_op_multiset": tied,
        "fraction": tied / pairs,
        "tau_ceiling": 1 - tied / pairs,
    }


def pair_classes(archs, p1, p2, space: str = "nb201") -> dict:
    """Where do two passes disagree? Every pair of cells falls in one class:

    - ``same_ops``: the same multiset of ops (the same work: a coin toss in each pass);
    - ``none_vs_skip``: the same number of each conv and pool op, differing only in how many edges
      are ``none`` rather than ``skip_connect`` (one elementwise kernel per edge and stacked cell
      apart: the closest pairs that do differ in work);
    - ``rest``: cells that differ in a conv or pool op.

    For each class: its pairs, Kendall tau between the passes within it ((concordant -
    discordant) / pairs, exact ties counted as half), and its share of all discordant pairs.
    """
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    counts = op_counts(archs, space)
    weighted = [k for k, name in enumerate(get_space(space).op_names) if name not in WEIGHTLESS_OPS]
    i, j = np.triu_indices(len(counts), 1)
    same_ops = (counts[i] == counts[j]).all(1)
    same_weighted = (counts[i][:, weighted] == counts[j][:, weighted]).all(1)
    cls = np.where(same_ops, "same_ops", np.where(same_weighted, "none_vs_skip", "rest"))
    agree = np.sign(p1[i] - p1[j]) * np.sign(p2[i] - p2[j])  # +1 concordant, -1 discordant, 0 tie
    discordant = agree < 0
    out = {"pairs": len(i), "discordant": int(discordant.sum()), "tau_pairs": float(agree.mean())}
    for name in PAIR_CLASSES:
        m = cls == name
        out[name] = {
            "pairs": int(m.sum()),
            "fraction": float(m.mean()),
            "tau": float(agree[m].mean()) if m.any() else float("nan"),
            "share_of_discordant": float(discordant[m].sum() / max(discordant.sum(), 1)),
        }
    return out


def sweep_readings(
    journal: str | os.PathLike | list[dict], stat: str = "ratio_q10", space: str = "nb201"
) -> dict:
    """A two-pass ``rounds`` run read from its journal (a path or its records), finished or not.

    For k = 1..R: the cells whose rounds 0..k-1 are done in both passes, and, on those cells, the
    Kendall tau (and median relative difference) between the passes of the job statistic ``stat``
    (default the paired q10 ratio) from round 0 alone (``tau_round0``), from the median of the first
    k-1 rounds (``tau_previous``: what the last round added) and from the median of the k rounds
    (``tau_median``, with its :func:`pair_classes`). Fewer than 3 cells give the count only.
    """
    records = journal if isinstance(journal, list) else Journal(Path(journal)).load()
    if not records:
        raise DataError(
            f"no measurement journal at {journal}"
            if not isinstance(journal, list)
            else "the journal holds no records"
        )
    rounds = (journal_protocol(records) or {}).get("rounds", 1)
    values = {
        a: {
            (p, q): st[stat]
            for p, jobs in passes.items()
            for q, st in jobs.items()
            if q != "all" and st.get(stat) is not None
        }
        for a, passes in results_by_round(records).items()
    }
    rows = []
    for k in range(1, rounds + 1):
        cells = sorted(a for a, v in values.items() if all((p, q) in v for p in (0, 1) for q in range(k)))
        row = {"rounds": k, "cells": len(cells)}
        if len(cells) >= 3:

            def median_of(j: int, cells=cells) -> list[np.ndarray]:
                """Each pass's median over rounds 0..j-1, for these cells."""
                return [
                    np.array([np.median([values[a][(p, q)] for q in range(j)]) for a in cells])
                    for p in (0, 1)
                ]

            first, med = median_of(1), median_of(k)
            row.update(
                tau_round0=kendall_tau(*first),
                rel_diff_round0=median_rel_diff(*first),
                tau_median=kendall_tau(*med),
                rel_diff_median=median_rel_diff(*med),
                pair_classes=pair_classes(cells, *med, space=space),
            )
            if k > 1:  # what the last round added, on the same cells
                prev = median_of(k - 1)
                row.update(tau_previous=kendall_tau(*prev), rel_diff_previous=median_rel_diff(*prev))
        rows.append(row)
    return {
        "jobs": sum(len(v) for v in values.values()),
        "rounds": rounds,
        "stat": stat,
        "by_rounds_done": rows,
    }


__all__ = [
    "PAIR_CLASSES",
    "WEIGHTLESS_OPS",
    "median_rel_diff",
    "op_counts",
    "op_multiset_ties",
    "pair_classes",
    "pass_agreement",
    "rank_agreement",
    "sweep_readings",
]
