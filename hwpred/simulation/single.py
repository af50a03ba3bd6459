"""One selection, compiled: the same selection and evaluation as :class:`~.selection.TrueFront`
for 1-D inputs, without its batch machinery.

A NAS loop scores one selection of a few hundred architectures at a time; there the batched
numpy path spends its time in the overhead of some sixty small array calls. This kernel runs
the same definitions in two compiled passes. The sums that numpy computes pairwise (the MRA and
gap means) are left to numpy on arrays laid out as the batched path lays them out, and the
hypervolume sweep adds left to right as ``np.cumsum`` does, so the numbers are the same floats;
the tests compare every field for equality.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .selection import SelectionMetrics, reference_metric


@njit(cache=True, nogil=True)
def _front_in_order(order, acc, hw, keep):
    """Non-dominated flags of the points ``order`` lists (accuracy descending, stable), among those
    with ``keep``; ties in accuracy are one step. Also the minimum metric through each point's run."""
    n = order.shape[0]
    flag = np.zeros(n, np.bool_)
    through = np.empty(n)
    before = np.inf
    k = 0
    while k < n:
        e = k + 1
        while e < n and acc[order[e]] == acc[order[k]]:
            e += 1
        run_min = np.inf
        for i in range(k, e):
            if keep[order[i]] and hw[order[i]] < run_min:
                run_min = hw[order[i]]
        t = min(before, run_min)
        for i in range(k, e):
            p = order[i]
            through[i] = t
            flag[i] = keep[p] and hw[p] <= t and hw[p] < before
        before = t
        k = e
    return flag, through


@njit(cache=True, nogil=True)
def _hv_sorted(acc_s, hw_s, mask, ref):
    """Left-to-right sum of (ref - best metric so far)+ x accuracy step over the masked points."""
    total = 0.0
    started = False
    best = np.inf
    n = acc_s.shape[0]
    idx = np.flatnonzero(mask)
    for j in range(idx.shape[0]):
        i = idx[j]
        a = max(acc_s[i], 0.0)
        nxt = max(acc_s[idx[j + 1]], 0.0) if j + 1 < idx.shape[0] else 0.0
        best = min(best, hw_s[i])
        term = max(ref - best, 0.0) * (a - nxt)
        total = term if not started else total + term
        started = True
    if n == 0 or not started:
        return 0.0
    return total


@njit(cache=True, nogil=True)
def _kernel(sel_order, sel_acc, sel_hw, ev_order, hw_order, acc, hw, ref_in):
    n = acc.shape[0]
    everyone = np.ones(n, np.bool_)
    sel_flag, _ = _front_in_order(sel_order, sel_acc, sel_hw, everyone)
    selected = np.zeros(n, np.bool_)
    for i in range(n):
        if sel_flag[i]:
            selected[sel_order[i]] = True
    front_s, through = _front_in_order(ev_order, acc, hw, everyone)
    acc_s = np.empty(n)
    hw_s = np.empty(n)
    for i in range(n):
        acc_s[i] = acc[ev_order[i]]
        hw_s[i] = hw[ev_order[i]]
    # best accuracy among points with a metric at most as large (through ties of the metric)
    best_acc = np.empty(n)
    k = 0
    run_best = -np.inf
    while k < n:
        e = k + 1
        while e < n and hw[hw_order[e]] == hw[hw_order[k]]:
            e += 1
        for i in range(k, e):
            run_best = max(run_best, acc[hw_order[i]])
        for i in range(k, e):
            best_acc[hw_order[i]] = run_best
        k = e
    ref = ref_in
    if np.isnan(ref):
        fmax = -np.inf
        for i in range(n):
            if front_s[i]:
                fmax = max(fmax, hw_s[i])
        ref = fmax
    sel_s = np.zeros(n, np.bool_)
    for i in range(n):
        sel_s[i] = selected[ev_order[i]]
    ver_s, _ = _front_in_order(ev_order, acc, hw, selected)
    m = int(sel_s.sum())
    gap = np.zeros(max(m, 1))
    gap_ver = np.zeros(max(m, 1))
    hwg = np.zeros(max(m, 1))
    hwg_ver = np.zeros(max(m, 1))
    j = 0
    for i in range(n):
        if sel_s[i]:
            p = ev_order[i]
            gap[j] = best_acc[p] - acc_s[i]
            hwg[j] = hw_s[i] + (-through[i])
            if ver_s[i]:
                gap_ver[j] = gap[j]
                hwg_ver[j] = hwg[j]
            j += 1
    return selected, front_s, acc_s, hw_s, sel_s, ver_s, ref, gap, gap_ver, hwg, hwg_ver


def simulate_one(
    select_acc, select_hw, eval_acc, eval_hw, ref_hw=None
) -> tuple[np.ndarray, SelectionMetrics]:
    """:func:`~.selection.simulate_selection` for one 1-D selection (same results, less overhead)."""
    sa, sh, a, h = (
        np.ascontiguousarray(x, dtype=np.float64) for x in (select_acc, select_hw, eval_acc, eval_hw)
    )
    if not (sa.shape == sh.shape == a.shape == h.shape) or a.ndim != 1:
        raise ValueError(
            f"one selection needs four 1-D arrays of one length, got {sa.shape, sh.shape, a.shape, h.shape}"
        )
    sel_order = np.argsort(-sa, kind="stable")
    ev_order = np.argsort(-a, kind="stable")
    hw_order = np.argsort(h, kind="stable")
    given = ref_hw is not None
    ref0 = float(np.asarray(ref_hw, dtype=np.float64).reshape(-1)[0]) if given else np.nan
    selected, front_s, acc_s, hw_s, sel_s, ver_s, ref, gap, gap_ver, hwg, hwg_ver = _kernel(
        sel_order, sa, sh, ev_order, hw_order, a, h, ref0
    )
    if not given:
        ref = float(reference_metric(ref))
    hv = np.array([_hv_sorted(acc_s, hw_s, sel_s, ref)])
    hv_true = np.array([_hv_sorted(acc_s, hw_s, front_s, ref)])
    n_sel, n_ver = int(sel_s.sum()), int(ver_s.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        n_sel, n_ver = np.array([n_sel]), np.array([n_ver])
        met = SelectionMetrics(
            # (1, k) rows summed along axis 1: the batched path's reductions, the same floats
            mra_all=gap[None, :].sum(axis=1) / n_sel,
            mra_pareto=gap_ver[None, :].sum(axis=1) / n_ver,
            hw_gap_all=hwg[None, :].sum(axis=1) / n_sel,
            hw_gap_pareto=hwg_ver[None, :].sum(axis=1) / n_ver,
            hv=hv,
            hv_true=hv_true,
            hv_fraction=np.where(hv_true > 0, hv / hv_true, np.nan),
            n_selected=n_sel,
            n_verified=n_ver,
            n_front=np.array([int(front_s.sum())]),
        )
    return selected, met
