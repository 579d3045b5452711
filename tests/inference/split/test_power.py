"""The power models: presets with their sources, and the mobile's energy of a simulated run."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.hardware.presets import DEVICE_PRESETS
from clustersim.inference.split.power import POWER_PRESETS
from tests.inference.split.helpers import scenario


def test_every_power_preset_is_a_device_preset_with_a_source() -> None:
    for name, power in POWER_PRESETS.items():
        assert name in DEVICE_PRESETS
        assert power.source
        assert 0 <= power.idle_w <= power.compute_w
        assert power.idle_w <= power.transmit_w


def test_energy_is_the_phases_at_their_powers() -> None:
    power = {"compute_w": 5.0, "idle_w": 1.0, "transmit_w": 3.0}
    r = clustersim.run(scenario(model="alexnet", split=5, power={"dev0": power}))
    m = r.metrics
    expected = (
        5.0 * m["mobile_compute_s"]
        + 3.0 * (m["uplink_s"] + m["downlink_s"])
        + (1.0 * m["cloud_compute_s"])
    )
    assert m["mobile_energy_j"] == pytest.approx(expected, rel=1e-12)
    assert m["mobile_energy_j"] == pytest.approx(r.analytic["mobile_energy_j"], rel=1e-12)


def test_the_energy_objective_can_choose_differently_from_latency() -> None:
    fast = clustersim.run(scenario(model="alexnet", mobile="dev1")).metrics
    frugal = clustersim.run(scenario(model="alexnet", mobile="dev1", objective="energy")).metrics
    assert frugal["mobile_energy_j"] < fast["mobile_energy_j"]
    assert frugal["latency_s"] >= fast["latency_s"]
    assert frugal["split"] != fast["split"]
