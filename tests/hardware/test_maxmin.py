"""Tests for clustersim.hardware.maxmin: the max-min fair rate allocation kernel.

The properties are those that characterise the max-min fair allocation (Bertsekas & Gallager,
*Data Networks*, 2nd ed., §6.5.2): it is feasible (no link over capacity) and every flow has a
bottleneck link, i.e. a saturated link on which no other flow gets more than it does. The
allocation with those two properties is unique, so it is also compared against an exact
reference computed with fractions.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.hardware.maxmin import max_min_rates

CAP_TOL = 1e-9
RATE_TOL = 1e-12


def incidence(flows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """COO pairs (flow index, link index) of a list of per-flow link lists."""
    entry_flow = [f for f, links in enumerate(flows) for _ in links]
    entry_link = [link for links in flows for link in links]
    return np.array(entry_flow, dtype=np.int64), np.array(entry_link, dtype=np.int64)


def solve(flows: list[list[int]], capacity: list[float]) -> np.ndarray:
    entry_flow, entry_link = incidence(flows)
    return max_min_rates(entry_flow, entry_link, len(flows), np.array(capacity, dtype=float))


def link_loads(flows: list[list[int]], rates: np.ndarray, n_links: int) -> np.ndarray:
    loads = np.zeros(n_links)
    for f, links in enumerate(flows):
        for link in links:
            loads[link] += rates[f]
    return loads


def reference_max_min(flows: list[list[int]], capacity: list[int]) -> list[Fraction | None]:
    """Exact progressive filling in rational arithmetic (None for a flow with no links)."""
    rates: list[Fraction | None] = [None] * len(flows)
    live = {f for f, links in enumerate(flows) if links}
    cap_left = [Fraction(c) for c in capacity]
    while live:
        counts = [0] * len(capacity)
        for f in live:
            for link in flows[f]:
                counts[link] += 1
        share = min(cap_left[link] / counts[link] for link in range(len(capacity)) if counts[link])
        tight = {
            link
            for link in range(len(capacity))
            if counts[link] and cap_left[link] / counts[link] == share
        }
        newly = {f for f in live if tight.intersection(flows[f])}
        for f in newly:
            rates[f] = share
            for link in flows[f]:
                cap_left[link] -= share
        live -= newly
    return rates


@st.composite
def networks(draw, *, allow_empty_flows: bool = False, integer_caps: bool = False):
    """(flows, capacity): 1..12 links and up to 24 flows, each on a non-empty set of links."""
    n_links = draw(st.integers(1, 12))
    if integer_caps:
        cap_strategy = st.integers(1, 1000)
    else:
        cap_strategy = st.one_of(
            st.floats(1e-3, 1e12, allow_nan=False, allow_infinity=False),
            st.sampled_from([1.0, 3.0, 10.0, 25e9, 100e9]),
        )
    capacity = draw(st.lists(cap_strategy, min_size=n_links, max_size=n_links))
    min_links = 0 if allow_empty_flows else 1
    link_sets = st.lists(
        st.integers(0, n_links - 1), min_size=min_links, max_size=n_links, unique=True
    )
    flows = draw(st.lists(link_sets, min_size=0, max_size=24))
    return flows, capacity


def assert_max_min_fair(flows: list[list[int]], capacity: list[float], rates: np.ndarray) -> None:
    """(a) no link over capacity; (b) every flow has a bottleneck link; (c) no links -> inf."""
    assert rates.shape == (len(flows),)
    loads = link_loads(flows, rates, len(capacity))
    over = loads > np.array(capacity) * (1 + CAP_TOL)
    assert not over.any(), f"links {np.flatnonzero(over)} over capacity: {loads} vs {capacity}"
    on_link: list[list[int]] = [[] for _ in capacity]
    for f, links in enumerate(flows):
        for link in links:
            on_link[link].append(f)
    for f, links in enumerate(flows):
        if not links:
            assert rates[f] == np.inf
            continue
        assert np.isfinite(rates[f]) and rates[f] > 0
        bottlenecks = [
            link
            for link in links
            if loads[link] >= capacity[link] * (1 - CAP_TOL)
            and rates[f] >= max(rates[g] for g in on_link[link]) * (1 - RATE_TOL)
        ]
        assert bottlenecks, f"flow {f} (rate {rates[f]}) on links {links} has no bottleneck"


@settings(max_examples=150, deadline=None)
@given(networks(allow_empty_flows=True))
def test_allocation_is_feasible_and_every_flow_is_bottlenecked(net):
    flows, capacity = net
    assert_max_min_fair(flows, capacity, solve(flows, capacity))


@settings(max_examples=100, deadline=None)
@given(networks(integer_caps=True))
def test_matches_exact_rational_reference(net):
    """The max-min fair allocation is unique, so it must equal exact progressive filling."""
    flows, capacity = net
    rates = solve(flows, [float(c) for c in capacity])
    expected = reference_max_min(flows, capacity)
    for got, want in zip(rates.tolist(), expected, strict=True):
        assert got == pytest.approx(float(want), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(networks(allow_empty_flows=True), st.integers(0, 2**32 - 1))
def test_permuting_flows_or_entries_permutes_rates_exactly(net, seed):
    """Determinism: the order flows (or COO pairs) are given in changes no bit of the result."""
    flows, capacity = net
    rnd = np.random.default_rng(seed)
    order = rnd.permutation(len(flows)).tolist()
    rates = solve(flows, capacity)
    np.testing.assert_array_equal(solve([flows[i] for i in order], capacity), rates[order])
    entry_flow, entry_link = incidence(flows)
    perm = rnd.permutation(entry_flow.size)
    shuffled = max_min_rates(
        entry_flow[perm], entry_link[perm], len(flows), np.array(capacity, dtype=float)
    )
    np.testing.assert_array_equal(shuffled, rates)


def test_does_not_modify_its_inputs():
    entry_flow, entry_link = incidence([[0, 1], [1]])
    cap = np.array([10.0, 3.0])
    before = (entry_flow.copy(), entry_link.copy(), cap.copy())
    max_min_rates(entry_flow, entry_link, 2, cap)
    for arr, old in zip((entry_flow, entry_link, cap), before, strict=True):
        np.testing.assert_array_equal(arr, old)


# ------------------------------------------------------------------------------ hand cases


def test_two_flows_on_one_link_split_it_evenly():
    rates = solve([[0], [0]], [10.0])
    assert rates.tolist() == [5.0, 5.0]


def test_classic_two_link_example():
    """Link A (cap 10) carries f0 and f1; link B (cap 3) carries f1 only: f1 = 3, f0 = 7."""
    rates = solve([[0], [0, 1]], [10.0, 3.0])
    assert rates[1] == 3.0
    assert rates[0] == pytest.approx(7.0, rel=1e-15)


def test_bertsekas_gallager_style_example():
    """Three links of capacity 1 in a line; a long flow crosses all, one short flow per link
    except the last, which has two: the long flow and the last link's flows get 1/3."""
    flows = [[0, 1, 2], [0], [1], [2], [2]]
    rates = solve(flows, [1.0, 1.0, 1.0])
    assert rates == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3], rel=1e-12)


