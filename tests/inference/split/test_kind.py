"""A whole split run: the chosen split simulated against its prediction, both extremes, the
numeric check, and determinism."""

from __future__ import annotations

import pytest

import clustersim
from tests.inference.split.helpers import scenario


def test_checks_and_extremes() -> None:
    r = clustersim.run(scenario(model="alexnet", verify=True))
    assert r.passed, r.checks
    assert set(r.checks) == {"latency_equals_prediction", "split_equals_unsplit"}
    m, a = r.metrics, r.analytic
    for key in ("latency_s", "latency_all_cloud_s", "latency_all_mobile_s"):
        assert m[key] == pytest.approx(a[key], rel=1e-12), key
    assert m["latency_s"] <= min(m["latency_all_cloud_s"], m["latency_all_mobile_s"])
    assert m["split"] == 3 and m["split_at"] == "after 2 MaxPool2d"
    assert m["bytes_uplink"] == m["layer_output_bytes"][2]


def test_same_seed_same_output() -> None:
    a = clustersim.run(scenario(model="alexnet", verify=True)).to_json(include_wall=False)
    b = clustersim.run(scenario(model="alexnet", verify=True)).to_json(include_wall=False)
    assert a == b
