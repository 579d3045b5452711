"""The all-reduce other kinds embed (:mod:`clustersim.collectives.allreduce`): timed with real
buffers, its closed form, the planner's cached cost, and the one name check."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.collectives import ring
from clustersim.collectives.allreduce import (
    AllreduceCost,
    allreduce,
    allreduce_algorithm,
    allreduce_time,
)
from clustersim.errors import InputError
from clustersim.hardware import topology
from tests.collectives.helpers import BW, LAT, MiB, h100_cluster


@pytest.mark.parametrize("name", ["ring", "halving_doubling", "double_binary_tree", "direct"])
def test_allreduce_sums_the_buffers_in_the_analytic_time(name: str) -> None:
    cluster = h100_cluster(topology.fully_connected(nodes=4, bandwidth=BW, latency=LAT))
    buffers = np.random.default_rng(2).standard_normal((4, 1000))
    expected = buffers.sum(axis=0)
    cluster.sim.process(allreduce(cluster, cluster.ranks, 8 * MiB, name, buffers), "ar")
    cluster.sim.run()
    np.testing.assert_allclose(buffers, np.broadcast_to(expected, buffers.shape), atol=1e-12)
    predicted = allreduce_time(cluster, cluster.ranks, 8 * MiB, name)
    assert cluster.sim.now == pytest.approx(predicted, rel=1e-6)


def test_one_rank_or_no_bytes_costs_nothing() -> None:
    cluster = h100_cluster(topology.ring(nodes=4, bandwidth=BW, latency=LAT))
    assert allreduce_time(cluster, ["n0"], MiB, "ring") == 0.0
    assert allreduce_time(cluster, cluster.ranks, 0.0, "ring") == 0.0


def test_cached_cost_equals_the_closed_form() -> None:
    cluster = h100_cluster(topology.ring(nodes=8, bandwidth=BW, latency=LAT))
    cost = AllreduceCost(cluster, cluster.ranks, "ring")
    assert cost.time(0, 8, 64 * MiB) == pytest.approx(
        ring.ring_allreduce_time(64 * MiB, 8, LAT, 1 / BW), rel=1e-12
    )
    assert cost.time(2, 3, 64 * MiB) == 0.0
    tree = AllreduceCost(cluster, cluster.ranks, "double_binary_tree")
    assert tree.time(0, 4, MiB) == allreduce_time(
        cluster, cluster.ranks[:4], MiB, "double_binary_tree"
    )


def test_unknown_name_lists_the_known_ones() -> None:
    assert allreduce_algorithm("ring").name == "ring"
    with pytest.raises(
        InputError, match="unknown all-reduce algorithm 'rign'.*did you mean 'ring'"
    ):
        allreduce_algorithm("rign")
