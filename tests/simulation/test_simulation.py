"""Selection core and noise model against a plain reference implementation.

The reference: pymoo's non-dominated sorting for the fronts, pymoo's hypervolume indicator,
and explicit loops for MRA and the hardware gap, written straight from the definitions.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from hwpred.errors import ConfigError
from hwpred.simulation import (
    NoiseModel,
    TrueFront,
    hypervolume,
    pareto_mask,
    reference_metric,
    simulate_selection,
)
from hwpred.simulation.noise import rng_for


# --------------------------------------------------------------------------------------------
# reference implementation
# --------------------------------------------------------------------------------------------
def ref_front(acc: np.ndarray, hw: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (accuracy max, metric min) by pymoo."""
    if len(acc) == 1:
        return np.array([0])
    F = np.column_stack([-acc, hw])
    return np.sort(NonDominatedSorting().do(F, only_non_dominated_front=True))


def ref_hv(acc: np.ndarray, hw: np.ndarray, ref_hw: float) -> float:
    if len(acc) == 0:
        return 0.0
    return float(HV(ref_point=np.array([0.0, ref_hw]))(np.column_stack([-acc, hw])))


def ref_evaluate(sel_idx, acc, hw, ref_hw):
    """MRA_all, MRA_pareto, hw gaps and hypervolumes by explicit loops over the definitions."""
    front = ref_front(acc, hw)
    acc_gap, hw_gap = {}, {}
    for s in sel_idx:
        dominating = [f for f in front if acc[f] >= acc[s] and hw[f] <= hw[s]]
        assert dominating, "every point is weakly dominated by a front member"
        best_acc = max(dominating, key=lambda f: acc[f])
        acc_gap[s] = acc[best_acc] - acc[s]
        lowest_hw = min(dominating, key=lambda f: hw[f])
        hw_gap[s] = hw[s] - hw[lowest_hw]
    sel_idx = np.asarray(sel_idx)
    verified = sel_idx[ref_front(acc[sel_idx], hw[sel_idx])]
    hv_sel = ref_hv(acc[sel_idx], hw[sel_idx], ref_hw)
    hv_true = ref_hv(acc[front], hw[front], ref_hw)
    return {
        "mra_all": float(np.mean([acc_gap[s] for s in sel_idx])),
        "mra_pareto": float(np.mean([acc_gap[s] for s in verified])),
        "hw_gap_all": float(np.mean([hw_gap[s] for s in sel_idx])),
        "hw_gap_pareto": float(np.mean([hw_gap[s] for s in verified])),
        "hv": hv_sel,
        "hv_true": hv_true,
        "n_verified": len(verified),
        "n_front": len(front),
    }


def check_equal(sel_acc, sel_hw, acc, hw, ref_hw=None):
    """Fast (batched) selection and evaluation == reference, row by row."""
    sel_acc, sel_hw, acc, hw = map(np.atleast_2d, (sel_acc, sel_hw, acc, hw))
    selected, met = simulate_selection(sel_acc, sel_hw, acc, hw, ref_hw=ref_hw)
    front = TrueFront(acc, hw, ref_hw=ref_hw)
    for i in range(acc.shape[0]):
        ref_sel = ref_front(sel_acc[i], sel_hw[i])
        assert np.array_equal(np.flatnonzero(selected[i]), ref_sel)
        r_hw = front.ref_hw[i]
        want = ref_evaluate(ref_sel, acc[i], hw[i], r_hw)
        for key in ("mra_all", "mra_pareto", "hw_gap_all", "hw_gap_pareto", "hv", "hv_true"):
            got = getattr(met, key)[i]
            assert got == pytest.approx(want[key], rel=1e-12, abs=1e-12), (key, i)
        assert met.n_verified[i] == want["n_verified"]
        assert met.n_front[i] == want["n_front"]
        assert met.n_selected[i] == len(ref_sel)
        expected_frac = want["hv"] / want["hv_true"] if want["hv_true"] > 0 else np.nan
        np.testing.assert_allclose(met.hv_fraction[i], expected_frac, rtol=1e-12, equal_nan=True)
    if np.array_equal(sel_acc, acc):
        # the grid's linear path (metric listed by accuracy, compact selection) gives the same
        fast_sel = front.select_sorted(front.order.sweep.sort(sel_hw))
        mask = np.zeros(acc.shape, dtype=bool)
        mask[fast_sel.rows, fast_sel.cols] = True
        assert np.array_equal(front.order.sweep.unsort(mask), selected)
        fast = front.evaluate_compact(fast_sel)
        for key in ("mra_all", "mra_pareto", "hw_gap_all", "hw_gap_pareto", "hv", "hv_true", "n_verified"):
            np.testing.assert_array_equal(getattr(fast, key), getattr(met, key))
    return selected, met


