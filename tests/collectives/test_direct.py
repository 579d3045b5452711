"""Direct and pairwise collectives (:mod:`clustersim.collectives.direct`): the multi-port
formulas, and how far the simulation departs from them where the flows share links."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives import direct
from tests.collectives.helpers import BW, LAT, MiB, scenario


def test_traffic_formulas_hand_values() -> None:
    assert direct.direct_allreduce_bytes(1.0, 8) == 14


def test_formula_hand_values() -> None:
    a, b, g, n = 1e-6, 1e-9, 1e-10, 1e6
    assert direct.direct_allreduce_time(n, 8, a, b, g) == pytest.approx(
        2 * a + 2 * n / 8 * b + 7 / 8 * n * g
    )
    assert direct.pairwise_alltoall_time(n, 8, a, b) == pytest.approx(7 * (a + n / 8 * b))


def test_direct_allreduce_on_a_64_ring_is_several_times_slower_than_the_ring() -> None:
    ring_run = clustersim.run(scenario("allreduce", "ring", 64, 64 * MiB, kind="ring"))
    direct_run = clustersim.run(scenario("allreduce", "direct", 64, 64 * MiB, kind="ring"))
    ratio = direct_run.metrics["time_s"] / ring_run.metrics["time_s"]
    assert ratio > 5, ratio
    # the ring is contention-free on a ring; direct is not, and its formula (one step of n/p per
    # link, alpha from the longest route) is far off
    assert ring_run.metrics["time_s"] == pytest.approx(ring_run.analytic["time_s"], rel=1e-6)
    assert direct_run.metrics["time_s"] > 50 * direct_run.analytic["time_s"]


def test_oversubscribed_uplink_slows_a_direct_alltoall() -> None:
    """16 hosts on two leaf switches: the 8×8 cross-leaf flows share one uplink direction."""
    spec = scenario("alltoall", "direct", 16, 64 * MiB, kind="switch")
    spec["cluster"]["topology"].update(groups=2, uplink_bandwidth=BW)
    result = clustersim.run(spec)
    block = 64 * MiB / 16
    assert result.metrics["time_s"] == pytest.approx(4 * LAT + block / (BW / 64), rel=1e-9)
    assert result.metrics["time_s"] > 50 * result.analytic["time_s"]
