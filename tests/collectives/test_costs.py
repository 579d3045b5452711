"""The shared closed forms (:mod:`clustersim.collectives.costs`): alpha and beta from routes,
and nccl-tests' bus bandwidth."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives.algorithms import ALGORITHMS
from clustersim.collectives.costs import alpha_beta, bus_factor
from tests.collectives.helpers import BW, MiB, ring_scenario, scenario


def test_alpha_beta_prices_every_message_at_the_slowest_route() -> None:
    latency = np.array([1e-6, 3e-6, 2e-6])
    bottleneck = np.array([100.0, 25.0, 50.0])
    assert alpha_beta(latency, bottleneck) == (3e-6, 1 / 25.0)
    assert alpha_beta(np.zeros(0), np.zeros(0)) == (0.0, 0.0)


def test_bus_factor_hand_values() -> None:
    assert bus_factor("allreduce", 8) == 2 * 7 / 8
    assert bus_factor("reduce_scatter", 8) == bus_factor("allgather", 8) == 7 / 8
    assert bus_factor("broadcast", 8) == bus_factor("reduce", 8) == 1.0


def test_busbw_factors_follow_nccl_tests() -> None:
    for op, factor in (("broadcast", 1.0), ("reduce", 1.0), ("alltoall", 7 / 8)):
        m = clustersim.run(
            scenario(
                op, ALGORITHMS[(op, "tree" if op != "alltoall" else "direct")].name, 8, 8 * MiB
            )
        ).metrics
        assert m["busbw_Bps"] == pytest.approx(m["algbw_Bps"] * factor, rel=1e-15)


def test_busbw_equals_link_bandwidth_without_latency() -> None:
    spec = ring_scenario(8, 64 * MiB)
    spec["cluster"]["link"]["latency"] = 0
    m = clustersim.run(spec).metrics
    assert m["busbw_Bps"] == pytest.approx(BW, rel=1e-12)
    assert m["algbw_Bps"] == pytest.approx(64 * MiB / m["time_s"], rel=1e-15)