# --------------------------------------------------------------------------------------------
# Pareto mask
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["continuous", "ties", "duplicates"])
def test_pareto_mask_equals_pymoo(kind):
    rng = np.random.default_rng(11)
    for _ in range(150):
        n = int(rng.integers(1, 60))
        if kind == "continuous":
            a, m = rng.random(n), rng.normal(size=n)
        elif kind == "ties":
            a, m = rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)
        else:
            base_a, base_m = rng.random(max(1, n // 3)), rng.random(max(1, n // 3))
            pick = rng.integers(0, len(base_a), n)
            a, m = base_a[pick], base_m[pick]
        assert np.array_equal(np.flatnonzero(pareto_mask(a, m)), ref_front(a, m))


def test_pareto_mask_batched_equals_rows():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, (40, 30)).astype(float)
    m = rng.integers(0, 6, (40, 30)).astype(float)
    batch = pareto_mask(a, m)
    for i in range(40):
        assert np.array_equal(batch[i], pareto_mask(a[i], m[i]))


def test_pareto_mask_hand_case():
    # (acc, metric): B dominates C (same metric, higher accuracy); A and D are duplicates on the front
    acc = np.array([0.9, 0.8, 0.7, 0.9, 0.95])
    hw = np.array([1.0, 0.5, 0.5, 1.0, 2.0])
    assert pareto_mask(acc, hw).tolist() == [True, True, False, True, True]


# --------------------------------------------------------------------------------------------
# MRA / hypervolume equality on random and adversarial cases
# --------------------------------------------------------------------------------------------
def _noisy(rng, acc, hw, std):
    return acc, hw + std * rng.normal(size=hw.shape)


def test_random_cases_equal_reference():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(2, 80))
        acc, hw = rng.uniform(0.1, 0.95, n), rng.normal(size=n)
        check_equal(*_noisy(rng, acc, hw, rng.uniform(0, 1.5)), acc, hw)


def test_batched_random_equal_reference():
    rng = np.random.default_rng(1)
    acc, hw = rng.uniform(0.1, 0.95, (25, 50)), rng.normal(size=(25, 50))
    check_equal(acc, hw + 0.7 * rng.normal(size=hw.shape), acc, hw)


def test_ties_in_accuracy_and_metric_equal_reference():
    rng = np.random.default_rng(2)
    for _ in range(80):
        n = int(rng.integers(2, 40))
        acc = rng.integers(1, 5, n) / 5.0
        hw = rng.integers(1, 5, n).astype(float)  # positive, like latency
        sel_hw = hw + rng.integers(-1, 2, n)  # noisy values with ties of their own
        sel_acc = acc if rng.random() < 0.5 else rng.integers(1, 5, n) / 5.0
        check_equal(sel_acc, sel_hw, acc, hw)


def test_duplicate_points_equal_reference():
    rng = np.random.default_rng(4)
    for _ in range(40):
        k = int(rng.integers(1, 8))
        base_acc, base_hw = rng.uniform(0.2, 0.9, k), rng.uniform(1, 5, k)
        pick = rng.integers(0, k, int(rng.integers(2, 30)))
        acc, hw = base_acc[pick], base_hw[pick]
        check_equal(acc, hw + rng.normal(size=len(hw)) * 0.5, acc, hw)
        check_equal(acc, hw, acc, hw)


def test_subset_size_one():
    acc, hw = np.array([0.7]), np.array([-0.3])
    selected, met = check_equal(acc, hw + 0.4, acc, hw)
    assert selected.tolist() == [[True]]
    assert met.mra_all[0] == 0.0 and met.mra_pareto[0] == 0.0
    assert met.hv_fraction[0] == 1.0


