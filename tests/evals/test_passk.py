"""The τ-bench pass^k estimator."""

import pytest

from evals.passk import curve, pass_hat_k


def test_pass_hat_k_is_the_unbiased_estimator():
    assert pass_hat_k(4, 4, 4) == 1.0
    assert pass_hat_k(4, 3, 4) == 0.0
    assert pass_hat_k(4, 3, 1) == 0.75
    assert pass_hat_k(4, 3, 2) == pytest.approx(3 / 6)  # C(3,2)/C(4,2)
    assert pass_hat_k(8, 6, 3) == pytest.approx(20 / 56)
    assert pass_hat_k(5, 0, 1) == 0.0


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, -1, 1), (3, 2, 0), (3, 2, 4)])
def test_invalid_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_hat_k(n, c, k)


def test_curve_averages_scenarios_and_never_rises():
    points = curve([(4, 4), (4, 2), (4, 0)], 4)
    assert points[1] == pytest.approx((1 + 0.5 + 0) / 3)
    assert points[2] == pytest.approx((1 + 1 / 6) / 3)
    assert points[4] == pytest.approx(1 / 3)
    assert list(points.values()) == sorted(points.values(), reverse=True)
    assert curve([], 3) == {}
    assert curve([(1, 1), (3, 0)], 3) == {1: 0.5, 2: 0.0, 3: 0.0}
