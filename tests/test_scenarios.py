"""Every scenario file runs, validates and passes its checks (docs/architecture.md §7).

Heavy scenarios may be shrunk for speed with overrides listed in SHRINK; the shrinking keeps
their structure (topology kind, algorithm, schedule), only sizes and counts change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import clustersim
from clustersim.scenario.loader import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
SHRINK: dict[str, list[str]] = {
    "ring_allreduce.yaml": ["workload.size=4MiB"],
    "federated_partitions.yaml": ["workload.rounds=10"],
    # trained with its claims in tests/inference/partition/test_accuracy.py
    "partition_adcnn_accuracy.yaml": [
        "workload.train.samples=600",
        "workload.train.test_samples=300",
        "workload.train.epochs=2",
        "workload.train.finetune_epochs=1",
    ],
    "federated_data_sharing.yaml": ["workload.rounds=8"],
    "federated_fedprox_stragglers.yaml": ["workload.rounds=6"],
    "federated_raspberry_wifi.yaml": ["workload.rounds=8"],
    # its planner at full size on 16 GPUs takes 4 s; its claims: test_pipedream_plans.py
    "pipeline_pipedream_gnmt.yaml": ["cluster.topology.nodes=1"],
    "federated_heterofl.yaml": ["workload.rounds=4"],
    "federated_cmfl.yaml": ["workload.rounds=3"],
    "federated_fedmarl.yaml": [
        "workload.episodes=2",
        "workload.evaluation.seeds=1",
        "workload.federated.rounds=3",
    ],
    "federated_leakage.yaml": [
        "workload.targets=1",
        "workload.attack.iterations=100",
        "workload.utility.rounds=20",
    ],
}


def test_there_are_scenarios() -> None:
    assert any(p.name == "ring_allreduce.yaml" for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_runs_and_passes(path: Path) -> None:
    scenario = load_scenario(path, SHRINK.get(path.name, []))
    assert scenario.model.description, f"{path.name} should say what it shows"
    result = clustersim.run(scenario)
    assert result.metrics, path.name
    failed = {name: c for name, c in result.checks.items() if not c["passed"]}
    assert not failed, failed
    missed = {name: e for name, e in result.expectations.items() if not e["met"]}
    assert not missed, missed  # what the scenario's expect: block says clustersim guarantees


def test_scenario_index_lists_every_scenario() -> None:
    index = (SCENARIOS[0].parent / "README.md").read_text()
    missing = [p.name for p in SCENARIOS if p.name not in index]
    assert not missing, f"scenarios/README.md does not list {missing}"
