"""The port model (:meth:`clustersim.collectives.process.RouteTable.port_load`): the flows of a
step that share a device's link, and the double binary tree priced with it, equal to the
simulation on a switch (one port per device) as on a link per peer."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives import trees
from clustersim.collectives.process import RouteTable
from clustersim.hardware import topology
from tests.collectives.helpers import BW, LAT, MiB, h100_cluster, scenario


def _load(graph: topology.Graph, src: list[int], dst: list[int]) -> int:
    cluster = h100_cluster(graph)
    nodes = cluster.rank_indices()
    return RouteTable.of(cluster.network).port_load(nodes[src], nodes[dst])


def test_port_load_counts_flows_on_a_device_link() -> None:
    star = topology.switch(nodes=4, bandwidth=BW, latency=LAT)
    assert _load(star, [0, 1], [2, 2]) == 2  # both into n2's one link
    assert _load(star, [0, 0], [1, 2]) == 2  # both out of n0's one link
    assert _load(star, [0, 2], [1, 3]) == 1
    assert _load(star, [0, 1, 3], [2, 2, 2]) == 3
    assert _load(star, [], []) == 0
    mesh = topology.fully_connected(nodes=4, bandwidth=BW, latency=LAT)
    assert _load(mesh, [0, 1], [2, 2]) == 1  # a link per peer
    assert _load(mesh, [0, 0], [2, 2]) == 2  # the same link twice


def test_a_shared_core_uplink_is_not_a_port() -> None:
    """Switch-to-switch hops are contention, not ports: the alpha-beta model leaves them out."""
    leaves = topology.switch(nodes=4, bandwidth=BW, latency=LAT, groups=2, uplink_bandwidth=BW)
    assert _load(leaves, [0, 1], [2, 3]) == 1


@pytest.mark.parametrize("nodes", [2, 4, 5, 8, 13])
@pytest.mark.parametrize("reduction", ["free", "device"])
def test_double_binary_tree_on_a_switch_equals_its_formula(nodes: int, reduction: str) -> None:
    size = 2 * 8 * 4096 * nodes
    spec = scenario("allreduce", "double_binary_tree", nodes, size, kind="switch")
    spec["workload"].update(pipeline_chunk=size / 16, reduction=reduction)
    result = clustersim.run(spec)
    sim, formula = result.metrics["time_s"], result.analytic["time_s"]
    assert abs(sim - formula) / formula < 1e-9, (sim, formula)
    assert result.analytic["port_load_max"] == (1 if nodes == 2 else 2)


def test_one_port_halves_the_double_binary_tree_bandwidth() -> None:
    """8 ranks, 64 MiB: a parent's two children share its one link on a switch, so the bus
    bandwidth is about half that with a link per peer, in the simulation and in the formula."""
    switch = clustersim.run(scenario("allreduce", "double_binary_tree", 8, 64 * MiB, kind="switch"))
    mesh = clustersim.run(scenario("allreduce", "double_binary_tree", 8, 64 * MiB))
    for result in (switch, mesh):
        assert result.metrics["busbw_Bps"] == pytest.approx(result.analytic["busbw_Bps"], 1e-9)
    assert switch.metrics["busbw_Bps"] / BW == pytest.approx(0.813, abs=1e-3)
    assert mesh.metrics["busbw_Bps"] / BW == pytest.approx(1.614, abs=1e-3)
    k = 32 * MiB // (512 * 2**10)
    assert mesh.analytic["time_s"] == pytest.approx(
        trees.double_binary_tree_allreduce_time(64 * MiB, 8, LAT, 1 / BW, chunks=k), rel=1e-12
    )


def test_formula_with_shared_ports_hand_values() -> None:
    a, b, n = 1e-6, 1e-9, 1e6
    base = trees.double_binary_tree_allreduce_time(n, 8, a, b, chunks=4)
    shared = trees.double_binary_tree_allreduce_time(n, 8, a, b, chunks=4, shared_port_steps=5)
    assert shared - base == pytest.approx(5 * n / 8 * b)
    assert np.isclose(base, 12 * (a + n / 8 * b))
