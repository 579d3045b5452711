"""The latency recurrences of costs.py on hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.partition.costs import (
    fluid_bound,
    staged_latency,
    tile_stream_latency,
)

NONE = -np.inf


def test_staged_latency_waits_for_the_slowest_neighbour() -> None:
    # two workers, two stages; worker 1 is slow in stage 0 and sends worker 0 a halo (0.5 s)
    arrival = np.array([1.0, 1.0])
    compute = np.array([[1.0, 3.0], [2.0, 2.0]])
    exchange = np.array([[[NONE, 0.5], [0.5, NONE]], [[NONE, NONE], [NONE, NONE]]])
    gather = np.array([0.25, 0.25])
    latency, done = staged_latency(arrival, compute, exchange, gather, head=0.1)
    # stage 0 ends at 2 and 4; worker 0 starts stage 1 when the halo sent at 4 lands (4.5)
    np.testing.assert_allclose(done, [[2.0, 4.0], [6.5, 6.0]])
    assert latency == pytest.approx(6.5 + 0.25 + 0.1)


def test_staged_latency_skips_workers_that_send_nothing() -> None:
    latency, _ = staged_latency(
        np.zeros(2), np.array([[1.0, 5.0]]), np.full((1, 2, 2), NONE), np.array([0.5, NONE]), 0.0
    )
    assert latency == 1.5


def test_a_tile_stream_hides_transfers_behind_compute() -> None:
    # 3 tiles: 1 s to send, 4 s to compute, 1 s back. With 2 in flight the second arrives
    # while the first computes; the third is sent when the first result is back (t = 6).
    assert tile_stream_latency([1, 1, 1], [4, 4, 4], [1, 1, 1], prefetch=2) == pytest.approx(14)
    # one in flight: send, compute, return, then the next
    assert tile_stream_latency([1, 1, 1], [4, 4, 4], [1, 1, 1], prefetch=1) == pytest.approx(18)
    # transfers longer than compute: the link is the bottleneck
    assert tile_stream_latency([3, 3], [1, 1], [0.5, 0.5], prefetch=2) == pytest.approx(7.5)


def test_fluid_bound_shares_the_tiles_at_each_workers_rate() -> None:
    seconds = np.array([[1.0] * 6, [2.0] * 6])  # 6 tiles; worker 1 at half speed
    # rates 1 and 1/2 tile/s: 6 tiles take 4 s
    assert fluid_bound(seconds, first=0.5, last=0.25, head=1.0) == pytest.approx(5.75)
