"""What the partition scenario files claim in their descriptions, and that a run is
deterministic."""

from __future__ import annotations

import json

import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.inference.partition.costs import halo_elements
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.paths import SCENARIOS


def _run(name: str, *overrides: str, verify: bool = False) -> clustersim.Result:
    flags = [] if verify else ["workload.verify=false"]
    return clustersim.run(SCENARIOS / name, [*flags, *overrides])


def test_adcnn_fdsp_moves_no_halo_and_beats_both_baselines() -> None:
    r = _run("partition_adcnn_fdsp.yaml")
    m = r.metrics
    assert m["bytes_halo"] == 0 and m["tiles_per_worker"] == [7, 6, 6, 6, 6, 6, 6, 6]
    assert m["bytes_total"] == 3 * 224 * 224 * 4 + 512 * 7 * 7 * 4
    assert 4 < m["speedup_vs_single_device"] < 8 and m["speedup_vs_cloud"] > 4
    slow = _run("partition_adcnn_fdsp.yaml", "cluster.slowdown.pi3=2").metrics
    static = _run("partition_adcnn_fdsp.yaml", "cluster.slowdown.pi3=2", "workload.schedule=static")
    assert slow["tiles_per_worker"][2] < 6  # pi3, twice as slow, gets fewer tiles
    assert slow["latency_s"] < 0.8 * static.metrics["latency_s"]


def test_adcnn_halo_bytes_are_the_grid_formula_of_every_layer() -> None:
    scenario = load_scenario(SCENARIOS / "partition_adcnn_halo.yaml", ["workload.verify=false"])
    _, plan = prepare_scenario(scenario, Simulation(scenario.seed))
    stack, work, groups = plan.stack, plan.work, plan.geometry
    received = [float(work.scatter.sum()) - stack.input_bytes] + [
        float(stage.exchange.sum()) for stage in work.stages[:-1]
    ]
    for group, halo in zip(groups, received, strict=True):
        first = stack.layers[group.layers[0]]
        c, h, w = first.in_shape
        if first.op == "conv":  # 2 rows or columns per boundary, corners included
            assert halo == halo_elements(h, w, 2, 4, 2) * c * 4
        elif w % 8 == 0:  # a 2x2 pooling whose tile boundaries are even: no halo
            assert halo == 0
    r = clustersim.run(scenario)
    assert r.metrics["bytes_halo"] == sum(received)
    wifi = _run(
        "partition_adcnn_halo.yaml",
        "cluster.topology.links.0.preset=WiFi5",
        "cluster.topology.links.1.preset=WiFi5",
    )
    assert wifi.metrics["latency_s"] > 2 * r.metrics["latency_s"]


def test_channel_wise_moves_far_more_than_spatial_strips() -> None:
    channel = _run("partition_channel_wise.yaml").metrics
    assert channel["bytes_halo"] > 40 * 3.3e6 and channel["speedup_vs_single_device"] < 2


def test_head_wise_sends_a_seventh_of_the_sequence_split() -> None:
    heads = _run("partition_head_wise.yaml").metrics
    seq = _run("partition_head_wise.yaml", "workload.partition=sequence").metrics
    b, L, e, m = 1, 1024, 768, 4
    assert heads["bytes_total"] == b * L * e * 4
    assert seq["bytes_total"] == (1 + 2 * (m - 1)) * b * L * e * 4
    assert heads["latency_s"] < seq["latency_s"]


def test_modnn_two_workers_against_four() -> None:
    four = _run("partition_modnn_bodp.yaml").metrics
    two = _run("partition_modnn_bodp.yaml", "workload.workers=2", "workload.tiles=[2,1]").metrics
    assert 1 < two["speedup_vs_single_device"] < four["speedup_vs_single_device"]


@pytest.mark.parametrize("name", ["partition_modnn_bodp.yaml", "partition_head_wise.yaml"])
def test_same_seed_same_output(name: str) -> None:
    first, second = (_run(name, verify=True) for _ in range(2))
    assert json.dumps(first.metrics) == json.dumps(second.metrics)
    assert json.dumps(first.checks) == json.dumps(second.checks)
