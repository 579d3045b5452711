"""One point of a sweep: its resolved scenario, the hash that names it, and the row it becomes.

A point is run the same way wherever it runs (in the sweep's own process, in a local worker
process, on a Dask worker on another machine): :func:`run_point` takes the validated
:class:`~clustersim.scenario.loader.Scenario` (no file is read again, so an edit to the YAML
during a long sweep changes nothing) and always returns a row, never raises for a point that
failed: a failure is a row with a ``status`` and an ``error`` message.

Row statuses, and the exit-code class of ``clustersim run`` each corresponds to
(docs/architecture.md §5):

========================  =====================================================================
``ok``                    ran; every check passed and every expectation was met (exit 0)
``checks_failed``         ran, but a verification check failed or an expectation was missed
                          (exit 1); the metrics are in the row, the failed names in ``error``
``sim_failed``            the simulation itself failed: deadlock, event limit (exit 3)
``error``                 an unexpected exception inside clustersim, a bug (exit 70)
``lost``                  the process running the point died (killed, out of memory) on every
                          attempt; set by the pool, not here
========================  =====================================================================
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clustersim.errors import InputError, SimulationError
from clustersim.result import Result, to_plain
from clustersim.scenario.limits import RunLimits
from clustersim.scenario.loader import Scenario
from clustersim.scenario.runner import run_scenario

__all__ = [
    "FAILED_STATUSES",
    "STATUSES",
    "SweepPoint",
    "failure_row",
    "point_label",
    "result_row",
    "run_point",
    "scenario_hash",
]

STATUSES = ("ok", "checks_failed", "sim_failed", "error", "lost")
"""Every value of a row's ``status``, in the order the summary lists them."""
FAILED_STATUSES = frozenset({"sim_failed", "error", "lost"})
"""Statuses of points that produced no result (a sweep with one exits 3)."""


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the canonical JSON of everything that decides a point's row.

    That is the validated scenario with its topology and workload as their typed models dump
    them (defaults filled in, units resolved to SI: ``size: 1MiB`` and ``size: 1048576`` are
    one scenario), its seed and name, and its ``expect:`` block. The description and the
    ``output:`` paths are left out: a sweep writes no per-point files, and rewording a
    description must not make a resumed sweep run everything again. Keys are sorted and floats
    are written by ``json`` (shortest repr), so the hash is the same in every process, on every
    machine and for every ``PYTHONHASHSEED``.
    """
    model = scenario.model.model_dump(
        mode="json", exclude={"description": True, "output": True, "workload": True}
    )
    model["cluster"].pop("topology", None)
    canonical = {
        "scenario": model,
        "topology": scenario.topology.model_dump(mode="json"),
        "workload": scenario.workload.model_dump(mode="json"),
        "expect": (
            scenario.expectations.model_dump(mode="json")
            if scenario.expectations is not None
            else None
        ),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SweepPoint:
    """One grid point, validated: its index, its grid values and its resolved scenario."""

    index: int
    values: tuple[tuple[str, Any], ...]
    scenario: Scenario
    scenario_hash: str


def point_label(values: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> str:
    """``workload.workers=40, cluster.topology.nodes=8``: the grid values as ``--grid`` spells
    them."""
    return ", ".join(f"{key}={json.dumps(value)}" for key, value in values) or "(no grid)"


def _head(point: SweepPoint, status: str) -> dict[str, Any]:
    row: dict[str, Any] = {"index": point.index}
    row.update(dict(point.values))
    row["status"] = status
    return row


def _why(result: Result) -> str:
    failed = [name for name, c in result.checks.items() if not c.get("passed", False)]
    missed = [name for name, e in result.expectations.items() if not e.get("met", False)]
    parts = []
    if failed:
        parts.append("failed checks: " + ", ".join(failed))
    if missed:
        parts.append("missed expectations: " + ", ".join(missed))
    return "; ".join(parts)


def result_row(
    index: int,
    point: list[tuple[str, Any]] | tuple[tuple[str, Any], ...],
    result: Result,
    *,
    scenario_hash: str | None = None,
) -> dict[str, Any]:
    """One row: index, grid values, status, metrics, ``analytic_*``, checks, ``error`` (names
    of what failed, when something did), wall time and the scenario hash.

    Metrics and predictions are the JSON values ``clustersim run`` prints
    (:func:`~clustersim.result.to_plain`): a list-valued metric (a per-round accuracy curve, a
    per-stage time) stays a list, and a mapping a mapping, so a sweep of curves is a sweep
    too; the journal holds them as JSON, the CSV as compact JSON text in one cell.
    """
    status = "ok" if result.passed else "checks_failed"
    row: dict[str, Any] = {"index": index}
    row.update(dict(point))
    row["status"] = status
    row.update(to_plain(result.metrics))
    row.update({f"analytic_{k}": v for k, v in to_plain(result.analytic).items()})
    row["checks_passed"] = all(c.get("passed", False) for c in result.checks.values())
    if result.expectations:
        row["expectations_met"] = all(e.get("met", False) for e in result.expectations.values())
    if status != "ok":
        row["error"] = _why(result)
    row["wall_s"] = round(result.wall_s, 6)
    if scenario_hash is not None:
        row["scenario_hash"] = scenario_hash
    return row


def failure_row(point: SweepPoint, status: str, error: str, wall_s: float = 0.0) -> dict[str, Any]:
    """The row of a point that produced no result: its status and one-paragraph error."""
    row = _head(point, status)
    row["error"] = error
    row["wall_s"] = round(wall_s, 6)
    row["scenario_hash"] = point.scenario_hash
    return row


def _where(exc: BaseException) -> str:
    """`` at file.py:123``: the innermost frame of an unexpected exception."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return ""
    return f" at {Path(frame.tb_frame.f_code.co_filename).name}:{frame.tb_lineno}"


def run_point(point: SweepPoint, limits: RunLimits | None = None) -> dict[str, Any]:
    """Simulate one point and return its row; a failure is a row too, never an exception
    (but KeyboardInterrupt and SystemExit, which stop the sweep, pass through).

    The row also gets ``cpu_s``, the CPU seconds of the process that ran it: next to
    ``wall_s`` it shows a point that waited for a CPU (a busy machine, more jobs than cores).
    """
    started, cpu = time.perf_counter(), time.process_time()
    try:
        result = run_scenario(point.scenario, limits=limits)
    except SimulationError as exc:
        row = failure_row(
            point, "sim_failed", f"simulation failed: {exc}", time.perf_counter() - started
        )
    except InputError as exc:  # a cross-field error only the simulation finds
        row = failure_row(point, "sim_failed", str(exc), time.perf_counter() - started)
    except Exception as exc:
        row = failure_row(
            point,
            "error",
            f"internal error{_where(exc)}: {type(exc).__name__}: {exc} (a bug in clustersim: "
            "please report it with the scenario, the grid and this point)",
            time.perf_counter() - started,
        )
    else:
        row = result_row(point.index, point.values, result, scenario_hash=point.scenario_hash)
    digest = row.pop("scenario_hash")
    row["cpu_s"] = round(time.process_time() - cpu, 6)
    row["scenario_hash"] = digest
    return row
