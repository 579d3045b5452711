"""Simulated time and traffic against the bucket formula on contention-free networks: dense,
timing-only profiles, overlap hiding communication, compressed payloads, the timeline."""

from __future__ import annotations

import pytest

import clustersim
from tests.training.data_parallel.helpers import GBPS, RESNET, compressed_scenario, scenario


def test_time_equals_formula_without_overlap() -> None:
    result = clustersim.run(scenario())
    m, a = result.metrics, result.analytic
    for name in (
        "time_per_iteration_s",
        "compute_s",
        "communication_s",
        "exposed_communication_s",
        "scaling_efficiency",
        "bytes_total",
    ):
        assert m[name] == pytest.approx(a[name], rel=1e-9), name
    assert m["exposed_communication_s"] == pytest.approx(m["communication_s"], rel=1e-9)
    assert m["scaling_efficiency"] == pytest.approx(m["compute_s"] / m["time_per_iteration_s"])


def test_ring_traffic_is_2_n_minus_1_g() -> None:
    result = clustersim.run(scenario(nodes=6, iterations=7))
    m = result.metrics
    assert m["bytes_total"] == 2 * (6 - 1) * m["gradient_bytes"] * 7
    assert m["bytes_per_iteration"] == [2 * 5 * m["gradient_bytes"]] * 7


def test_parameter_server_traffic_is_2_w_g() -> None:
    result = clustersim.run(scenario(nodes=5, iterations=4, sync="parameter_server"))
    m = result.metrics
    assert m["workers"] == 4
    assert m["bytes_total"] == 2 * 4 * m["gradient_bytes"] * 4
    assert m["time_per_iteration_s"] == pytest.approx(
        result.analytic["time_per_iteration_s"], rel=1e-9
    )


@pytest.mark.parametrize("overlap", [False, True])
def test_timing_only_profile_matches_formula(overlap: bool) -> None:
    result = clustersim.run(
        scenario(
            nodes=8,
            bandwidth=100 * GBPS,
            model=RESNET,
            overlap=overlap,
            batch_size=64,
            iterations=3,
        )
    )
    m, a = result.metrics, result.analytic
    assert "final_accuracy" not in m and not result.checks
    for name in ("time_per_iteration_s", "compute_s", "communication_s", "exposed_communication_s"):
        assert m[name] == pytest.approx(a[name], rel=1e-9), name
    assert m["gradient_bytes"] == pytest.approx(25.5e6 * 4, rel=0.02)  # 25.5 M parameters


def test_overlap_hides_communication() -> None:
    # V100s on 400 Gbps: ~6 ms of compute against ~4 ms of all-reduce per iteration
    runs = {
        o: clustersim.run(
            scenario(
                nodes=8,
                bandwidth=400 * GBPS,
                device="V100",
                model=RESNET,
                overlap=o,
                batch_size=64,
                iterations=2,
            )
        ).metrics
        for o in (False, True)
    }
    plain, hidden = runs[False], runs[True]
    assert hidden["buckets"] > 1 and plain["buckets"] == 1
    assert hidden["compute_s"] == pytest.approx(plain["compute_s"])
    assert hidden["exposed_communication_s"] < 0.5 * plain["exposed_communication_s"]
    assert hidden["time_per_iteration_s"] < plain["time_per_iteration_s"]
    # the same bytes move either way (ring traffic is linear in the bucket sizes)
    assert hidden["bytes_total"] == pytest.approx(plain["bytes_total"])


def test_timeline_has_every_kernel_and_bucket() -> None:
    result = clustersim.run(
        scenario(iterations=2, overlap=True, bucket_size=1000, model=[16, 32, 32, 4]), trace=True
    )
    names = {s.name.split()[0] for s in result.trace.spans if s.lane == ("n0", "compute")}
    assert names == {"forward", "backward", "update"}
    buckets = [s for s in result.trace.spans if s.lane == ("gradients", "exchange")]
    assert len(buckets) == 2 * result.metrics["buckets"]


def test_single_worker_needs_no_network() -> None:
    result = clustersim.run(scenario(workers=1, iterations=5))
    m = result.metrics
    assert m["bytes_total"] == 0 and m["communication_s"] == 0
    assert m["scaling_efficiency"] == pytest.approx(1.0)
    assert result.checks["data_parallel_equals_single_worker"]["max_abs_err"] == 0.0


@pytest.mark.parametrize("sync", ["allreduce", "parameter_server"])
@pytest.mark.parametrize("method", ["dgc", "terngrad"])
def test_timing_only_compression_matches_formula(method: str, sync: str) -> None:
    """A profile model: expected payload sizes in simulation and formula alike."""
    result = clustersim.run(
        compressed_scenario(
            nodes=5,
            bandwidth=10 * GBPS,
            device="V100",
            model={"builtin": "resnet50"},
            batch_size=32,
            iterations=12,
            sync=sync,
            compression={"method": method},
            dataset={"samples": 1024},
            workers=4,
        )
    )
    m, a = result.metrics, result.analytic
    assert not result.checks and "final_accuracy" not in m
    # exact for the all-gather; the parameter-server formula rounds a payload up to whole
    # 4-byte elements (at most 3 bytes per phase)
    rel = 1e-9 if sync == "allreduce" else 1e-6
    assert m["time_per_iteration_s"] == pytest.approx(a["time_per_iteration_s"], rel=rel)
    assert m["dense_time_per_iteration_s"] > 1.5 * m["time_per_iteration_s"]