def test_shares_equal_up_to_rounding_form_one_level():
    """0.3/3 and 0.2/2 are both 0.1 but differ in the last bit in floating point; the kernel
    treats them as one bottleneck level, so all four flows get bit-identical rates (equal
    flows then finish at one instant, which is what keeps the network's wake-ups few)."""
    rates = solve([[0, 1], [1], [0], [0]], [0.3, 0.2])
    assert len(set(rates.tolist())) == 1
    assert rates[0] == pytest.approx(0.1, rel=1e-15)


@pytest.mark.parametrize(
    "capacity",
    [[7.0], [100e9, 25e9, 50e9], [0.1, 0.3, 0.7], [1e-3, 1e12], [3.3e9, 3.3e9]],
)
def test_flow_alone_gets_exactly_the_path_minimum(capacity):
    rates = solve([list(range(len(capacity)))], capacity)
    assert rates[0] == min(capacity)


def test_flows_on_disjoint_links_get_their_own_capacity_exactly():
    capacity = [0.1, 0.7, 12.5e9]
    rates = solve([[0], [1], [2]], capacity)
    assert rates.tolist() == capacity


def test_only_the_used_links_matter():
    """An unused link of tiny capacity elsewhere changes nothing."""
    rates = solve([[1], [1, 2]], [1e-9, 8.0, 8.0])
    assert rates.tolist() == [4.0, 4.0]


def test_no_entries_means_every_flow_is_inf():
    empty = np.zeros(0, dtype=np.int64)
    rates = max_min_rates(empty, empty, 3, np.array([1.0]))
    assert rates.tolist() == [np.inf] * 3
    assert max_min_rates(empty, empty, 0, np.array([1.0])).shape == (0,)
