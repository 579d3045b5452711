"""``algorithm: auto`` (:mod:`clustersim.collectives.tuning`): NCCL 2.7.5's cost model against
hand values from ``tuning.cc``'s constants, its choices, and runs that use them."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives.algorithms import machines
from clustersim.collectives.tuning import nccl_allreduce_times, nccl_choice
from clustersim.core.simulation import Simulation
from clustersim.hardware.cluster import Cluster
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.collectives.helpers import MiB, scenario, two_level

US = 1e-6


def test_model_hand_values_one_node() -> None:
    """8 ranks on one node, 1 MiB, 100 GB/s: baseLat + steps × hwLat[NVLink] + bytes/bw."""
    n = 2**20
    times = nccl_allreduce_times(n, 8, 1, 100e9, 100e9)
    # ring/Simple: 8.4 + 14·3.4 µs; busBw · 8/14
    assert times[("ring", "Simple")] == pytest.approx((56.0 + n / (1000 * 100 * 8 / 14)) * US)
    # ring/LL: 3.6 + 14·0.47 µs; busBw / 4 · 8/14
    assert times[("ring", "LL")] == pytest.approx((10.18 + n / (1000 * 25 * 8 / 14)) * US)
    # tree/Simple: 2·7·28 µs; min(0.9·busBw, 110) · 0.5 · treeCorrectionFactor[Simple][14] = 0.5
    assert times[("tree", "Simple")] == pytest.approx((392.0 + n / (1000 * 45 * 0.5)) * US)
    # tree/LL: 4.4 + 2·7·0.52 µs; 90 / 3.8 · 0.5 · treeCorrectionFactor[LL][14] = 0.5
    assert times[("tree", "LL")] == pytest.approx((11.68 + n / (1000 * 90 / 3.8 * 0.25)) * US)
    assert nccl_choice("allreduce", n, 8, 1, 100e9, 100e9).algorithm == "ring"


def test_model_hand_values_many_nodes() -> None:
    """64 nodes of one GPU: the ring's 126 network steps (×1.9 past 64 KiB) against the tree's
    2·log2(64) = 12."""
    n, bw = 16 * 2**20, 50e9
    times = nccl_allreduce_times(n, 64, 64, bw, bw)
    ring_lat = (8.4 + 126 * 9.6) * 1.9
    assert times[("ring", "Simple")] == pytest.approx((ring_lat + n / (1000 * 50 * 64 / 126)) * US)
    assert times[("tree", "Simple")] == pytest.approx((600.0 + n / (1000 * 22.5 * 0.6)) * US)


@pytest.mark.parametrize(
    ("size", "p", "nodes", "expected"),
    [
        (8e3, 8, 1, ("ring", "LL")),  # one node: the ring at every size
        (256e6, 8, 1, ("ring", "Simple")),
        (8e3, 64, 64, ("tree", "LL")),  # many nodes: the tree for small and medium sizes
        (16e6, 64, 64, ("tree", "Simple")),
        (256e6, 64, 64, ("ring", "Simple")),  # and the ring for large ones
    ],
)
def test_choices(size: float, p: int, nodes: int, expected: tuple[str, str]) -> None:
    choice = nccl_choice("allreduce", size, p, nodes, 50 * 2**30, 50 * 2**30)
    assert (choice.nccl_algorithm, choice.protocol) == expected
    assert choice.algorithm == {"ring": "ring", "tree": "double_binary_tree"}[expected[0]]


def test_ops_without_a_choice() -> None:
    for op in ("broadcast", "reduce", "allgather", "reduce_scatter"):
        assert nccl_choice(op, 1e6, 8, 8, 1e9, 1e9).algorithm == "ring"
    assert nccl_choice("alltoall", 1e6, 8, 8, 1e9, 1e9).algorithm == "direct"


def _cluster(spec: dict) -> Cluster:
    loaded = load_scenario(spec)
    return prepare_scenario(loaded, Simulation(loaded.seed))[0]


def test_machines_are_devices_joined_by_direct_links() -> None:
    cluster = _cluster(two_level(4, 2))
    assert machines(cluster, cluster.ranks) == 4
    for kind, expected in (("switch", 8), ("fully_connected", 1), ("ring", 1)):
        cluster = _cluster(scenario("allreduce", "ring", 8, MiB, kind=kind))
        assert machines(cluster, cluster.ranks) == expected, kind


@pytest.mark.parametrize(
    ("kind", "nodes", "size", "expected"),
    [
        ("switch", 64, 8 * 2**10, "double_binary_tree"),
        ("switch", 64, 1024 * MiB, "ring"),
        ("fully_connected", 8, 8 * 2**10, "ring"),
    ],
)
def test_auto_runs_what_the_tuner_picks(kind: str, nodes: int, size: float, expected: str) -> None:
    auto = clustersim.run(scenario("allreduce", "auto", nodes, size, kind=kind))
    chosen = clustersim.run(scenario("allreduce", expected, nodes, size, kind=kind))
    assert auto.metrics["algorithm"] == auto.analytic["algorithm"] == expected
    assert auto.metrics["time_s"] == chosen.metrics["time_s"]
    assert auto.analytic["time_s"] == chosen.analytic["time_s"]
    nccl = {k: v for k, v in auto.analytic.items() if k.startswith("nccl_")}
    assert set(nccl) == {f"nccl_{a}_{p}_time_s" for a in ("ring", "tree") for p in ("ll", "simple")}


def test_auto_for_the_other_ops_and_a_verified_run() -> None:
    for op, expected in (("broadcast", "ring"), ("reduce", "ring"), ("alltoall", "direct")):
        result = clustersim.run(scenario(op, "auto", 6, 6 * 4096, verify=True))
        assert result.metrics["algorithm"] == expected and result.passed
