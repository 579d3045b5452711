"""The fedmarl kind's work estimate: SimPy events within a factor 3 of the run's.

A huge value of the knob is refused by ``clustersim validate``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import clustersim
from clustersim.cli import app
from clustersim.core.simulation import Simulation
from clustersim.federated.fedmarl.kind import simulated_events
from clustersim.scenario.build import build_cluster
from clustersim.scenario.loader import load_scenario
from tests.paths import SCENARIOS

CASES = [
    (
        "federated_fedmarl.yaml",
        ["workload.episodes=2", "workload.evaluation.seeds=1", "workload.federated.rounds=3"],
    ),
    (
        "federated_fedmarl.yaml",
        ["workload.episodes=3", "workload.evaluation.seeds=1", "workload.federated.rounds=2"],
    ),
]


def _plan(name: str, overrides: list[str]):
    scenario = load_scenario(SCENARIOS / name, overrides)
    cluster = build_cluster(scenario, Simulation(scenario.seed))
    return scenario, scenario.kind.prepare(cluster, scenario.workload)


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=[" ".join(c[1]) or c[0] for c in CASES])
def test_estimate_within_a_factor_three_of_the_run(name: str, overrides: list[str]) -> None:
    scenario, plan = _plan(name, overrides)
    estimated = simulated_events(plan)
    actual = clustersim.run(scenario).metrics["sim_events"]
    assert 1 / 3 <= estimated / actual <= 3, (estimated, actual)
    # the full estimate adds the numpy work in event-equivalents, never less than the events
    assert scenario.kind.estimate(plan).events >= estimated


def test_a_huge_value_is_refused_naming_the_knob() -> None:
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(SCENARIOS / "federated_fedmarl.yaml"),
            "--set",
            "workload.episodes=100000000",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "workload.episodes" in result.stderr and "simulation events" in result.stderr, (
        result.stderr
    )


def test_the_shipped_scenario_is_not_refused() -> None:
    result = CliRunner().invoke(app, ["validate", str(SCENARIOS / "federated_fedmarl.yaml")])
    assert result.exit_code == 0, result.output
