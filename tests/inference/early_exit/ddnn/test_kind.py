"""A whole DDNN run: exits, accuracies, bytes against raw offload, contention at the
aggregator, and failures that cost accuracy but not availability. (The scenario file's own
claims are its expect: block, run by tests/test_scenarios.py.)"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import clustersim
from tests.inference.early_exit.ddnn.helpers import scenario


@functools.cache
def _swept() -> clustersim.Result:
    return clustersim.run(scenario(sweep=[0.0, 0.5, 1.0]))


def test_every_check_passes_and_the_exits_add_up() -> None:
    r = _swept()
    assert r.passed, r.checks
    m = r.metrics
    assert m["local_exit_fraction"] + m["cloud_exit_fraction"] == pytest.approx(1.0)
    assert m["availability"] == 1.0
    assert m["sweep_local_exit_fraction"][0] == 0.0 and m["sweep_local_exit_fraction"][-1] == 1.0
    assert m["sweep_accuracy"][0] == m["accuracy_cloud"]
    assert m["sweep_accuracy"][-1] == m["accuracy_local"]


def test_fewer_bytes_than_offloading_the_raw_images() -> None:
    m = _swept().metrics
    assert m["bytes_uplink_per_sample"] < m["bytes_raw_per_sample"]
    # every local exit saves a feature map: the bytes fall as the local threshold rises
    assert np.all(np.diff(m["sweep_bytes_per_device"]) <= 0)


def test_the_devices_share_the_access_points_airtime() -> None:
    """Scores from n devices on one Wi-Fi medium arrive after latency + n·size/B."""
    quick = [
        "workload.thresholds.local=1.0",  # (almost) every object leaves locally
        "workload.data.train_samples=50",
        "workload.data.test_samples=20",
        "workload.training.epochs=1",
    ]
    small = clustersim.run(scenario(cameras=2), quick)
    large = clustersim.run(scenario(cameras=6), quick)
    bandwidth = 300e6 / 8  # WiFi5 preset
    extra = (6 - 2) * 40 / bandwidth  # four more 40-byte score vectors through the medium
    lat = large.metrics["latency_local_exit_s"] - small.metrics["latency_local_exit_s"]
    agg = large.analytic["latency_local_exit_s"] - small.analytic["latency_local_exit_s"]
    assert lat == pytest.approx(agg, rel=1e-9)
    assert lat == pytest.approx(extra, rel=1e-2)  # the rest: the aggregator's larger max


def test_a_failed_device_costs_accuracy_not_availability() -> None:
    r = clustersim.run(scenario(failed=["dev1", "dev2"]))
    assert r.passed, r.checks
    m = r.metrics
    assert m["availability"] == 1.0 and m["failed_devices"] == 2
    assert m["accuracy"] <= m["accuracy_all_devices"] + 0.05
    assert m["bytes_raw_per_sample"] == 2 * 256


def test_edge_exit_and_other_aggregations() -> None:
    r = clustersim.run(
        scenario(edge_exit=True, local_aggregation="concat", cloud_aggregation="average")
    )
    assert r.passed, r.checks
    m = r.metrics
    total = m["local_exit_fraction"] + m["edge_exit_fraction"] + m["cloud_exit_fraction"]
    assert total == pytest.approx(1.0)
    assert m["accuracy_edge"] > 0.1  # better than chance (10 classes)
    if m["edge_exit_fraction"] > 0:
        assert m["latency_local_exit_s"] < m["latency_edge_exit_s"]


def test_same_seed_same_output() -> None:
    quick = ["workload.data.train_samples=60", "workload.data.test_samples=30"]
    a = clustersim.run(scenario(), quick).to_json(include_wall=False)
    assert a == clustersim.run(scenario(), quick).to_json(include_wall=False)
