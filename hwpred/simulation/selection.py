"""Vectorised 2-D Pareto selection and its evaluation: MRA, hardware gap, hypervolume.

Objectives: accuracy is maximised, the hardware metric minimised. Every function accepts a
single selection (1-D arrays of length n) or a batch of trials (2-D arrays ``(trials, n)``)
and works along the last axis, so a whole batch of simulated predictors is one numpy call.

Why a sort and a running extreme are enough in 2-D: listed by accuracy, best first, a point
is non-dominated exactly when its metric is strictly below every metric of a strictly more
accurate point and not above any metric of an equally accurate one (equal points, i.e.
duplicates, do not dominate each other - the convention pymoo follows). The running minimum
of the metric also gives the hardware gap, and a sweep over it the hypervolume.

The accuracy order is the expensive part (a sort) and it does not change with the metric's
noise, so it is computed once per batch of subsets (:class:`AccuracyOrder`); every noise
level then costs one gather and a few linear passes (:meth:`AccuracyOrder.select`,
:meth:`TrueFront.evaluate`). When every trial uses the same subset (the whole space), the
order is computed once for all trials and broadcast.

The selection side ("the values selection sees": noisy or proxy values) and the evaluation
side ("the values evaluation uses": the benchmark's true values) are separate arguments, so
a zero-shot score can drive selection while MRA and hypervolume still use true accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_batch(x, dtype=np.float64) -> tuple[np.ndarray, bool]:
    a = np.asarray(x, dtype=dtype)
    if a.ndim == 1:
        return a[None, :], True
    if a.ndim != 2:
        raise ValueError(f"expected a 1-D selection or a 2-D (trials, n) batch, got shape {a.shape}")
    return a, False


class _Sweep:
    """One ascending sort of a batch by a key, with the runs of equal keys located.

    ``start``/``end`` give, for each sorted position, the first/last position of its run of
    equal keys (ties must be treated as one step); they are None when no key is tied, the
    common case. A sweep of a single row is applied to every row of a batch (the subsets of
    all trials are the same architectures) with a cheap column gather.
    """

    def __init__(self, key: np.ndarray):
        t, n = key.shape
        self.shape = (t, n)
        # stable: the metrics never depend on the order inside a tie run, but the grid lays its
        # noise out in this order, and a stable sort is the same on every CPU and numpy build
        self.order = np.argsort(key, axis=1, kind="stable")
        self._flat = (
            None if t == 1 else (self.order + (np.arange(t, dtype=np.int64) * n)[:, None]).reshape(-1)
        )
        ks = self.sort(key)
        new = np.ones((t, n), dtype=bool)
        new[:, 1:] = ks[:, 1:] != ks[:, :-1]
        if new.all():
            self.start = self.end = None
            return
        pos = np.broadcast_to(np.arange(n), (t, n))
        self.start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
        last = np.ones((t, n), dtype=bool)
        last[:, :-1] = new[:, 1:]
        self.end = np.minimum.accumulate(np.where(last, pos, n)[:, ::-1], axis=1)[:, ::-1]

    def _take(self, x: np.ndarray, idx: np.ndarray, flat: np.ndarray | None) -> np.ndarray:
        if self.shape[0] == 1:
            return np.take(x, idx[0], axis=1)
        if flat is None:
            flat = (idx + (np.arange(self.shape[0], dtype=np.int64) * self.shape[1])[:, None]).reshape(-1)
        return np.take(x.reshape(-1), flat).reshape(x.shape)

    def sort(self, x: np.ndarray) -> np.ndarray:
        return self._take(x, self.order, self._flat)

    def unsort(self, xs: np.ndarray) -> np.ndarray:
        out = np.empty_like(xs)
        if self.shape[0] == 1:
            out[:, self.order[0]] = xs
        else:
            out.reshape(-1)[self._flat] = xs.reshape(-1)
        return out

    def cummax_through_ties(self, vs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Running max of sorted values: through the end of each tie run, and before its start."""
        c = np.maximum.accumulate(vs, axis=1)
        prev = np.empty_like(c)
        prev[:, 0] = -np.inf
        prev[:, 1:] = c[:, :-1]
        if self.end is None:
            return c, prev
        return self._take(c, self.end, None), self._take(prev, self.start, None)


