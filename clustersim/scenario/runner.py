"""Running a scenario: load, build, simulate, predict, and package a Result."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.scenario.build import build_cluster
from clustersim.scenario.expect import evaluate
from clustersim.scenario.limits import RunLimits, check_work
from clustersim.scenario.loader import Scenario, load_scenario

if TYPE_CHECKING:
    from clustersim.result import Result

__all__ = ["check_scenario", "prepare_scenario", "run", "run_scenario"]


def _located(scenario: Scenario, exc: InputError) -> InputError:
    """``exc`` with the scenario's file in front, unless it already names it."""
    message = str(exc)
    if not message.startswith(scenario.source):
        message = f"{scenario.source}: {message}"
    return InputError(message)


def prepare_scenario(
    scenario: Scenario, sim: Simulation, limits: RunLimits | None = None
) -> tuple[Cluster, Any]:
    """Build the cluster and the kind's plan and check its size: every input check, no run."""
    cluster = build_cluster(scenario, sim)
    kind = scenario.kind
    try:
        plan = kind.prepare(cluster, scenario.workload)
        if kind.estimate is not None:
            check_work(kind.estimate(plan), limits or RunLimits(), scenario.source)
    except InputError as exc:
        raise _located(scenario, exc) from None
    return cluster, plan


def check_scenario(
    source: str | Path | Mapping[str, Any],
    overrides: Iterable[str | tuple[str, Any]] = (),
    *,
    limits: RunLimits | None = None,
) -> tuple[Scenario, Cluster]:
    """Load a scenario, build its cluster and prepare its kind, without running.

    This is the first half of :func:`run_scenario` through the same code path (the kind's
    ``prepare`` step and the size check), so every input error a run reports before simulating
    is reported here.
    """
    scenario = load_scenario(source, overrides)
    cluster, _ = prepare_scenario(scenario, Simulation(scenario.seed), limits)
    return scenario, cluster


def run_scenario(
    scenario: Scenario,
    *,
    trace: bool = False,
    limits: RunLimits | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> Result:
    """Simulate a loaded scenario and compute its analytic prediction.

    ``progress(events, simulated_seconds)`` is called now and then during a long simulation.
    """
    from clustersim.result import Result, to_plain  # here: validate never builds a Result

    limits = limits or RunLimits()
    started = time.perf_counter()
    sim = Simulation(scenario.seed, trace=trace, max_events=limits.max_events)
    sim.progress = progress
    _, plan = prepare_scenario(scenario, sim, limits)
    kind = scenario.kind
    try:
        outcome = kind.simulate(plan)
        analytic = kind.analytic(plan) if kind.analytic else {}
        notes = kind.analytic_notes(plan) if kind.analytic_notes else {}
    except InputError as exc:
        raise _located(scenario, exc) from None
    # every simulation the run performed (baselines and alternatives on fresh clusters too)
    metrics = to_plain({**outcome.metrics, "sim_events": sim.run_events})
    analytic, checks = to_plain(analytic), to_plain(outcome.checks)
    expectations = {}
    if scenario.expectations is not None:
        expectations = evaluate(
            scenario.expectations,
            metrics,
            analytic,
            checks,
            scenario.workload,
            scenario.source,
            skip_missing=not scenario.as_written,
        )
    return Result(
        scenario=scenario.name,
        seed=scenario.seed,
        metrics=metrics,
        analytic=analytic,
        checks=checks,
        expectations=expectations,
        analytic_notes=notes,
        wall_s=time.perf_counter() - started,
        trace=sim.tracer,
    )


def run(
    scenario: str | Path | Mapping[str, Any] | Scenario,
    overrides: Iterable[str | tuple[str, Any]] = (),
    *,
    trace: bool = False,
    limits: RunLimits | None = None,
) -> Result:
    """Run a scenario given as a YAML path, a mapping or a loaded :class:`Scenario`.

    ``overrides`` are ``"dotted.path=value"`` strings (or ``(path, value)`` pairs) applied before
    validation, like the CLI's ``--set``. ``trace=True`` records spans for a timeline or a
    Chrome trace (off by default: large runs should not pay for it).
    """
    if isinstance(scenario, Scenario):  # overrides apply to its source mapping, re-validated
        overrides = list(overrides)
        loaded = (
            load_scenario(scenario.raw, overrides, source=scenario.source)
            if overrides
            else scenario
        )
    else:
        loaded = load_scenario(scenario, overrides)
    return run_scenario(loaded, trace=trace, limits=limits)
