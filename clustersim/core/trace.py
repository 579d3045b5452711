"""Trace records: spans, instants and counters, appended cheaply during a run.

A *lane* is one horizontal row of a timeline: a device stream (``("gpu0", "compute")``,
``("gpu0", "comm")``) or one direction of a link (``("links", "gpu0->gpu1")``). Lanes are grouped by
their first element (a device, or ``"links"``), which becomes a Chrome-trace process; the second
element becomes a thread. Full tracing is opt-in (``Tracer(enabled=True)``): when disabled every
recording method returns at once, so a large run pays nothing for a trace nobody asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["CounterSample", "Instant", "Lane", "Span", "Tracer"]

Lane = tuple[str, str]
"""(group, name): e.g. ("gpu0", "compute") or ("links", "gpu0->gpu1")."""


@dataclass(slots=True, frozen=True)
class Span:
    """Something that occupied ``lane`` from ``start`` to ``end`` seconds of simulated time."""

    lane: Lane
    name: str
    category: str
    start: float
    end: float
    args: dict[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class Instant:
    """A point event on a lane (a check, a decision, a failure)."""

    lane: Lane
    name: str
    time: float
    args: dict[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class CounterSample:
    """The values of a named counter (e.g. active flows) from ``time`` on."""

    name: str
    time: float
    values: dict[str, float]


@dataclass(slots=True)
class Tracer:
    """Collects spans, instants and counters when ``enabled``; a no-op otherwise.

    Lanes are remembered in first-use order so that exports and timelines are deterministic;
    a cluster declares its devices' lanes first, in rank order. ``lane_info`` holds what a
    declaration said about a lane (``{"slowdown": 2.0}`` for a straggler's compute stream).
    """

    enabled: bool = False
    spans: list[Span] = field(default_factory=list)
    instants: list[Instant] = field(default_factory=list)
    counters: list[CounterSample] = field(default_factory=list)
    lanes: dict[Lane, None] = field(default_factory=dict)
    lane_info: dict[Lane, dict[str, Any]] = field(default_factory=dict)

    def declare_lane(self, lane: Lane, **info: Any) -> None:
        """Make ``lane`` appear in exports even if nothing happens on it; ``info`` describes it
        (``slowdown=2.0``: the device's compute runs that many times slower)."""
        if self.enabled:
            self.lanes.setdefault(lane, None)
            if info:
                self.lane_info.setdefault(lane, {}).update(info)

    def span(
        self,
        lane: Lane,
        name: str,
        category: str,
        start: float,
        end: float,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Record that ``lane`` was busy with ``name`` over [start, end]."""
        if not self.enabled:
            return
        self.lanes.setdefault(lane, None)
        self.spans.append(Span(lane, name, category, start, end, args))

    def annotate_last(self, **args: Any) -> None:
        """Add ``args`` to the span recorded last.

        For a kind whose span is recorded by a helper it calls (``Device.compute``): right after
        ``yield from device.compute(...)`` returns, in the same simulation step, the last span
        is the one that call recorded. ``role=`` is what a timeline tells spans apart by
        (PEARL's ``pre-verify`` and ``post-verify`` passes are both named ``verify``).
        """
        if self.enabled and self.spans:
            last = self.spans[-1]
            self.spans[-1] = replace(last, args={**(last.args or {}), **args})

    def instant(
        self, lane: Lane, name: str, time: float, args: dict[str, Any] | None = None
    ) -> None:
        """Record a point event."""
        if not self.enabled:
            return
        self.lanes.setdefault(lane, None)
        self.instants.append(Instant(lane, name, time, args))

    def counter(self, name: str, time: float, values: dict[str, float]) -> None:
        """Record the values of counter ``name`` from ``time`` on."""
        if self.enabled:
            self.counters.append(CounterSample(name, time, dict(values)))
