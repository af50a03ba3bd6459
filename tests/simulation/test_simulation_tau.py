"""The batched Kendall tau equals scipy's tau-b exactly (same float), ties and edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hwpred.kendall import TauReference, kendall_tau_pair
from hwpred.simulation import kendall_tau_rows


def _scipy(x, y) -> float:
    if len(x) < 2:
        return float("nan")
    return float(stats.kendalltau(x, y, variant="b").statistic)


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


@pytest.mark.parametrize("seed", range(6))
def test_equals_scipy_on_random_rows_with_ties(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 300))
        levels = int(rng.integers(1, 12))
        x = rng.integers(0, levels, n).astype(float) if rng.random() < 0.5 else rng.normal(size=n)
        y = np.vstack(
            [
                x + rng.normal(0, rng.uniform(0.01, 2), n),
                rng.integers(0, int(rng.integers(1, 6)), n).astype(float),
                np.round(x + rng.normal(0, 0.5, n), 1),
                -x,
                x,
            ]
        )
        got = kendall_tau_rows(x, y)
        for i in range(len(y)):
            assert _same(got[i], _scipy(x, y[i])), (n, i)


def test_one_reference_row_per_row_and_reuse():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 2000))
    x[:, ::7] = 0.25  # a long run of ties in every reference row
    y = x + rng.normal(0, 0.3, x.shape)
    ref = TauReference(x)
    got = ref.tau(y)
    assert [got[i] for i in range(5)] == [_scipy(x[i], y[i]) for i in range(5)]
    assert np.array_equal(ref.tau(y), got)  # the reference's sort is reused, not consumed


def test_constant_and_tiny_rows_are_nan_like_scipy():
    x = np.arange(5.0)
    got = kendall_tau_rows(x, np.vstack([np.full(5, 3.0), x]))
    assert np.isnan(got[0]) and got[1] == _scipy(x, x)  # 10 / sqrt(10) / sqrt(10): 1 - 1 ulp, as scipy
    assert np.isnan(kendall_tau_rows(np.full(4, 1.0), np.arange(4.0)[None, :])[0])
    assert np.isnan(kendall_tau_rows([1.0], [[2.0]])[0])
    assert kendall_tau_rows([1.0, 2.0], [[2.0, 1.0]])[0] == -1.0


def test_large_row_with_repeated_noise_equals_scipy():
    """The grid's case: 15,625 values, noise drawn 15 times fewer than needed and repeated."""
    rng = np.random.default_rng(3)
    x = np.round(rng.gamma(2.0, 1.0, 15625), 2)  # a metric with ties, like a measured table
    noise = np.repeat(rng.normal(0, 0.5, 15625 // 15 + 1), 15)[:15625]
    rng.shuffle(noise)
    y = np.vstack([x + noise, x + 0.01 * noise])
    got = kendall_tau_rows(x, y)
    assert got[0] == _scipy(x, y[0]) and got[1] == _scipy(x, y[1])


def test_one_pair_function_equals_scipy():
    rng = np.random.default_rng(11)
    for n in (2, 3, 40, 625, 2500):
        x = np.round(rng.normal(size=n), 1)
        rows = [
            x + rng.normal(0, 0.3, n),
            np.round(x + rng.normal(0, 0.3, n), 1),
            -x,
            rng.choice([-0.0, 0.0], n),
            x,
        ]
        for y in rows:
            assert _same(kendall_tau_pair(x, y), _scipy(x, y))
            assert _same(kendall_tau_pair(x, y), kendall_tau_rows(x, y[None, :])[0])


def test_bad_shapes_and_values_are_refused():
    ref = TauReference(np.arange(4.0))
    with pytest.raises(ValueError, match="do not fit"):
        ref.tau(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="finite"):
        ref.tau([[0.0, np.nan, 1.0, 2.0]])
    with pytest.raises(ValueError, match="do not fit"):
        TauReference(np.zeros((2, 4))).tau(np.zeros((3, 4)))


def test_rows_that_crowd_or_defeat_the_value_buckets_equal_scipy():
    """Rows are ordered by a bucket sort over their value range: heavy tails (most values in a
    few buckets, sorted again or merge-sorted), ranges too small or too large to divide, long
    runs of equal values and signed zeros must all give scipy's value."""
    rng = np.random.default_rng(13)
    n = 3000
    x = rng.normal(size=n)
    tiny = 1.0 + np.arange(n) * np.finfo(float).eps  # values a few ulps apart
    rows = [
        x + rng.standard_cauchy(n) * 0.1,  # heavy tails: a crowded bulk
        np.where(rng.random(n) < 0.01, 1e6, 0.0) + x,  # a few huge outliers
        rng.permutation(tiny),
        np.where(rng.random(n) < 0.5, -1e300, 1e300) * rng.random(n),  # a range that overflows
        np.repeat(rng.normal(size=n // 100), 100),  # runs of 100 equal values
        rng.choice([-0.0, 0.0, 1.0], n),
        x**9,
    ]
    got = kendall_tau_rows(x, np.vstack(rows))
    for i, y in enumerate(rows):
        assert _same(got[i], _scipy(x, y)), i