class AccuracyOrder:
    """Points listed by accuracy, best first; selects the non-dominated set for any metric."""

    def __init__(self, acc):
        a, self._single = _as_batch(acc)
        self.sweep = _Sweep(-a)
        self.acc_sorted = self.sweep.sort(a)
        n = a.shape[1]
        # tie run of each sorted position (its first position): the key of "equally accurate"
        self.group = np.broadcast_to(np.arange(n), (1, n)) if self.sweep.start is None else self.sweep.start

    def nondominated_sorted(self, hw_sorted: np.ndarray) -> np.ndarray:
        """Non-dominated mask of metric values already listed in this order (``inf`` = absent)."""
        neg = -hw_sorted
        through, before = self.sweep.cummax_through_ties(neg)
        return (neg >= through) & (neg > before)

    def select(self, hw) -> np.ndarray:
        """Non-dominated mask, in this accuracy order, for metric values in the original order."""
        m, _ = _as_batch(hw)
        return self.nondominated_sorted(self.sweep.sort(m))


def pareto_mask(acc, hw) -> np.ndarray:
    """Non-dominated points (accuracy maximised, metric minimised); duplicates are kept together.

    Points with accuracy ``-inf`` never dominate a finite point, so callers can restrict the
    front to a subset without changing array shapes.
    """
    a, single = _as_batch(acc)
    m, _ = _as_batch(hw)
    if a.shape != m.shape:
        raise ValueError(f"accuracy and metric shapes differ: {a.shape} vs {m.shape}")
    order = AccuracyOrder(a)
    mask = order.sweep.unsort(order.select(m))
    return mask[0] if single else mask


def _hv_acc_sorted(acc_sorted: np.ndarray, hw_sorted_or_inf: np.ndarray, ref_hw: np.ndarray) -> np.ndarray:
    """Sweep down the accuracy: sum of (ref - best metric so far)+ x (accuracy step to the next point)."""
    a = np.maximum(acc_sorted, 0.0)
    step = np.empty(np.broadcast_shapes(a.shape, hw_sorted_or_inf.shape))
    step[:] = a
    step[:, :-1] -= a[:, 1:]
    best = np.minimum.accumulate(hw_sorted_or_inf, axis=1)
    gain = np.maximum(ref_hw[:, None] - best, 0.0)
    # a strictly left-to-right sum: trailing padding (+0.0) cannot change it, so a selection
    # equal to the true front gives exactly the true front's hypervolume however it is packed
    return np.cumsum(gain * step, axis=1)[:, -1]


def hypervolume(acc, hw, ref_hw, mask=None) -> np.ndarray | float:
    """Area dominated by the (masked) points, bounded by accuracy 0 and metric ``ref_hw``.

    Points at or beyond the reference (metric >= ref_hw, accuracy <= 0) add nothing.
    """
    a, single = _as_batch(acc)
    m, _ = _as_batch(hw)
    ref = np.broadcast_to(np.asarray(ref_hw, dtype=np.float64), (a.shape[0],)).astype(np.float64)
    if mask is not None:
        sel, _ = _as_batch(mask, dtype=bool)
        m = np.where(sel, m, np.inf)
    order = AccuracyOrder(a)
    hv = _hv_acc_sorted(order.acc_sorted, order.sweep.sort(m), ref)
    return float(hv[0]) if single else hv


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First/last position of each run of equal consecutive keys, per row."""
    t, k = keys.shape
    pos = np.broadcast_to(np.arange(k), (t, k))
    new = np.ones((t, k), dtype=bool)
    new[:, 1:] = keys[:, 1:] != keys[:, :-1]
    last = np.ones((t, k), dtype=bool)
    last[:, :-1] = new[:, 1:]
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, k)[:, ::-1], axis=1)[:, ::-1]
    return start, end


def _nondominated_runs(hw: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Non-dominated mask of short padded rows listed by accuracy, best first.

    ``group`` marks equally accurate points (equal consecutive ids); ``inf`` metric = padding.
    """
    neg = -hw
    c = np.maximum.accumulate(neg, axis=1)
    prev = np.empty_like(c)
    prev[:, 0] = -np.inf
    prev[:, 1:] = c[:, :-1]
    start, end = _runs(group)
    through = np.take_along_axis(c, end, axis=1)
    before = np.take_along_axis(prev, start, axis=1)
    return (neg >= through) & (neg > before) & np.isfinite(hw)


