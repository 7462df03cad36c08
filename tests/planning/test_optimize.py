from __future__ import annotations

import numpy as np
import pytest

from interestlab.planning.optimize import (
    assign_channels,
    dual_value,
    lagrangian_bound,
    lp_bound,
    propose,
    structured_dual_bound,
)

INF = np.inf


def test_priced_assignment_beats_greedy_and_meets_the_lp_bound() -> None:
    # Greedy by value gives customer 0 the letter (10) and customer 1 the phone (1): 11.
    net = np.array([[10.0, 9.0], [9.5, 1.0]])
    caps = np.array([1, 5])
    assert propose(net, caps, np.zeros(2)).tolist() == [0, 1]
    result = assign_channels(net, caps, lp_max_variables=100, dual_iterations=10)
    assert result.channel.tolist() == [1, 0]
    assert result.value == pytest.approx(18.5)
    assert result.upper_bound == pytest.approx(18.5)
    assert result.bound_method == "lp"
    assert result.gap == pytest.approx(0.0)


def test_lagrangian_bound_is_valid_and_close_to_the_lp() -> None:
    rng = np.random.default_rng(7)
    net = rng.normal(5, 5, size=(400, 4))
    net[rng.random(net.shape) < 0.3] = -INF
    caps = np.array([10, 50, 5, 1000])
    lp, _ = lp_bound(net, caps)
    dual, prices = lagrangian_bound(net, caps, iterations=30)
    assert dual >= lp - 1e-6
    assert dual == pytest.approx(dual_value(net, caps, prices))
    assert (dual - lp) / lp < 1e-3
    large = assign_channels(net, caps, lp_max_variables=0, dual_iterations=30)
    assert large.bound_method == "lagrangian"
    assert large.upper_bound >= lp - 1e-6 >= large.value - 1e-6


def test_capacities_and_one_channel_per_customer_hold() -> None:
    rng = np.random.default_rng(3)
    net = rng.normal(2, 3, size=(200, 3))
    caps = np.array([5, 0, 20])
    result = assign_channels(net, caps, lp_max_variables=10_000, dual_iterations=10)
    used = np.bincount(result.channel[result.channel >= 0], minlength=3)
    assert (used <= caps).all()
    assert used[1] == 0
    chosen = result.channel >= 0
    assert (net[np.flatnonzero(chosen), result.channel[chosen]] > 0).all()


def test_ties_go_to_the_lower_customer_then_the_lower_channel() -> None:
    net = np.array([[5.0, 5.0], [5.0, 5.0], [5.0, 5.0]])
    result = assign_channels(net, np.array([1, 1]), lp_max_variables=100, dual_iterations=5)
    assert result.channel.tolist() == [0, 1, -1]


def test_nothing_worth_doing() -> None:
    net = np.array([[-1.0, -INF]])
    result = assign_channels(net, np.array([3, 3]), lp_max_variables=100, dual_iterations=5)
    assert result.channel.tolist() == [-1]
    assert (result.value, result.upper_bound, result.gap) == (0.0, 0.0, 0.0)
    empty = assign_channels(
        np.zeros((0, 2)), np.array([1, 1]), lp_max_variables=0, dual_iterations=5
    )
    assert empty.channel.size == 0


@pytest.mark.parametrize(
    ("net", "caps", "match"),
    [
        (np.zeros((2, 2)), np.array([1]), r"`net` must be \(customers x channels\)"),
        (np.zeros((2, 2)), np.array([1, -1]), r"`capacities` must be >= 0"),
        (np.array([[np.nan, 1.0]]), np.array([1, 1]), r"`net` must not hold NaN"),
    ],
)
def test_invalid_inputs(net: np.ndarray, caps: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        assign_channels(net, caps, lp_max_variables=10, dual_iterations=1)


def test_structured_dual_bound_meets_the_full_lp() -> None:
    rng = np.random.default_rng(11)
    costs = np.array([12.0, 5.0, 0.05, 0.02, 1.2, 6.0])
    gross = rng.lognormal(2, 1.5, 600)
    allowed = np.ones((600, 6), dtype=bool)
    allowed[:, 2] = rng.random(600) < 0.4
    allowed[:, 3] = rng.random(600) < 0.5
    caps = np.array([5, 20, 1000, 1000, 60, 10])
    net = np.where(allowed, gross[:, None] - costs[None, :], -INF)
    lp, _ = lp_bound(net, caps)
    bound, prices = structured_dual_bound(gross, allowed, costs, caps, iterations=300)
    assert bound == pytest.approx(lp, rel=1e-7)
    assert dual_value(net, caps, prices) == pytest.approx(bound, rel=1e-9)
    result = assign_channels(net, caps, gross=gross, costs=costs, dual_iterations=300)
    assert result.bound_method == "dual_cutting_plane"
    assert lp - 1e-6 <= result.upper_bound
    assert result.gap < 1e-6
