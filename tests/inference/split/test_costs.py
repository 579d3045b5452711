"""Neurosurgeon's cost of every split point, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.split import costs

# three layers: mobile 1, 2, 3 s; cloud 0.1 s each; sizes sent: input 8 B, then 4, 2, 1 B
MOBILE = np.array([1.0, 2.0, 3.0])
CLOUD = np.array([0.1, 0.1, 0.1])
SENT = np.array([8.0, 4.0, 2.0, 1.0])
UP, DOWN = (0.5, 2.0), (0.25, 4.0)  # (latency s, bandwidth B/s)


def test_latency_of_every_split() -> None:
    t = costs.split_latencies(MOBILE, CLOUD, SENT, UP, DOWN, result=1.0)
    down = 0.25 + 1 / 4
    expected = [
        0.5 + 8 / 2 + 0.3 + down,  # all in the cloud: upload the input
        1 + 0.5 + 4 / 2 + 0.2 + down,
        3 + 0.5 + 2 / 2 + 0.1 + down,
        6.0,  # all on the mobile: nothing moves
    ]
    np.testing.assert_allclose(t, expected, rtol=1e-15)
    assert costs.best_split(t) == 1  # [5.3, 4.2, 5.1, 6.0]


def test_energy_of_every_split() -> None:
    e = costs.split_energies(MOBILE, CLOUD, SENT, UP, DOWN, 1.0, power=(5.0, 0.5, 2.0))
    down = 0.25 + 1 / 4
    expected = [
        2 * (0.5 + 4 + down) + 0.5 * 0.3,
        5 * 1 + 2 * (0.5 + 2 + down) + 0.5 * 0.2,
        5 * 3 + 2 * (0.5 + 1 + down) + 0.5 * 0.1,
        5 * 6.0,
    ]
    np.testing.assert_allclose(e, expected, rtol=1e-15)
    assert costs.best_split(e) == 0  # [10.15, 11.1, 19.05, 30]: energy favours the cloud


def test_ties_go_to_the_smaller_split() -> None:
    assert costs.best_split(np.array([2.0, 1.0, 1.0])) == 1
    assert costs.transfer_time(0.5, 10.0, 4.0) == pytest.approx(3.0)
