"""Measured per-layer tables plug in instead of the device model, one entry per layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import clustersim
from clustersim.cli import app
from tests.inference.split.helpers import scenario

LAYERS = 21  # AlexNet


def test_a_measured_table_sets_the_devices_layer_times() -> None:
    mobile = [0.002] * LAYERS
    r = clustersim.run(scenario(model="alexnet", layer_times={"dev0": mobile}, split=LAYERS))
    assert r.metrics["layer_mobile_s"] == mobile
    assert r.metrics["latency_s"] == pytest.approx(0.002 * LAYERS, rel=1e-12)
    assert r.passed


def test_a_table_with_units_and_a_slower_device() -> None:
    table = ["1 ms"] * LAYERS
    r = clustersim.run(
        scenario(model="alexnet", layer_times={"cloud": table}, split=0),
        ["cluster.slowdown.cloud=2.0"],
    )
    assert r.metrics["cloud_compute_s"] == pytest.approx(2 * 0.001 * LAYERS, rel=1e-12)


def test_a_table_of_the_wrong_length_is_exit_2_with_a_located_message(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(model="alexnet", layer_times={"dev0": [0.001] * 5})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "workload.layer_times.dev0: 5 entries, but alexnet has 21 layers" in result.output
