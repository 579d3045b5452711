"""DDNN's communication formula and the fan-in time of simultaneous flows."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.early_exit.ddnn import costs


def test_bytes_per_device_is_the_papers_formula() -> None:
    # |C| = 10 classes, f = 4 filters of o = 16x16 outputs: 4·10 + (1 - l)·1024/8
    assert costs.bytes_per_device(10, 0.6, 4 * 16 * 16, binary=True) == pytest.approx(
        40 + 0.4 * 128
    )
    assert costs.bytes_per_device(10, 1.0, 1024, binary=True) == 40.0
    assert costs.bytes_per_device(10, 0.0, 1024, binary=False) == 40 + 4096
    assert costs.raw_bytes((3, 32, 32)) == 3072  # the paper's raw RGB input


def test_equal_shares_on_a_shared_medium_and_a_common_link() -> None:
    # flows 0, 1, 2 each cross their own link (0, 1, 2) and a medium (3); flow 2 also link 4
    entry_flow = np.array([0, 0, 1, 1, 2, 2, 2])
    entry_link = np.array([0, 3, 1, 3, 2, 3, 4])
    capacity = np.array([10.0, 10.0, 10.0, 9.0, 2.0])
    rates = costs.equal_share_rates(entry_flow, entry_link, capacity, 3)
    np.testing.assert_allclose(rates, [3.0, 3.0, 2.0])
    assert costs.fan_in_time(np.array([1.0, 1.0, 0.5]), rates, 6.0) == pytest.approx(3.5)


def test_path_latencies_add_up_tier_by_tier() -> None:
    paths = costs.path_latencies(1.0, 0.5, 0.1, 0.2, 0.7, [0.3, 0.4], forward_s=0.05)
    np.testing.assert_allclose(paths, [1.6, 1.6 + 0.2 + 0.7 + 0.3, 2.8 + 0.05 + 0.4])
