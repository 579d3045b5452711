"""The split each Neurosurgeon scenario file says it chooses (their expect: blocks hold what is
true under every --set variation they suggest; tests/test_scenarios.py runs those)."""

from __future__ import annotations

import pytest

import clustersim
from tests.paths import SCENARIOS


@pytest.mark.parametrize(
    ("name", "overrides", "split"),
    [
        ("edge_neurosurgeon_vgg16.yaml", [], 0),  # Wi-Fi: send the image
        ("edge_neurosurgeon_vgg16.yaml", ["workload.mobile=dev1"], 31),  # Jetson: after pool5
        ("edge_neurosurgeon_vgg16_lte.yaml", [], 39),  # LTE: everything on the Pi
        ("edge_neurosurgeon_vgg16_lte.yaml", ["workload.objective=energy"], 0),
        ("edge_neurosurgeon_alexnet.yaml", [], 3),  # after the first pooling layer
        ("edge_neurosurgeon_alexnet.yaml", ["cluster.topology.device_link=LTE-uplink"], 21),
        ("edge_neurosurgeon_alexnet_energy.yaml", [], 13),  # after pool5
        ("edge_neurosurgeon_alexnet_energy.yaml", ["workload.objective=latency"], 21),
    ],
)
def test_the_split_the_description_claims(name: str, overrides: list[str], split: int) -> None:
    result = clustersim.run(SCENARIOS / name, [*overrides, "workload.verify=false"])
    assert result.metrics["split"] == split
    assert result.passed


def test_the_energy_objective_saves_energy_and_costs_time() -> None:
    m = clustersim.run(SCENARIOS / "edge_neurosurgeon_alexnet_energy.yaml").metrics
    assert m["mobile_energy_j"] < m["mobile_energy_all_mobile_j"]
    assert m["latency_s"] > m["latency_all_mobile_s"]
