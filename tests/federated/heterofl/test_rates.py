"""Rates from capability: the largest level whose local training fits the budget on the device
(the presets' peak FLOP/s and memory bandwidth) and whose footprint fits its memory."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.federated.heterofl import LEVELS, assign_rates
from clustersim.scenario.runner import check_scenario
from tests.federated.helpers import scenario


def test_assign_rates_takes_the_largest_level_that_fits() -> None:
    # times per level (1, 1/2, 1/4): a fast client, a slow one, one too slow for any level
    times = np.array([[1.0, 0.3, 0.1], [4.0, 1.0, 0.3], [40.0, 10.0, 3.0]])
    need = np.array([100.0, 30.0, 10.0])
    memory = np.array([1000.0, 1000.0, 1000.0])
    np.testing.assert_array_equal(
        assign_rates(times, need, memory, [1.0, 0.5, 0.25], budget=1.0), [1.0, 0.5, 0.25]
    )
    # memory binds: 50 bytes hold level 1/2 but not 1; 5 bytes hold none (-1: the caller's error)
    np.testing.assert_array_equal(
        assign_rates(times, need, np.array([50.0, 1000, 5]), [1.0, 0.5, 0.25], budget=1.0),
        [0.5, 0.5, -1.0],
    )
    # a client too slow for every level that fits its memory gets the smallest that does
    np.testing.assert_array_equal(
        assign_rates(times, need, memory, [1.0, 0.5, 0.25], budget=0.01), [0.25, 0.25, 0.25]
    )


def _mixed(**heterofl) -> dict:
    return scenario(
        {
            "algorithm": "heterofl",
            "rounds": 2,
            "model": {"name": "mlp", "hidden": [256, 256]},
            "heterofl": {"rates": "auto", **heterofl},
        },
        cluster={
            "topology": {
                "kind": "custom",
                "nodes": [
                    {"name": "server"},
                    {"name": "jet[0-1]", "preset": "JetsonOrinNano"},
                    {"name": "pi[0-3]", "preset": "RaspberryPi4"},
                    {"name": "sw", "kind": "switch"},
                ],
                "links": [
                    {"a": "server", "b": "sw", "bandwidth": "10 Gbps", "latency": "1 us"},
                    {"a": "jet[0-1]", "b": "sw", "bandwidth": "1 Gbps", "latency": "1 ms"},
                    {"a": "pi[0-3]", "b": "sw", "bandwidth": "1 Gbps", "latency": "1 ms"},
                ],
            },
            "device": "CPU-server",
        },
    )


def test_jetsons_get_the_full_model_and_raspberry_pis_a_slice() -> None:
    m = clustersim.run(_mixed()).metrics
    rates = m["client_rate"]
    assert rates[:2] == [1.0, 1.0]  # the fastest clients set the default budget
    assert all(r in LEVELS and r < 1.0 for r in rates[2:])
    assert len(set(rates[2:])) == 1  # the same device, the same rate


def test_a_larger_budget_gives_wider_slices() -> None:
    tight = clustersim.run(_mixed()).metrics["client_rate"]
    loose = clustersim.run(_mixed(compute_budget="1 s")).metrics["client_rate"]
    assert loose == [1.0] * 6
    assert min(tight) < 1.0


def test_too_little_memory_for_any_level_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"workload\.heterofl: client 'jet0' may use"):
        check_scenario(_mixed(memory_fraction=1e-12))
