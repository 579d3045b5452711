"""Simulated time against the formula: equal without contention (one or more servers, a
switch or a fully connected topology, compute on the roofline), slower with an oversubscribed
uplink, and linear in N where the ring all-reduce stays flat."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.hardware.presets import get_device
from tests.paths import SCENARIOS
from tests.training.parameter_server.helpers import BW, LAT, C, G, run, scenario


def test_hand_formula_one_server_on_a_switch() -> None:
    result = run(workers=8)
    # compute + push + pull; each phase: two-hop latency + 8·G through the server's link
    expected = C + 2 * (2 * LAT + 8 * G / BW)
    assert result.analytic["time_per_iteration_s"] == pytest.approx(expected, rel=1e-14)
    assert result.metrics["time_per_iteration_s"] == pytest.approx(expected, rel=1e-9)
    assert result.metrics["time_s"] == pytest.approx(3 * expected, rel=1e-9)


@pytest.mark.parametrize("mode", ["sync", "async", "ssp"])
@pytest.mark.parametrize(("workers", "servers"), [(1, 1), (4, 1), (6, 2), (8, 4), (2, 4)])
def test_contention_free_time_equals_formula(mode: str, workers: int, servers: int) -> None:
    extra = {"staleness": 1} if mode == "ssp" else {}
    result = run(workers=workers, servers=servers, mode=mode, **extra)
    for name in (
        "time_per_iteration_s",
        "communication_s",
        "bytes_total",
        "bytes_max_link",
        "server_link_utilization",
    ):
        sim, formula = result.metrics[name], result.analytic[name]
        assert abs(sim - formula) / formula < 1e-6, name


def test_fully_connected_time_equals_formula() -> None:
    result = run(workers=5, servers=2, topology_kind="fully_connected", nodes=9)
    sim, formula = result.metrics["time_per_iteration_s"], result.analytic["time_per_iteration_s"]
    assert abs(sim - formula) / formula < 1e-6
    # every flow has its own link: each phase is latency + one shard at full link speed
    assert formula == pytest.approx(C + 2 * (LAT + G / 2 / BW), rel=1e-12)


def test_oversubscribed_uplink_makes_the_sim_slower() -> None:
    """Server n0 on leaf 0; workers n4..n7 reach it through a leaf uplink of B/2. Max-min gives
    them B/8 each (4 flows on the uplink) and the 3 local workers B/6, so a phase streams for
    8·G/B instead of the formula's 7·G/B."""
    spec = scenario(workers=7, compute=0)
    spec["cluster"]["topology"] = {
        "kind": "switch",
        "nodes": 8,
        "groups": 2,
        "uplink_bandwidth": BW / 2,
    }
    result = clustersim.run(spec)
    sim, formula = result.metrics["communication_s"], result.analytic["communication_s"]
    assert sim > formula
    assert sim - formula == pytest.approx(2 * G / BW, rel=1e-6)


def test_compute_in_flops_runs_on_the_roofline() -> None:
    spec = scenario(workers=3, compute="2 PFLOP")
    spec["cluster"]["device"] = "H100"
    result = clustersim.run(spec)
    seconds = get_device("H100").roofline_time(2e15, 0.0) + 5e-6  # one kernel's launch
    assert result.metrics["compute_s"] == pytest.approx(seconds, rel=1e-12)
    expected = seconds + 2 * (2 * LAT + 3 * G / BW)
    assert result.metrics["time_per_iteration_s"] == pytest.approx(expected, rel=1e-9)
    assert result.analytic["time_per_iteration_s"] == pytest.approx(expected, rel=1e-12)


def test_server_link_utilization_formula() -> None:
    m = run(workers=8).metrics
    busy = 2 * 8 * G / BW  # push and pull streaming through the server's link
    assert m["server_link_utilization"] == pytest.approx(busy / m["time_per_iteration_s"], rel=1e-9)


def test_ps_grows_with_n_while_ring_stays_flat() -> None:
    ps_times, ring_times = [], []
    for n in (2, 4, 8, 16):
        ps_times.append(run(workers=n, nodes=17, compute=0).metrics["time_per_iteration_s"])
        ring = clustersim.run(
            SCENARIOS / "ring_allreduce.yaml",
            [
                "cluster.topology.kind=switch",
                f"cluster.topology.nodes={n}",
                f"cluster.link.bandwidth={BW}",
                f"cluster.link.latency={LAT}",
                f"workload.size={G}",
                "workload.verify=false",
            ],
        )
        ring_times.append(ring.metrics["time_s"])
    assert ps_times == pytest.approx([2 * (2 * LAT + n * G / BW) for n in (2, 4, 8, 16)])
    assert ring_times[-1] < 2 * ring_times[0]  # ring: 2(N-1)/N·G/B, bounded by 2G/B
    assert ps_times[-1] / ps_times[0] > 7.5  # PS: linear in N
    assert all(p > r for p, r in zip(ps_times, ring_times, strict=True))
