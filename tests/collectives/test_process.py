"""The SimPy side (:mod:`clustersim.collectives.process`): reductions charged from memory
bandwidth on the reducing devices, and collectives run at once sharing the links."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives import ring
from clustersim.collectives.algorithms import collective_process
from clustersim.collectives.costs import MEMORY_PASSES
from clustersim.hardware import topology
from clustersim.hardware.presets import get_device
from tests.collectives.helpers import BW, LAT, MiB, h100_cluster, scenario


def test_reduction_device_charges_gamma_from_memory_bandwidth() -> None:
    h100 = get_device("H100")
    gamma = MEMORY_PASSES / h100.mem_bandwidth / h100.efficiency
    launch = 5e-6  # the H100 preset's launch overhead, once per reduce-scatter step
    spec = scenario("allreduce", "ring", 8, 64 * MiB, reduction="device")
    result = clustersim.run(spec)
    assert result.analytic["gamma_s_per_byte"] == pytest.approx(gamma, rel=1e-12)
    assert result.analytic["launch_overhead_s"] == launch
    busy = result.metrics["compute_busy_s_per_rank"]
    assert busy == pytest.approx([7 * (8 * MiB * gamma + launch)] * 8, rel=1e-9)
    free = clustersim.run(scenario("allreduce", "ring", 8, 64 * MiB)).metrics["time_s"]
    reduce = 7 * (8 * MiB * gamma + launch)
    assert result.metrics["time_s"] == pytest.approx(free + reduce, rel=1e-9)
    # a straggler reduces (and launches) at half speed: every reduce-scatter step waits for it
    spec["cluster"]["slowdown"] = {"n3": 2.0}
    slow = clustersim.run(spec).metrics["time_s"]
    assert slow == pytest.approx(free + 2 * reduce, rel=1e-9)


def test_two_collectives_at_once_share_the_links() -> None:
    nodes, chunk = 8, 8 * MiB
    cluster = h100_cluster(topology.ring(nodes=nodes, bandwidth=BW, latency=LAT))
    for tag in ("a", "b"):
        cluster.sim.process(
            collective_process(cluster, cluster.ranks, "allreduce", "ring", nodes * chunk), tag
        )
    cluster.sim.run()
    alone = ring.ring_allreduce_time(nodes * chunk, nodes, LAT, 1 / BW)
    expected = 2 * (nodes - 1) * (LAT + chunk / (BW / 2))
    assert cluster.sim.now == pytest.approx(expected, rel=1e-9)
    assert cluster.sim.now > 1.9 * alone
