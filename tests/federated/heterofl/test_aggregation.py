"""HeteroFL's rule: every element is the weighted mean over the updates that hold it."""

from __future__ import annotations

import numpy as np

from clustersim.federated.aggregation import ClientUpdate, per_element, weighted


def test_each_element_is_averaged_over_the_clients_that_hold_it() -> None:
    w = np.array([1.0, 2.0, 3.0, 4.0])
    updates = [
        ClientUpdate(0, 30, np.array([1.0, 1.0, 1.0, 1.0]), 1, np.arange(4)),  # full width
        ClientUpdate(1, 10, np.array([5.0, 5.0]), 1, np.array([0, 1])),  # a half-width slice
    ]
    out = per_element(w, updates, np.array([30.0, 10.0]))
    # elements 0, 1: (30·1 + 10·5) / 40 = 2; elements 2, 3: only client 0's delta
    np.testing.assert_array_equal(out, [3.0, 4.0, 4.0, 5.0])


def test_elements_nobody_holds_keep_their_value() -> None:
    w = np.array([1.0, 2.0, 3.0])
    out = per_element(w, [ClientUpdate(0, 5, np.array([0.5]), 1, np.array([1]))], np.array([5.0]))
    np.testing.assert_array_equal(out, [1.0, 2.5, 3.0])


def test_with_every_client_at_full_width_it_is_fedavg_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal(50)
    sizes = [17, 3, 40, 9]
    deltas = [rng.standard_normal(50) for _ in sizes]
    dense = [ClientUpdate(k, n, d, 1) for k, (n, d) in enumerate(zip(sizes, deltas, strict=True))]
    sliced = [
        ClientUpdate(k, n, d, 1, np.arange(50))
        for k, (n, d) in enumerate(zip(sizes, deltas, strict=True))
    ]
    assert np.array_equal(weighted(w, dense), per_element(w, sliced, np.array(sizes, dtype=float)))
    assert np.array_equal(weighted(w, sliced), weighted(w, dense))  # the rule dispatches