def test_selection_equal_to_true_front_gives_zero_loss():
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(1, 100))
        acc = np.round(rng.uniform(0.1, 0.9, n), 2)  # rounded: ties included
        hw = np.round(rng.normal(size=n), 1)
        selected, met = check_equal(acc, hw, acc, hw)
        assert np.array_equal(selected[0], TrueFront(acc, hw).front)
        assert met.mra_all[0] == 0.0 and met.mra_pareto[0] == 0.0
        assert met.hw_gap_all[0] == 0.0
        assert met.hv[0] == met.hv_true[0]  # exactly, not approximately
        assert met.n_verified[0] == met.n_front[0] == met.n_selected[0]


def test_noise_on_every_point_of_a_perfectly_ordered_front():
    # every point on the true front (acc and metric both increasing): any selection loses nothing
    acc = np.linspace(0.5, 0.9, 20)
    hw = np.linspace(-1, 1, 20)
    rng = np.random.default_rng(6)
    _, met = check_equal(acc, hw + rng.normal(size=20), acc, hw)
    assert met.mra_all[0] == 0.0


def test_hypervolume_known_value():
    # staircase (acc 0.5 at metric 1, acc 0.8 at metric 2), reference metric 3:
    # 0.5 * (2 - 1) + 0.8 * (3 - 2) = 1.3
    assert hypervolume([0.5, 0.8], [1.0, 2.0], 3.0) == pytest.approx(1.3)
    assert hypervolume([0.5, 0.8], [1.0, 4.0], 3.0) == pytest.approx(1.0)  # beyond the reference: nothing
    assert hypervolume([0.5, 0.8, 0.9], [1.0, 2.0, 2.5], 3.0, mask=[True, True, False]) == pytest.approx(1.3)
    assert reference_metric(2.0) == pytest.approx(2.2)
    assert reference_metric(-2.0) == pytest.approx(-1.8)


def test_separate_selection_and_evaluation_values():
    # a proxy that ranks accuracy backwards selects the worst architectures; evaluation uses truth
    acc = np.array([0.9, 0.5, 0.7])
    hw = np.array([1.0, 1.0, 1.0])
    proxy = -acc
    selected, met = simulate_selection(proxy, hw, acc, hw)
    assert selected.tolist() == [False, True, False]
    assert met.mra_all == pytest.approx(0.4)


# --------------------------------------------------------------------------------------------
# noise model
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("std", [0.1, 0.5, 1.0, 2.5])
def test_noise_std_after_scaling(std):
    x = NoiseModel().sample(15625, std, np.random.default_rng(0))
    assert np.std(x) == pytest.approx(std, rel=1e-12)
    assert np.mean(x) == pytest.approx(0.0, abs=1e-12)


def test_noise_zero_std_is_exactly_zero():
    x = NoiseModel().sample(500, 0.0, np.random.default_rng(0))
    assert np.array_equal(x, np.zeros(500))


def test_noise_is_repeated_fifteen_times():
    x = NoiseModel().sample(150, 0.5, np.random.default_rng(1))
    values, counts = np.unique(x, return_counts=True)
    assert len(values) == 10 and set(counts.tolist()) == {15}
    y = NoiseModel().sample(151, 0.5, np.random.default_rng(1))
    _, counts = np.unique(y, return_counts=True)
    assert len(counts) == 11 and counts.max() == 15 and counts.sum() == 151
    # repeats are spread over the vector, not in runs of 15 neighbours
    assert np.mean(x[1:] == x[:-1]) < 0.5
    z = NoiseModel(repeat=1).sample(300, 1.0, np.random.default_rng(1))
    assert len(np.unique(z)) == 300


def test_noise_degenerate_sizes_give_zero():
    # up to 15 values share one draw: a constant shift, which cannot change a ranking
    assert np.array_equal(NoiseModel().sample(15, 1.0, np.random.default_rng(0)), np.zeros(15))
    assert np.array_equal(NoiseModel().sample(1, 1.0, np.random.default_rng(0)), np.zeros(1))


