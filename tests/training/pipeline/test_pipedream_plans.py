"""PipeDream's planner on the paper's VGG-16 / ResNet-50 configurations (SOSP 2019, Table 1)."""

from __future__ import annotations

import pytest

import clustersim
from tests.paths import SCENARIOS


def _run(name: str, *overrides: str) -> clustersim.Result:
    return clustersim.run(SCENARIOS / name, ["workload.verify=false", *overrides])


def test_vgg16_on_4x4_is_15_1_and_beats_data_parallelism() -> None:
    """PipeDream Table 1 (lecture notes): VGG-16, 4x4 Cluster-A, config 15-1, 5.28x over DP."""
    r = _run("pipeline_pipedream_vgg16.yaml")
    m, a = r.metrics, r.analytic
    assert m["plan"] == "15-1" == a["plan"]
    assert m["layers_per_stage"][1] <= 4  # the second stage holds the fully connected layers
    assert m["speedup_over_data_parallel_ratio"] > 1.5
    assert m["speedup_over_even_split_ratio"] > 1.5
    # the runtime reproduces the planner's own prediction, and data parallelism's
    assert m["throughput_samples_per_s"] == pytest.approx(a["throughput_samples_per_s"], rel=1e-6)
    assert m["data_parallel_throughput_samples_per_s"] == pytest.approx(
        a["data_parallel_throughput_samples_per_s"], rel=1e-6
    )
    assert m["weight_versions_per_stage"] == [2, 1]  # NOAM = ceil(16 / 15)


def test_resnet50_on_4x4_is_data_parallel() -> None:
    """PipeDream Table 1: ResNet-50, 4x4 Cluster-A, config 16, 1x."""
    r = _run("pipeline_pipedream_resnet50.yaml", "workload.compare=false")
    assert r.metrics["plan"] == "16"
    assert r.metrics["throughput_samples_per_s"] == pytest.approx(
        r.analytic["throughput_samples_per_s"], rel=1e-6
    )
    fast = _run(
        "pipeline_pipedream_resnet50.yaml",
        "workload.compare=false",
        "cluster.topology.inter_link=100GbE",
    )
    assert fast.metrics["plan"] == "16"


def test_a_fast_network_makes_data_parallelism_optimal_for_vgg16() -> None:
    """At 100 Gb/s the 553 MB gradient all-reduce hides behind the compute: the planner
    falls back to "16", which is then faster than 15-1 was on 10 Gb/s."""
    fast = _run(
        "pipeline_pipedream_vgg16.yaml",
        "workload.compare=false",
        "cluster.topology.inter_link=100GbE",
    )
    assert fast.metrics["plan"] == "16"
    assert fast.metrics["throughput_samples_per_s"] == pytest.approx(
        fast.analytic["throughput_samples_per_s"], rel=1e-6
    )
