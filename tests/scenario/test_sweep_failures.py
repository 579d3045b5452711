"""A point that fails while it runs is a row, not an abort: its status and error are recorded,
the sweep goes on, and the exit code says what failed (1 a check, 3 a simulation).

The failures come from ``sweep_probe``, a kind made for these tests: it waits ``value``
simulated seconds and then, as ``fail`` asks, passes, fails its check, raises the
SimulationError a deadlock raises, raises an unexpected exception, or kills its own process.
It is importable (this module), so the local pool's worker processes unpickle it too; and
``sleep_s`` (wall-clock sleep) and ``busy_s`` (a Python loop holding the CPU and the GIL) make
points that last, for the resume and signal tests.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import SimulationError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind, check, register
from clustersim.scenario.sweep import parse_grid, run_sweep


class ProbeParams(BaseModel):
    """``kind: sweep_probe``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sweep_probe"] = "sweep_probe"
    value: float = 1.0
    fail: Literal["none", "check", "simulation", "bug", "die"] = "none"
    extra: bool = False
    sleep_s: float = 0.0
    busy_s: float = 0.0


@dataclass
class ProbePlan:
    cluster: Cluster
    params: ProbeParams


def _prepare(cluster: Cluster, params: ProbeParams) -> ProbePlan:
    return ProbePlan(cluster, params)


def _wait(sim: Any, seconds: float) -> Any:
    yield sim.env.timeout(seconds)


def _simulate(plan: ProbePlan) -> Outcome:
    p, sim = plan.params, plan.cluster.sim
    sim.process(_wait(sim, p.value), "probe")
    sim.run()
    time.sleep(p.sleep_s)
    end = time.perf_counter() + p.busy_s
    while time.perf_counter() < end:
        pass
    if p.fail == "simulation":
        raise SimulationError("deadlock: probe waited for a message that never came")
    if p.fail == "bug":
        raise ZeroDivisionError("probe divided by zero")
    if p.fail == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    metrics: dict[str, Any] = {"time_s": sim.now, "twice_s": 2 * sim.now}
    if p.extra:
        metrics["extra_metric"] = 7
    return Outcome(metrics, {"probe_passes": check(p.fail != "check", value=p.value)})


def _analytic(plan: ProbePlan) -> dict[str, Any]:
    return {"time_s": plan.params.value}


PROBE = register(
    WorkloadKind(
        name="sweep_probe",
        description="a test kind that fails on request",
        params=ProbeParams,
        prepare=_prepare,
        simulate=_simulate,
        analytic=_analytic,
    )
)

PROBE_YAML = """\
name: probe
description: a sweep probe
seed: 1
cluster:
  topology: {kind: ring, nodes: 2}
  link: {bandwidth: 1 GB/s, latency: 1 us}
workload: {kind: sweep_probe, value: 1.0}
"""


def probe_file(tmp_path: Path) -> Path:
    path = tmp_path / "probe.yaml"
    path.write_text(PROBE_YAML)
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_failed_points_are_rows_and_the_sweep_goes_on(tmp_path: Path, jobs: int) -> None:
    grid = parse_grid(["workload.fail=simulation,bug,check,none", "workload.value=2"])
    run = run_sweep(probe_file(tmp_path), grid, out=tmp_path / "rows.jsonl", jobs=jobs)
    rows = sorted(run, key=lambda r: r["index"])
    assert [r["status"] for r in rows] == ["sim_failed", "error", "checks_failed", "ok"]
    assert "simulation failed: deadlock: probe waited" in rows[0]["error"]
    assert "ZeroDivisionError: probe divided by zero" in rows[1]["error"]
    assert "a bug in clustersim" in rows[1]["error"]
    assert rows[2]["error"] == "failed checks: probe_passes"
    assert rows[2]["time_s"] == 2.0 and rows[2]["checks_passed"] is False
    assert rows[3]["time_s"] == rows[3]["analytic_time_s"] == 2.0
    assert "time_s" not in rows[0] and rows[0]["scenario_hash"]
    written = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert written == rows  # every row on disk, in grid order
    assert run.exit_code() == 3 and run.status_counts()["error"] == 1


def test_a_worker_that_dies_costs_retries_then_a_lost_row(tmp_path: Path) -> None:
    grid = parse_grid(["workload.fail=none,die,check"])
    run = run_sweep(probe_file(tmp_path), grid, jobs=2, retries=1)
    rows = {r["index"]: r for r in run}
    assert [rows[i]["status"] for i in range(3)] == ["ok", "lost", "checks_failed"]
    assert "died (killed by SIGKILL) on each of 2 attempts" in rows[1]["error"]
    assert run.exit_code() == 3


def _sweep(path: Path, *grid: str) -> Any:
    args = ["sweep", str(path), "--jobs", "1"]
    for spec in grid:
        args += ["--grid", spec]
    return CliRunner().invoke(app, args)


def test_exit_codes_say_what_failed(tmp_path: Path) -> None:
    path = probe_file(tmp_path)
    assert _sweep(path, "workload.value=1,2").exit_code == 0
    checks = _sweep(path, "workload.fail=none,check")
    assert checks.exit_code == 1, checks.output
    assert "checks_failed" in checks.stderr and "failed a check" in checks.stderr
    simulation = _sweep(path, "workload.fail=check,simulation,none", "workload.value=3")
    assert simulation.exit_code == 3, simulation.output
    assert "some points failed to simulate" in simulation.stderr
    assert 'point 1 (workload.fail="simulation", workload.value=3): sim_failed' in simulation.stderr
    rows = [json.loads(line) for line in simulation.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["checks_failed", "sim_failed", "ok"]


def test_a_missed_expectation_is_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "expect.yaml"
    path.write_text(PROBE_YAML + "expect:\n  time_s: {max: 1.5}\n")
    result = _sweep(path, "workload.value=1,2")
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["expectations_met"] for r in rows] == [True, False]
    assert rows[1]["error"] == "missed expectations: time_s"


PROBE_CLI = [
    sys.executable,
    "-c",
    "import tests.scenario.test_sweep_failures; from clustersim.cli import main; main()",
]
"""The command line, in a process of its own that knows ``kind: sweep_probe`` (run it with
the repository as the working directory)."""