def test_noise_seeding():
    a = NoiseModel().sample(1000, 0.3, rng_for(7, "pair", 3))
    b = NoiseModel().sample(1000, 0.3, rng_for(7, "pair", 3))
    c = NoiseModel().sample(1000, 0.3, rng_for(8, "pair", 3))
    d = NoiseModel().sample(1000, 0.3, rng_for(7, "pair", 4))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_one_draw_serves_every_noise_level():
    """A trial's levels share its predictor's random parts; each level still has the exact std."""
    fixed = NoiseModel().draw(1000, np.random.default_rng(3))
    a, b = fixed.at(0.3), fixed.at(0.9)
    assert np.allclose(b, 3 * a) and np.std(b) == pytest.approx(0.9, rel=1e-12)
    assert np.array_equal(NoiseModel().sample(1000, 0.3, np.random.default_rng(3)), a)
    seed = NoiseModel(variant="seed-code").draw(1000, np.random.default_rng(3))
    lo, hi = seed.at(0.1), seed.at(1.0)
    # the shift grows with the std, so the shape changes, but the repeats sit on the same places
    assert not np.allclose(hi, 10 * lo) and np.std(lo) == pytest.approx(0.1, rel=1e-12)
    assert np.array_equal(hi, fixed.at(1.0))  # at std 1 the two variants' shift ranges agree
    same = [np.flatnonzero(x == x[0]) for x in (lo, hi)]
    assert np.array_equal(same[0], same[1]) and len(same[0]) >= 1
    assert np.array_equal(seed.at(0.0), np.zeros(1000))


def test_noise_mixture_components():
    rng = np.random.default_rng(0)
    uni = NoiseModel(weights=(0.0, 0.0, 1.0), repeat=1).raw(20000, rng)
    assert uni.min() >= -15 and uni.max() <= 15 and abs(uni.std() - 30 / np.sqrt(12)) < 0.3
    shifts = [
        NoiseModel(weights=(1.0, 0.0, 0.0), repeat=1).raw(4000, np.random.default_rng(s)).mean()
        for s in range(40)
    ]
    assert 0 <= min(shifts) and max(shifts) <= 2.1  # N(c, v) with c ~ U(0, 2v)
    wide = NoiseModel(weights=(0.0, 1.0, 0.0), repeat=1).raw(20000, rng)
    assert wide.std() == pytest.approx(3.0, rel=0.05) and wide.mean() <= 0.1
    # the default mixture: 1% uniform outliers, a third of them beyond |10| (plus a thin normal tail)
    x = NoiseModel(repeat=1).raw(200000, np.random.default_rng(2))
    assert 0.0025 < np.mean(np.abs(x) > 10) < 0.006


def test_negative_noise_std_is_an_error():
    with pytest.raises(ConfigError, match="noise std"):
        NoiseModel().sample(10, -0.1, np.random.default_rng(0))
    with pytest.raises(ConfigError):
        NoiseModel(weights=(0.5, 0.5, 0.5))


def test_shared_subset_broadcast_equals_per_row():
    # every trial on the same architectures (the whole space): one sorted row serves all trials
    rng = np.random.default_rng(9)
    acc = np.round(rng.uniform(0.2, 0.9, 300), 2)
    hw = np.round(rng.normal(size=300), 1)
    noisy = hw + rng.normal(size=(12, 300))
    one = TrueFront(acc[None, :], hw[None, :])
    many = TrueFront(np.tile(acc, (12, 1)), np.tile(hw, (12, 1)))
    sel_one = one.order.select(noisy)
    a, b = one.evaluate_sorted(sel_one), many.evaluate(pareto_mask(np.tile(acc, (12, 1)), noisy))
    for key in (
        "mra_all",
        "mra_pareto",
        "hw_gap_all",
        "hw_gap_pareto",
        "hv",
        "hv_true",
        "n_verified",
        "n_front",
    ):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    for i in range(12):
        want = ref_evaluate(ref_front(acc, noisy[i]), acc, hw, one.ref_hw[0])
        assert a.mra_all[i] == pytest.approx(want["mra_all"], abs=1e-12)
        assert a.hv[i] == pytest.approx(want["hv"], rel=1e-12)


@pytest.mark.parametrize("n", [250, 2000, 15625])
def test_blocked_linear_selection_equals_pareto_mask(n):
    # many blocks, heavy ties in accuracy and in the noisy metric (whole-ms phone latencies)
    rng = np.random.default_rng(n)
    acc = rng.integers(0, 60, n) / 60
    hw = rng.integers(0, 40, n).astype(float)
    noisy = hw + rng.integers(-3, 4, (5, n))
    front = TrueFront(acc[None, :], hw[None, :])
    sel = front.select_sorted(front.order.sweep.sort(noisy))
    mask = np.zeros((5, n), dtype=bool)
    mask[sel.rows, sel.cols] = True
    got = front.order.sweep.unsort(mask)
    for i in range(5):
        assert np.array_equal(np.flatnonzero(got[i]), ref_front(acc, noisy[i]))
