import numpy as np
import pytest
from scipy import stats

from hwpred.metrics import all_metrics, kendall_tau, monotonicity, pearson, rmse, spearman


def test_perfect_and_reversed():
    y = np.arange(10.0)
    assert kendall_tau(y, y) == pytest.approx(1.0)
    assert kendall_tau(y, -y) == pytest.approx(-1.0)
    assert spearman(y, y**3) == pytest.approx(1.0)
    assert pearson(y, 2 * y + 1) == pytest.approx(1.0)
    assert rmse(y, y + 2) == pytest.approx(2.0)


def test_tau_b_is_scipys_float_with_ties_and_nan():
    rng = np.random.default_rng(0)
    for n in (2, 3, 17, 200, 625, 2500):  # 2500: the long-row (radix) path
        a, b = rng.integers(0, 5, n), rng.integers(0, 5, n)
        c = rng.normal(size=n)
        for x, y in ((a, b), (a, c), (c, c + rng.normal(0, 0.5, n)), (c, -c)):
            assert kendall_tau(x, y) == float(stats.kendalltau(x, y, variant="b").statistic)
            assert all_metrics(x, y)["kendall_tau"] == kendall_tau(x, y)
    assert np.isnan(kendall_tau([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]))  # scipy's NaN policy
    assert np.isnan(kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_monotonicity_counts_ties_as_zero():
    y = np.arange(4.0)
    assert monotonicity(y, y) == pytest.approx(1.0)
    # a constant predictor has no concordant pair: 0, where tau-b is undefined
    assert monotonicity(y, np.zeros(4)) == 0.0
    # one tie among 6 pairs: 5 concordant / 6 pairs
    assert monotonicity(y, np.array([0.0, 0.0, 1.0, 2.0])) == pytest.approx(5 / 6)
    assert monotonicity(y, -y) == pytest.approx(1.0)  # absolute value


def test_monotonicity_equals_tau_a_without_ties():
    rng = np.random.default_rng(1)
    a, b = rng.random(300), rng.random(300)
    assert monotonicity(a, b) == pytest.approx(abs(stats.kendalltau(a, b).statistic))


def test_degenerate_inputs():
    assert np.isnan(spearman([1.0, 1.0], [1.0, 2.0]))
    with pytest.raises(ValueError, match="differ in length"):
        kendall_tau([1, 2], [1, 2, 3])
    assert set(all_metrics([1, 2, 3], [1, 3, 2])) == {
        "kendall_tau",
        "spearman",
        "pearson",
        "rmse",
        "monotonicity",
    }
