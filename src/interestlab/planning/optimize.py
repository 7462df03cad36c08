"""Choose a channel per customer under channel capacities, and bound the optimum.

After eligibility each customer has one best product (its value does not depend on the
channel), so the plan is a transportation problem: customer i on channel c is worth
`net[i, c] = propensity x product value - cost[c]` (-inf where the channel is not allowed),
each customer gets at most one channel (the cap leaves room for one contact or none) and
channel c takes at most `capacity[c]` customers.

The primal is a deterministic proposal algorithm: every open customer proposes to the channel
with the best *priced* value `net - price[c]`, a channel keeps its best proposals by net value
(ties: lower customer index, i.e. customer id order) up to its capacity and closes when full;
rejected customers propose again to the remaining channels. Prices come from the dual: for the
planner's structure (`net = gross - cost` on allowed channels) `structured_dual_bound` finds the
LP optimum at any size with cutting planes over the channel prices; for an arbitrary matrix,
the full LP relaxation (HiGHS) for small problems, a Lagrangian bound for large ones. Any price
vector gives a valid upper bound

    D(price) = sum_i max(0, max_c net[i, c] - price[c]) + sum_c price[c] * capacity[c]

so the reported gap `upper_bound - value` is always a true bound on the lost value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog


@dataclass(frozen=True)
class Assignment:
    """Result of `assign_channels`.

    Attributes
    ----------
    channel : per customer row, the chosen channel index or -1 for no contact.
    value : total net value of the assignment.
    upper_bound : a proven upper bound on the best achievable value (LP relaxation).
    bound_method : "lp" (exact LP relaxation) or "lagrangian" (dual bound).
    prices : dual price per channel used to steer the assignment.
    """

    channel: np.ndarray
    value: float
    upper_bound: float
    bound_method: str
    prices: np.ndarray

    @property
    def gap(self) -> float:
        """Relative optimality gap `(upper_bound - value) / upper_bound` (0 when both are 0)."""
        if self.upper_bound <= 0:
            return 0.0
        return max(0.0, (self.upper_bound - self.value) / self.upper_bound)


def _validate(net: np.ndarray, capacities: np.ndarray) -> None:
    if net.ndim != 2 or capacities.ndim != 1 or net.shape[1] != capacities.shape[0]:
        msg = (
            "`net` must be (customers x channels) and `capacities` one value per channel;"
            f" found shapes {net.shape} and {capacities.shape}"
        )
        raise ValueError(msg)
    if (capacities < 0).any():
        msg = f"`capacities` must be >= 0, found {capacities.tolist()}"
        raise ValueError(msg)
    if np.isnan(net).any():
        msg = "`net` must not hold NaN (use -inf for a channel that is not allowed)"
        raise ValueError(msg)


def propose(net: np.ndarray, capacities: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """Deterministic proposal assignment steered by `prices` (see the module docstring)."""
    n_customers, n_channels = net.shape
    valid = net > 0
    reduced = np.where(valid, net - prices[None, :], -np.inf)
    chosen = np.full(n_customers, -1, dtype=np.int64)
    remaining = capacities.astype(np.int64).copy()
    open_channel = remaining > 0
    while True:
        allowed = valid & open_channel[None, :]
        waiting = (chosen < 0) & allowed.any(axis=1)
        if not waiting.any():
            break
        rows = np.flatnonzero(waiting)
        # argmax returns the first maximum: ties go to the lower (alphabetical) channel.
        pick = np.argmax(np.where(allowed[rows], reduced[rows], -np.inf), axis=1)
        values = net[rows, pick]
        closed_any = False
        for channel in range(n_channels):
            mask = pick == channel
            if not mask.any():
                continue
            who, worth = rows[mask], values[mask]
            if who.size > remaining[channel]:
                order = np.lexsort((who, -worth))
                who = who[order[: remaining[channel]]]
                closed_any = True
            chosen[who] = channel
            remaining[channel] -= who.size
            if remaining[channel] == 0:
                open_channel[channel] = False
        if not closed_any:
            break
    return chosen


def assignment_value(net: np.ndarray, chosen: np.ndarray) -> float:
    rows = np.flatnonzero(chosen >= 0)
    return float(net[rows, chosen[rows]].sum())


def dual_value(net: np.ndarray, capacities: np.ndarray, prices: np.ndarray) -> float:
    """The Lagrangian bound D(prices) (valid for any prices >= 0)."""
    if net.shape[0] == 0:
        return 0.0
    best = np.max(net - prices[None, :], axis=1, initial=-np.inf)
    return float(np.maximum(best, 0).sum() + (prices * np.minimum(capacities, net.shape[0])).sum())


def lp_bound(net: np.ndarray, capacities: np.ndarray) -> tuple[float, np.ndarray]:
    """Exact LP relaxation with HiGHS: (optimal value, channel prices from the duals)."""
    n_customers, n_channels = net.shape
    rows, cols = np.nonzero(net > 0)
    if rows.size == 0:
        return 0.0, np.zeros(n_channels)
    n_vars = rows.size
    var = np.arange(n_vars)
    a_customer = sparse.csr_matrix((np.ones(n_vars), (rows, var)), shape=(n_customers, n_vars))
    a_channel = sparse.csr_matrix((np.ones(n_vars), (cols, var)), shape=(n_channels, n_vars))
    result = linprog(
        -net[rows, cols],
        A_ub=sparse.vstack([a_customer, a_channel]).tocsr(),
        b_ub=np.concatenate([np.ones(n_customers), capacities.astype(float)]),
        bounds=(0, 1),
        method="highs",
    )
    if result.status != 0:
        msg = (
            "LP relaxation: HiGHS did not reach an optimum"
            f" (status {result.status}: {result.message})"
        )
        raise RuntimeError(msg)
    prices = np.maximum(0.0, -np.asarray(result.ineqlin.marginals[n_customers:]))
    return float(-result.fun), prices


def structured_dual_bound(
    gross: np.ndarray,
    allowed: np.ndarray,
    costs: np.ndarray,
    capacities: np.ndarray,
    *,
    iterations: int,
    tolerance: float = 1e-9,
) -> tuple[float, np.ndarray]:
    """Minimise the dual D(prices) when `net[i, c] = gross[i] - costs[c]` on allowed channels.

    A customer's best priced option is then `gross_i - mu_p`, with `mu_p` the cheapest
    `cost + price` among the channels of its allowed-channel pattern p, so

        D(prices) = sum_p sum_{i in p} max(0, gross_i - mu_p) + sum_c price_c * capacity_c

    costs one binary search per pattern on sorted values with suffix sums: microseconds, at
    any number of customers. Kelley's cutting planes (a tiny LP over the channel prices) then
    minimise the convex piecewise-linear D; every evaluated point is a valid upper bound and the
    cutting-plane model a lower bound on min D, so the loop stops when both meet.
    Returns (best bound found, its prices).
    """
    n_channels = costs.shape[0]
    capacity = np.minimum(capacities, gross.size).astype(float)
    patterns, pattern_of = np.unique(allowed, axis=0, return_inverse=True)
    pattern_of = pattern_of.ravel()
    ordered, suffix = [], []
    for p in range(patterns.shape[0]):
        values = np.sort(gross[pattern_of == p])
        ordered.append(values)
        suffix.append(np.concatenate([np.cumsum(values[::-1])[::-1], [0.0]]))

    def oracle(prices: np.ndarray) -> tuple[float, np.ndarray]:
        effective = costs + prices
        value = float(prices @ capacity)
        gradient = capacity.copy()
        for p, row in enumerate(patterns):
            options = np.flatnonzero(row)
            if options.size == 0:
                continue
            channel = options[np.argmin(effective[options])]
            mu = effective[channel]
            start = np.searchsorted(ordered[p], mu, side="right")
            count = ordered[p].size - start
            value += suffix[p][start] - count * mu
            gradient[channel] -= count
        return value, gradient

    ceiling = max(float(gross.max(initial=0.0)), 0.0) + 1.0
    prices = np.zeros(n_channels)
    best_value, best_prices = oracle(prices)[0], prices.copy()
    cuts_a, cuts_b = [], []
    for _ in range(iterations):
        value, gradient = oracle(prices)
        if value < best_value:
            best_value, best_prices = value, prices.copy()
        # Cut: t >= value + gradient . (x - prices), i.e. gradient . x - t <= gradient . prices - value
        cuts_a.append(np.concatenate([gradient, [-1.0]]))
        cuts_b.append(float(gradient @ prices - value))
        model = linprog(
            np.concatenate([np.zeros(n_channels), [1.0]]),
            A_ub=np.array(cuts_a),
            b_ub=np.array(cuts_b),
            bounds=[(0.0, ceiling)] * n_channels + [(None, None)],
            method="highs",
        )
        if model.status != 0:
            break
        lower = float(model.fun)
        prices = np.asarray(model.x[:n_channels])
        if best_value - lower <= tolerance * max(1.0, abs(best_value)):
            break
    return best_value, best_prices


def lagrangian_bound(
    net: np.ndarray, capacities: np.ndarray, *, iterations: int
) -> tuple[float, np.ndarray]:
    """Minimise D(prices) by exact coordinate steps (one channel price at a time).

    With the other prices fixed, D is convex piecewise linear in one channel's price and its
    minimum sits at the capacity-th largest margin `net[i, c] - max(0, best other option)`
    (or 0 when fewer customers than the capacity want the channel): one `np.partition` each.
    Every iterate is a valid bound; the best one is returned.
    """
    n_customers, n_channels = net.shape
    prices = np.zeros(n_channels)
    best_value, best_prices = dual_value(net, capacities, prices), prices.copy()
    if n_customers == 0:
        return best_value, best_prices
    for _ in range(iterations):
        before = prices.copy()
        for channel in range(n_channels):
            others = np.delete(net - prices[None, :], channel, axis=1)
            outside = np.maximum(np.max(others, axis=1, initial=-np.inf), 0.0)
            margin = net[:, channel] - outside
            margin = margin[margin > 0]
            capacity = int(capacities[channel])
            if margin.size <= capacity:
                prices[channel] = 0.0
            else:
                # The (capacity+1)-th largest margin: at that price only `capacity` still gain.
                prices[channel] = float(
                    np.partition(margin, margin.size - capacity - 1)[margin.size - capacity - 1]
                )
        value = dual_value(net, capacities, prices)
        if value < best_value:
            best_value, best_prices = value, prices.copy()
        if np.allclose(prices, before, rtol=0, atol=1e-12):
            break
    return best_value, best_prices


def assign_channels(
    net: np.ndarray,
    capacities: np.ndarray,
    *,
    gross: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    lp_max_variables: int = 200_000,
    dual_iterations: int = 60,
) -> Assignment:
    """Assign at most one channel per customer under `capacities`, with an optimality bound.

    Parameters
    ----------
    net : (customers x channels) net value; -inf where a channel is not allowed. Rows must be in
        customer id order (the tie-break).
    capacities : contacts each channel can take.
    gross, costs : when given, `net = gross[:, None] - costs[None, :]` on allowed channels and
        the bound comes from `structured_dual_bound` (the LP optimum, at any size).
    lp_max_variables : otherwise, the full LP relaxation up to this many positive (customer,
        channel) pairs, the Lagrangian bound above it.
    dual_iterations : cutting planes (structured) or coordinate sweeps (Lagrangian) at most.

    Examples
    --------
    >>> net = np.array([[10.0, 9.0], [9.5, 1.0]])
    >>> a = assign_channels(net, np.array([1, 5]), lp_max_variables=100, dual_iterations=10)
    >>> a.channel.tolist(), a.value, a.upper_bound
    ([1, 0], 18.5, 18.5)
    """
    net = np.asarray(net, dtype=float)
    capacities = np.asarray(capacities, dtype=np.int64)
    _validate(net, capacities)
    greedy = propose(net, capacities, np.zeros(net.shape[1]))
    if gross is not None and costs is not None:
        bound, prices = structured_dual_bound(
            np.asarray(gross, dtype=float),
            np.isfinite(net),
            np.asarray(costs, dtype=float),
            capacities,
            iterations=dual_iterations,
        )
        method = "dual_cutting_plane"
    elif int((net > 0).sum()) <= lp_max_variables:
        bound, prices = lp_bound(net, capacities)
        method = "lp"
    else:
        bound, prices = lagrangian_bound(net, capacities, iterations=dual_iterations)
        method = "lagrangian"
    # Optimal prices leave customers indifferent between channels; nudging the priced
    # channels up or down breaks those ties both ways. Keep the best (first on equal value).
    nudge = 1e-7 * (1.0 + prices) * (prices > 0)
    chosen, value = greedy, assignment_value(net, greedy)
    for trial in (prices, prices + nudge, np.maximum(prices - nudge, 0.0)):
        proposal = propose(net, capacities, trial)
        proposal_value = assignment_value(net, proposal)
        if proposal_value > value:
            chosen, value = proposal, proposal_value
    return Assignment(
        channel=chosen,
        value=value,
        upper_bound=max(bound, value),
        bound_method=method,
        prices=prices,
    )
