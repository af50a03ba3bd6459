"""Exact Kendall tau-b of many rows against a few reference rows, compiled with numba.

:func:`hwpred.metrics.kendall_tau` (every study cell's test-set tau) is one row against one
reference. The simulation scores every simulated predictor by the Kendall tau of its noisy metric with
the true one: 10,000 correlations per subset size and pair, each of up to 15,625 values. The
reference row (the true metric of a subset) is the same for every noise level of a trial, and
for every trial when the subset is the whole space, so its sort and its ties are computed once
(:class:`TauReference`). Each row is then ordered by a two-level bucket sort over its value
range (a few linear passes for the smooth rows the simulation scores, against a comparison sort),
and the inversions of its ranks are counted over a Fenwick tree of 64-value bit words: about half
the time of a merge sort that counts inversions (Knight's algorithm), which is kept for the runs
of tied reference values.

The counts are the ones scipy's ``kendalltau(variant="b")`` forms (discordant pairs, ties in
either side, joint ties) and the final division is written the same way, so the value is the
same float, not merely close; the tests check equality.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: rows shorter than this are insertion-sorted (counting inversions) before merging
_RUN = 16


@njit(cache=True, nogil=True)
def _sort_count(a: np.ndarray, tmp: np.ndarray) -> int:
    """Sort ``a`` in place (stable bottom-up merge sort); return its strict inversions."""
    n = a.shape[0]
    inv = 0
    for lo in range(0, n, _RUN):
        hi = min(lo + _RUN, n)
        for i in range(lo + 1, hi):
            v = a[i]
            j = i
            while j > lo and a[j - 1] > v:
                a[j] = a[j - 1]
                j -= 1
            a[j] = v
            inv += i - j
    width = _RUN
    src, dst = a, tmp
    swapped = False
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if src[j] < src[i]:  # strictly smaller: every left value still waiting exceeds it
                    dst[k] = src[j]
                    inv += mid - i
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
        src, dst = dst, src
        swapped = not swapped
        width *= 2
    if swapped:
        a[:] = src
    return inv


@njit(cache=True, nogil=True)
def _tied_pairs(s: np.ndarray) -> int:
    """Pairs of equal values in a sorted array."""
    total = 0
    run = 1
    for k in range(1, s.shape[0]):
        if s[k] == s[k - 1]:
            run += 1
        else:
            total += run * (run - 1) // 2
            run = 1
    return total + run * (run - 1) // 2


@njit(inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, nogil=True)
def _inversions(q: np.ndarray, tree: np.ndarray, bits: np.ndarray) -> int:
    """Inversions of a permutation of 0..n-1: a Fenwick tree over 64-value words, a bit set inside each."""
    n = q.shape[0]
    nb = (n >> 6) + 1
    tree[: nb + 1] = 0
    bits[:nb] = 0
    inv = 0
    for j in range(n):
        v = q[j]
        b = v >> 6
        s = 0
        i = b + 1
        while i > 0:  # earlier values in words <= b
            s += tree[i]
            i -= i & (-i)
        w = bits[b]
        inv += j - s + _popcount(w >> np.uint64(v & 63))  # words above b, and larger values in word b
        bits[b] = w | (np.uint64(1) << np.uint64(v & 63))
        i = b + 1
        while i <= nb:
            tree[i] += 1
            i += i & (-i)
    return inv


#: a bucket holding more values than this is sorted by a merge sort instead of an insertion sort
_BUCKET_INSERTION = 32


@njit(cache=True, nogil=True)
def _bucket_pass(y, o, s, e, bucket, start, fill, tmp):
    """Distribute ``o[s:e]`` over e - s value buckets of equal width, in bucket order.

    Bucket ``j`` ends up in ``o[start[s + j]:start[s + j + 1]]``. The bucket of a value is a
    monotone function of it (a subtraction and a product by a positive constant, both rounded
    monotonically, then a floor), so the buckets are in value order; equal values share one.
    """
    k = e - s
    lo = y[o[s]]
    hi = lo
    for i in range(s + 1, e):
        v = y[o[i]]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    scale = k / (hi - lo) if hi > lo else 0.0
    if not np.isfinite(scale):
        scale = 0.0  # a range too small (or too large) to divide: a single bucket
    start[s : e + 1] = 0
    for i in range(s, e):
        j = min(int((y[o[i]] - lo) * scale), k - 1)
        bucket[i] = j
        start[s + j + 1] += 1
    start[s] = s
    for j in range(k):
        start[s + j + 1] += start[s + j]
        fill[s + j] = start[s + j]
    tmp[s:e] = o[s:e]
    for i in range(s, e):
        j = s + bucket[i]
        o[fill[j]] = tmp[i]
        fill[j] += 1


@njit(cache=True, nogil=True)
def _insertion(y, xp, o, s, e):
    for i in range(s + 1, e):
        v = o[i]
        j = i
        while j > s and (y[v] < y[o[j - 1]] or (y[v] == y[o[j - 1]] and xp[v] < xp[o[j - 1]])):
            o[j] = o[j - 1]
            j -= 1
        o[j] = v


@njit(cache=True, nogil=True)
def _order_by_value(y, xp, o, bucket, start, start2, fill, tmp):
    """``o`` <- the positions of ``y`` sorted by (value, ``xp``): ties in reference order.

    Two levels of bucket sort, one bucket per value on average: a crowded bucket (a heavy-tailed
    row puts most values in a few of the first level's buckets) is spread again over its own
    narrower range, and what is still crowded after that goes to a stable merge sort. For the
    rows the simulation scores this costs a few linear passes instead of a comparison sort.
    """
    n = y.shape[0]
    for i in range(n):
        o[i] = i
    _bucket_pass(y, o, 0, n, bucket, start, fill, tmp)
    for b in range(n):
        s, e = start[b], start[b + 1]
        if e - s <= _BUCKET_INSERTION:
            _insertion(y, xp, o, s, e)
            continue
        _bucket_pass(y, o, s, e, bucket, start2, fill, tmp)
        for b2 in range(s, e):
            s2, e2 = start2[b2], start2[b2 + 1]
            if e2 - s2 <= _BUCKET_INSERTION:
                _insertion(y, xp, o, s2, e2)
            else:
                run = o[s2:e2].copy()
                run = run[np.argsort(xp[run], kind="mergesort")]  # reference order first, then
                o[s2:e2] = run[np.argsort(y[run], kind="mergesort")]  # a stable sort by value


@njit(cache=True, nogil=True)
def _tau_rows(perm, xpos, gstart, gend, goff, xtie, ys, out):
    """tau-b of every row of ``ys`` with its reference row (row 0 when there is only one).

    ``xpos`` is the position of each value in its reference row's sorted order (``perm``
    inverted). Each row is ordered by (value, reference position), so that a tie is never
    counted as an inversion, and its ranks listed in the reference order are counted for
    inversions.
    """
    n = ys.shape[1]
    tot = n * (n - 1) // 2
    q = np.empty(n, np.int64)
    o = np.empty(n, np.int64)
    bucket = np.empty(n, np.int64)
    start = np.empty(n + 1, np.int64)
    start2 = np.empty(n + 1, np.int64)
    fill = np.empty(n, np.int64)
    otmp = np.empty(n, np.int64)
    tree = np.empty((n >> 6) + 2, np.int64)
    bits = np.empty((n >> 6) + 1, np.uint64)
    tmp = np.empty(n)
    single = goff.shape[0] == 2
    for r in range(ys.shape[0]):
        x_row = 0 if single else r
        y = ys[r]
        xp = xpos[x_row]
        ytie = 0
        if n > 0:
            _order_by_value(y, xp, o, bucket, start, start2, fill, otmp)
        k = 0
        while k < n:  # pairs tied in y
            e = k + 1
            while e < n and y[o[e]] == y[o[k]]:
                e += 1
            ytie += (e - k) * (e - k - 1) // 2
            k = e
        for k in range(n):  # q: the rank of y, listed in the reference order
            q[xp[o[k]]] = k
        dis = _inversions(q, tree, bits)
        ntie = 0
        p = perm[x_row]
        for g in range(goff[x_row], goff[x_row + 1]):
            s, e = gstart[g], gend[g]
            seg = np.empty(e - s)
            for k in range(s, e):
                seg[k - s] = y[p[k]]
            dis -= _sort_count(seg, tmp[: e - s])  # pairs tied in x are neither concordant nor discordant
            ntie += _tied_pairs(seg)
        xt = xtie[x_row]
        if n < 2 or xt == tot or ytie == tot:
            out[r] = np.nan
            continue
        cmd = tot - xt - ytie + ntie - 2 * dis
        tau = cmd / np.sqrt(float(tot - xt)) / np.sqrt(float(tot - ytie))
        out[r] = min(1.0, max(-1.0, tau))


@njit(cache=True, nogil=True)
def _tie_runs(x, perm, gstart, gend):
    """Runs of equal values of ``x`` in its sorted order ``perm``: their [start, end) positions
    into ``gstart``/``gend``; returns (how many runs, pairs tied within them)."""
    n = x.shape[0]
    ng = 0
    xt = 0
    k = 0
    while k < n:
        e = k + 1
        while e < n and x[perm[e]] == x[perm[k]]:
            e += 1
        if e - k > 1:
            gstart[ng] = k
            gend[ng] = e
            ng += 1
            xt += (e - k) * (e - k - 1) // 2
        k = e
    return ng, xt


@njit(cache=True, nogil=True)
def _tau_pair(x, y):
    """tau-b of one pair of finite rows, reference and row prepared inside one compiled call."""
    n = x.shape[0]
    perm = np.argsort(x, kind="mergesort")
    xpos = np.empty(n, np.int64)
    for k in range(n):
        xpos[perm[k]] = k
    gstart = np.empty(n // 2 + 1, np.int64)
    gend = np.empty(n // 2 + 1, np.int64)
    ng, xt = _tie_runs(x, perm, gstart, gend)
    goff = np.array([0, ng], np.int64)
    xtie = np.array([xt], np.int64)
    out = np.empty(1)
    _tau_rows(
        perm.reshape(1, n),
        xpos.reshape(1, n),
        gstart,
        gend,
        goff,
        xtie,
        y.reshape(1, n),
        out,
    )
    return out[0]


def kendall_tau_pair(x, y) -> float:
    """Kendall tau-b of two finite 1-D float64 arrays of one length (>= 2); NaN where one is constant."""
    return float(
        _tau_pair(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64))
    )


class TauReference:
    """The sorted order and tie runs of a batch of reference rows, reused for every row scored
    against them (``x``: shape (n,) or (rows, n))."""

    def __init__(self, x):
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim == 1:
            xa = xa[None, :]
        if xa.ndim != 2:
            raise ValueError(f"reference rows must be 1-D or 2-D, got shape {xa.shape}")
        self.n = xa.shape[1]
        self.perm = np.ascontiguousarray(np.argsort(xa, axis=1, kind="stable"), dtype=np.int64)
        self.xpos = np.empty_like(self.perm)
        np.put_along_axis(self.xpos, self.perm, np.arange(self.n)[None, :], axis=1)
        starts, ends, offsets, ties = [], [], [0], []
        gs, ge = np.empty(self.n // 2 + 1, np.int64), np.empty(self.n // 2 + 1, np.int64)
        for row, perm in zip(xa, self.perm, strict=True):
            ng, xt = _tie_runs(row, perm, gs, ge)
            starts.append(gs[:ng].copy())
            ends.append(ge[:ng].copy())
            offsets.append(offsets[-1] + ng)
            ties.append(xt)
        self.gstart = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self.gend = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        self.goff = np.asarray(offsets, dtype=np.int64)
        self.xtie = np.asarray(ties, dtype=np.int64)

    @property
    def rows(self) -> int:
        return self.perm.shape[0]

    def tau(self, y) -> np.ndarray:
        """Kendall tau-b of each row of ``y`` with its reference row (NaN where a side is constant)."""
        ya = np.asarray(y, dtype=np.float64)
        if ya.ndim == 1:
            ya = ya[None, :]
        if ya.ndim != 2 or ya.shape[1] != self.n or self.rows not in (1, ya.shape[0]):
            raise ValueError(f"rows of shape {ya.shape} do not fit {self.rows} reference row(s) of {self.n}")
        if not np.isfinite(ya).all():
            raise ValueError("Kendall tau rows must be finite")
        ya = np.ascontiguousarray(ya)
        out = np.empty(ya.shape[0])
        _tau_rows(self.perm, self.xpos, self.gstart, self.gend, self.goff, self.xtie, ya, out)
        return out


def kendall_tau_rows(x, y) -> np.ndarray:
    """Kendall tau-b of each row of ``y`` with ``x`` (one row, or one per row of ``y``)."""
    return TauReference(x).tau(y)