def _block_size(n: int) -> int:
    for b in (125, 128, 120, 100, 160, 200, 96, 80, 250, 64):
        if n % b == 0:
            return b
    return 128


def _running_min_points(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of every value <= the running minimum of its row so far (itself included).

    Blocked: a block whose minimum exceeds the minimum of all earlier blocks holds no such
    point, so the running minimum is only computed inside the other blocks.
    """
    t, n = m.shape
    b = _block_size(n)
    nb = -(-n // b)
    if nb * b != n:
        m = np.concatenate([m, np.full((t, nb * b - n), np.inf)], axis=1)
    blocks = m.reshape(t, nb, b)
    bmin = blocks.min(axis=2)
    before = np.empty_like(bmin)
    before[:, 0] = np.inf
    before[:, 1:] = np.minimum.accumulate(bmin, axis=1)[:, :-1]
    r, k = np.nonzero(bmin <= before)
    vals = blocks[r, k]
    run = np.minimum(np.minimum.accumulate(vals, axis=1), before[r, k][:, None])
    hit_r, hit_j = np.nonzero(vals <= run)
    rows, cols = r[hit_r], k[hit_r] * b + hit_j
    order = np.lexsort((cols, rows))
    return rows[order], cols[order]


@dataclass
class _Compact:
    """A few marked points per row, packed left into (trials, k) arrays (in the sorted order)."""

    rows: np.ndarray
    cols: np.ndarray
    slot: np.ndarray
    counts: np.ndarray
    width: int

    @classmethod
    def of(cls, mask: np.ndarray) -> _Compact:
        rows, cols = np.nonzero(mask)
        return cls.from_points(rows, cols, mask.shape[0])

    @classmethod
    def from_points(cls, rows: np.ndarray, cols: np.ndarray, n_rows: int) -> _Compact:
        """Points sorted by (row, col)."""
        counts = np.bincount(rows, minlength=n_rows)
        offsets = np.cumsum(counts) - counts
        slot = np.arange(len(rows)) - offsets[rows]
        return cls(rows, cols, slot, counts, int(counts.max(initial=0)))

    def take(self, arr: np.ndarray) -> np.ndarray:
        """Values of a (1 or trials, n) array at the marked points (flat)."""
        return arr[0, self.cols] if arr.shape[0] == 1 else arr[self.rows, self.cols]

    def pack(self, flat_values: np.ndarray, fill) -> np.ndarray:
        out = np.full((len(self.counts), max(self.width, 1)), fill, dtype=np.asarray(flat_values).dtype)
        out[self.rows, self.slot] = flat_values
        return out

    def filter(self, keep_packed: np.ndarray) -> _Compact:
        keep = keep_packed[self.rows, self.slot]
        rows, cols = self.rows[keep], self.cols[keep]
        counts = np.bincount(rows, minlength=len(self.counts))
        offsets = np.cumsum(counts) - counts
        return _Compact(rows, cols, np.arange(len(rows)) - offsets[rows], counts, int(counts.max(initial=0)))


def reference_metric(front_max_hw, margin: float = 0.1) -> np.ndarray:
    """1.1 x a metric value: hwpred applies it to the largest metric on the true front, the seed
    study's code to the largest metric in the subset (``hv_reference``: front-max, subset-max).

    For a metric that is not positive the margin is taken on its magnitude, so the reference
    always lies beyond the front (a latency is positive, so this is exactly 1.1 x there).
    """
    x = np.asarray(front_max_hw, dtype=np.float64)
    return x + margin * np.abs(x)


@dataclass
class SelectionMetrics:
    """Per-trial evaluation of one batch of selections (arrays of shape (trials,)).

    Gaps are in the evaluation values' own units (accuracy as given, metric as given); the
    grid runner converts accuracy gaps to percentage points.
    """

    mra_all: np.ndarray
    mra_pareto: np.ndarray
    hw_gap_all: np.ndarray
    hw_gap_pareto: np.ndarray
    hv: np.ndarray
    hv_true: np.ndarray
    hv_fraction: np.ndarray
    n_selected: np.ndarray
    n_verified: np.ndarray
    n_front: np.ndarray


class TrueFront:
    """Everything about a batch of subsets that depends only on the evaluation values.

    Built once per batch of subsets (one row when all trials share the subset), then
    :meth:`evaluate` scores any number of selections (one per noise level) in linear time.
    The hypervolume reference is ``ref_hw`` when given, else ``ref_from_front_max`` (default
    :func:`reference_metric`) applied to the largest metric on each subset's true front.
    """

    def __init__(self, eval_acc, eval_hw, ref_hw=None, ref_from_front_max=None):
        a, self._single = _as_batch(eval_acc)
        m, _ = _as_batch(eval_hw)
        if a.shape != m.shape:
            raise ValueError(f"accuracy and metric shapes differ: {a.shape} vs {m.shape}")
        self.acc, self.hw = a, m
        self.order = AccuracyOrder(a)
        sw = self.order.sweep
        self.acc_s = self.order.acc_sorted
        self.hw_s = sw.sort(m)
        neg_min_through, _ = sw.cummax_through_ties(-self.hw_s)
        self.front_s = self.order.nondominated_sorted(self.hw_s)
        # metric gap to the lowest-metric front member weakly dominating each point: the
        # smallest metric among all points at least as accurate
        self.hw_gap_s = self.hw_s + neg_min_through
        # accuracy gap to the most accurate front member weakly dominating each point: the
        # best accuracy among all points with a metric at most as large (a sweep by metric)
        by_hw = _Sweep(m)
        best_acc, _ = by_hw.cummax_through_ties(by_hw.sort(a))
        self.acc_gap_s = sw.sort(by_hw.unsort(best_acc)) - self.acc_s
        if ref_hw is None:
            front_max = np.max(np.where(self.front_s, self.hw_s, -np.inf), axis=1)
            ref_hw = (ref_from_front_max or reference_metric)(front_max)
        self.ref_hw = np.broadcast_to(np.asarray(ref_hw, dtype=np.float64), (a.shape[0],)).astype(np.float64)
        fc = _Compact.of(self.front_s)
        self.hv_true = _hv_acc_sorted(
            fc.pack(fc.take(self.acc_s), 0.0), fc.pack(fc.take(self.hw_s), np.inf), self.ref_hw
        )
        front = sw.unsort(self.front_s)
        self.front = front[0] if self._single else front

    def select_sorted(self, hw_sorted: np.ndarray) -> _Compact:
        """The non-dominated set of metric values listed in this front's accuracy order.

        Only points that reach the running minimum can be non-dominated (every non-dominated
        point does, and a candidate dominated by anything is dominated by a non-dominated
        point, itself a candidate), so ties are resolved among those few. The running minimum
        itself is only needed inside blocks whose minimum beats every earlier block's, which
        after the first few blocks is rare: one read-only pass over the batch finds them.
        """
        m = np.asarray(hw_sorted, dtype=np.float64)
        rows, cols = _running_min_points(m)
        cand = _Compact.from_points(rows, cols, m.shape[0])
        hw_c = cand.pack(m[cand.rows, cand.cols], np.inf)
        grp = cand.pack(cand.take(self.order.group), -1)
        pad = hw_c == np.inf
        grp[pad] = -1 - np.nonzero(pad)[1]  # padding never joins a run
        return cand.filter(_nondominated_runs(hw_c, grp))

    def evaluate_compact(self, sel: _Compact) -> SelectionMetrics:
        """Score selections given as compact sorted positions (from :meth:`select_sorted`)."""
        k = len(sel.counts)
        n_sel = sel.counts
        acc_c = sel.pack(sel.take(self.acc_s), 0.0)
        hw_c = sel.pack(sel.take(self.hw_s), np.inf)
        grp = sel.pack(sel.take(self.order.group), -1)
        pad = hw_c == np.inf
        grp[pad] = -1 - np.nonzero(pad)[1]
        ver = _nondominated_runs(hw_c, grp)
        n_ver = ver.sum(axis=1)
        gap_c = sel.pack(sel.take(self.acc_gap_s), 0.0)
        hwg_c = sel.pack(sel.take(self.hw_gap_s), 0.0)
        ref = np.broadcast_to(self.ref_hw, (k,)) if self.ref_hw.shape[0] == 1 else self.ref_hw
        with np.errstate(invalid="ignore", divide="ignore"):
            mra_all = gap_c.sum(axis=1) / n_sel
            mra_par = np.where(ver, gap_c, 0.0).sum(axis=1) / n_ver
            hwg_all = hwg_c.sum(axis=1) / n_sel
            hwg_par = np.where(ver, hwg_c, 0.0).sum(axis=1) / n_ver
            hv = _hv_acc_sorted(acc_c, hw_c, ref)
            hv_true = np.broadcast_to(self.hv_true, (k,)).copy()
            frac = np.where(hv_true > 0, hv / hv_true, np.nan)
        n_front = np.broadcast_to(self.front_s.sum(axis=1), (k,)).copy()
        return SelectionMetrics(mra_all, mra_par, hwg_all, hwg_par, hv, hv_true, frac, n_sel, n_ver, n_front)

    def to_sorted(self, mask) -> np.ndarray:
        """A mask in the original order -> this front's accuracy order."""
        sel, _ = _as_batch(mask, dtype=bool)
        return self.order.sweep.sort(sel)

    def evaluate(self, selected) -> SelectionMetrics:
        """Score selection masks given in the original order of the evaluation values."""
        return self.evaluate_sorted(self.to_sorted(selected))

    def evaluate_sorted(self, sel_s: np.ndarray) -> SelectionMetrics:
        """Score selection masks already in this front's accuracy order, shape (trials, n)."""
        sel_s = np.asarray(sel_s, dtype=bool)
        if (
            sel_s.ndim != 2
            or sel_s.shape[1] != self.acc_s.shape[1]
            or self.acc_s.shape[0] not in (1, sel_s.shape[0])
        ):
            raise ValueError(
                f"selection mask shape {sel_s.shape} does not fit the subsets' {self.acc_s.shape}"
            )
        return self.evaluate_compact(_Compact.of(sel_s))


def simulate_selection(
    select_acc, select_hw, eval_acc, eval_hw, ref_hw=None, front: TrueFront | None = None
) -> tuple[np.ndarray, SelectionMetrics]:
    """Select the non-dominated set under the values selection sees; score it with the true ones.

    ``select_*``: what the NAS method believes (noisy predictions, a zero-shot score...);
    ``eval_*``: the benchmark's measured values. Pass a prepared ``front`` to reuse its sorts.
    Returns the selection mask (original order) and the per-trial metrics.
    """
    if front is None and all(np.ndim(x) == 1 for x in (select_acc, select_hw, eval_acc, eval_hw)):
        from .single import simulate_one  # one selection: the compiled path, the same numbers

        return simulate_one(select_acc, select_hw, eval_acc, eval_hw, ref_hw)
    if front is None:
        front = TrueFront(eval_acc, eval_hw, ref_hw)
    selected = pareto_mask(select_acc, select_hw)
    return selected, front.evaluate(selected)
