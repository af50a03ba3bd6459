"""The compiled one-selection path gives the batched path's numbers, field by field, exactly."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from hwpred.simulation import SelectionMetrics, TrueFront, pareto_mask, simulate_selection
from hwpred.simulation.single import simulate_one


def _cases(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for t in range(count):
        n = int(rng.integers(1, 150))
        if t % 3 == 0:  # heavy ties and duplicate points
            acc, hw = rng.integers(0, 8, n) / 10, rng.integers(0, 6, n).astype(float)
        else:
            acc, hw = rng.uniform(0, 1, n), rng.normal(size=n)
        sel_acc = acc if t % 2 else acc + rng.normal(0, 0.05, n)
        sel_hw = np.round(hw + rng.normal(0, 0.5, n), 1) if t % 4 == 0 else hw + rng.normal(0, 0.5, n)
        yield sel_acc, sel_hw, acc, hw, (None if t % 5 else 3.0)


@pytest.mark.parametrize("seed", range(3))
def test_one_selection_equals_the_batched_path(seed):
    for sel_acc, sel_hw, acc, hw, ref in _cases(seed, 300):
        front = TrueFront(acc, hw, ref)
        mask = pareto_mask(sel_acc, sel_hw)
        want = front.evaluate(mask)
        got_mask, got = simulate_one(sel_acc, sel_hw, acc, hw, ref)
        assert np.array_equal(mask, got_mask)
        for f in fields(SelectionMetrics):
            a, b = getattr(want, f.name), getattr(got, f.name)
            assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), f.name


def test_simulate_selection_takes_the_compiled_path_for_1d_and_the_batch_for_2d():
    rng = np.random.default_rng(1)
    acc, hw = rng.uniform(0.5, 0.9, 100), rng.normal(size=100)
    noisy = hw + rng.normal(0, 0.3, 100)
    mask, one = simulate_selection(acc, noisy, acc, hw)
    masks, batch = simulate_selection(acc[None, :], noisy[None, :], acc[None, :], hw[None, :])
    assert np.array_equal(mask, masks[0])
    for f in fields(SelectionMetrics):
        assert np.array_equal(getattr(one, f.name), getattr(batch, f.name), equal_nan=True)
    with pytest.raises(ValueError, match="four 1-D arrays of one length"):
        simulate_one(acc, noisy[:50], acc, hw)
