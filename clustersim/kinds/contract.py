"""WorkloadKind, Outcome and check: the three things a kind package hands the runner.

The run of one scenario is::

    plan = kind.prepare(cluster, params)   # all input checks; no simulation, no numeric replay
    outcome = kind.simulate(plan)          # the SimPy processes, the kernels when verify is on
    prediction = kind.analytic(plan)       # the closed form, when the kind has one

``prepare`` returns whatever the kind needs to share between ``simulate`` and ``analytic`` (the
resolved ranks, the stage layout, the planner's choice): nothing is cached between them.
``clustersim validate`` calls ``prepare`` too, so an input error that only the cluster can
reveal (a rank that does not exist, more stages than devices) is found without running.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "AnalyticNote",
    "Outcome",
    "Work",
    "WorkloadKind",
    "check",
    "register",
    "registered",
]


def _finite(value: Any) -> bool:
    """False for a NaN or an infinity, looking inside lists and tuples; True otherwise."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def check(passed: bool, **details: Any) -> dict[str, Any]:
    """A verification check record: ``{"passed": bool, **details}``.

    A check whose numeric details hold a NaN or an infinity fails whatever ``passed`` says:
    a comparison with NaN is false, so ``error <= tolerance`` would otherwise let a run whose
    numbers blew up pass (NaN compared with NaN).
    """
    return {"passed": bool(passed) and all(_finite(v) for v in details.values()), **details}


@dataclass
class Outcome:
    """What a kind's ``simulate`` returns: measured metrics and verification checks."""

    metrics: dict[str, Any]
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalyticNote:
    """What one analytic value rests on, for the table ``clustersim run`` prints.

    Attributes:
        formula: the closed form with its source, ``"2(p-1)·α + 2(p-1)/p·n·β [Patarasuk &
            Yuan, JPDC 2009 §3]"``; None when the value has no closed form (the table says so
            instead of leaving the cell blank, and ``assumes`` says why).
        assumes: what makes the formula exact: ``"contention-free, no stragglers"``.
        departs: the effect the simulation models and the formula leaves out, when the two
            differ on purpose (``"contention: flows that share a link split it"``). The
            table shows it on the row when simulated and analytic differ.
    """

    formula: str | None
    assumes: str = ""
    departs: str = ""


@dataclass(frozen=True)
class Work:
    """What a run will cost, estimated from its plan before anything runs.

    Attributes:
        events: SimPy events the simulation will process (an estimate within a small factor).
        memory_bytes: bytes of numpy arrays the numeric replay will hold at once (0 when
            nothing is replayed).
        knob: the parameter to lower for fewer events (``workload.iterations``).
        memory_knob: the parameter to lower for less memory (default: ``knob``).
    """

    events: int
    memory_bytes: float = 0.0
    knob: str = "workload"
    memory_knob: str = ""


@dataclass(frozen=True)
class WorkloadKind:
    """One workload kind.

    Attributes:
        name: the ``workload.kind`` key in a scenario.
        description: one line for ``clustersim list``.
        params: the pydantic model of ``workload`` (``extra="forbid"``).
        prepare: ``(cluster, params) -> plan``; raises :class:`~clustersim.errors.InputError`
            for input that only the cluster can reject. Cheap: no simulation.
        simulate: ``(plan) -> Outcome``.
        analytic: ``(plan) -> dict`` of closed-form predictions, or None without one.
        details: lines for ``clustersim list`` (the algorithms and their formulas), or None.
        estimate: ``(plan) -> Work``, the run's cost estimated before it starts, so that a run
            far beyond the machine is refused with the estimate and the knob to turn, or None.
        analytic_notes: ``(plan) -> {name: AnalyticNote}``, what each analytic value assumes
            (and, for a metric without one, that there is no closed form), or None. Read by
            the table only: the notes are not part of the result's JSON.
    """

    name: str
    description: str
    params: type[BaseModel]
    prepare: Callable[[Any, Any], Any]
    simulate: Callable[[Any], Outcome]
    analytic: Callable[[Any], dict[str, Any]] | None = None
    details: Callable[[], list[str]] | None = None
    estimate: Callable[[Any], Work] | None = None
    analytic_notes: Callable[[Any], dict[str, AnalyticNote]] | None = None


_EXTRA: dict[str, WorkloadKind] = {}


def register(kind: WorkloadKind) -> WorkloadKind:
    """Make a kind of your own available to scenarios (the built-in kinds need no call).

    The scenario layer looks a ``workload.kind`` up among the built-in kinds first, then among
    the kinds registered here; registering a built-in name is an error.
    """
    _EXTRA[kind.name] = kind
    return kind


def registered() -> dict[str, WorkloadKind]:
    """The kinds added with :func:`register`, by name."""
    return dict(_EXTRA)
