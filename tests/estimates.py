"""Shared checks for the kinds' work estimates (``estimate`` in each kind.py): the SimPy part
within a factor 3 of a real run's events, a huge knob refused by ``clustersim validate``
naming it, and the shipped scenario validating."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from typer.testing import CliRunner

import clustersim
from clustersim.cli import app
from clustersim.core.simulation import Simulation
from clustersim.scenario.build import build_cluster
from clustersim.scenario.loader import load_scenario
from tests.paths import SCENARIOS


def case_id(case: tuple[str, list[str]]) -> str:
    """A test id for a ``(scenario file, overrides)`` case."""
    return " ".join(case[1]) or case[0]


def assert_estimate_near_the_run(
    name: str, overrides: list[str], simulated_events: Callable[[Any], int]
) -> None:
    """The kind's ``simulated_events(plan)`` is within [1/3, 3] of the run's ``sim_events``,
    and the full estimate (numpy work added as event-equivalents) is never below it."""
    scenario = load_scenario(SCENARIOS / name, overrides)
    cluster = build_cluster(scenario, Simulation(scenario.seed))
    plan = scenario.kind.prepare(cluster, scenario.workload)
    estimated = simulated_events(plan)
    actual = clustersim.run(scenario).metrics["sim_events"]
    assert 1 / 3 <= estimated / actual <= 3, (estimated, actual)
    assert scenario.kind.estimate(plan).events >= estimated


def assert_refused_naming(name: str, overrides: list[str], knob: str, *options: str) -> None:
    """``clustersim validate`` with ``--set`` each override exits 2 and names ``knob``."""
    args = [arg for override in overrides for arg in ("--set", override)]
    result = CliRunner().invoke(app, ["validate", str(SCENARIOS / name), *args, *options])
    assert result.exit_code == 2, result.output
    assert knob in result.stderr and "simulation events" in result.stderr, result.stderr


def assert_validates(name: str, overrides: Sequence[str] = ()) -> None:
    """``clustersim validate`` accepts the scenario (with the overrides) under the defaults."""
    args = [arg for override in overrides for arg in ("--set", override)]
    result = CliRunner().invoke(app, ["validate", str(SCENARIOS / name), *args])
    assert result.exit_code == 0, result.output
