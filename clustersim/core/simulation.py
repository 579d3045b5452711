"""Simulation: one SimPy environment, a seeded random-number tree and a tracer.

Every component asks for its own generator by name (``sim.rng("stragglers")``). The generator is
derived from the scenario seed and a stable hash of the name, so adding a component never shifts
another component's random stream, and the same scenario with the same seed replays exactly.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from clustersim.core.trace import Tracer
from clustersim.errors import SimulationError

__all__ = ["Simulation"]

DEFAULT_MAX_EVENTS = 50_000_000


class Simulation:
    """The shared context of one run.

    Attributes:
        env: the SimPy environment; simulated time is in seconds.
        seed: the scenario seed.
        tracer: collects spans when tracing is enabled.
        events_processed: SimPy events processed by :meth:`run` so far.

    ``run=`` another simulation makes this one part of the same scenario run (a baseline or a
    planner's alternative simulated beside the main one): :attr:`run_events` counts them all,
    and ``max_events`` (taken from the first simulation of the run) bounds them all together.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        trace: bool = False,
        run: Simulation | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        self.env = simpy.Environment()
        self.seed = int(seed)
        self.tracer = Tracer(enabled=trace)
        self.events_processed = 0
        # [events of the whole run, the run's event budget], shared by its simulations
        self._run_state = run._run_state if run is not None else [0, int(max_events)]
        self._watched: list[tuple[str, simpy.Process]] = []
        self.progress: Callable[[int, float], None] | None = None
        """Called with (events of the run, simulated time) every 2^16 events, if set."""

    @property
    def run_events(self) -> int:
        """Events processed by this simulation and every one started with ``run=`` it (or with
        ``run=`` one of those): all the simulations one scenario run performs."""
        return self._run_state[0]

    @property
    def now(self) -> float:
        """Current simulated time in seconds."""
        return self.env.now

    def rng(self, name: str) -> np.random.Generator:
        """An independent generator for component ``name``, stable across runs and versions."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(key,)))
        )

    def process(self, generator: Generator[Any, Any, Any], name: str) -> simpy.Process:
        """Start ``generator`` as a SimPy process; a deadlock report names it if it never ends."""
        proc = self.env.process(generator)
        self._watched.append((name, proc))
        return proc

    def run(self, until: float | None = None, *, max_events: int | None = None) -> None:
        """Process events until the queue is empty, or every event at times <= ``until``.

        Raises:
            SimulationError: after ``max_events`` events (default: what is left of the run's
                budget), or when the queue empties while a watched process is still waiting (a
                deadlock); the message names the processes.
        """
        env = self.env
        step = env.step
        peek = env.peek
        limit = float("inf") if until is None else float(until)
        shown_limit = max_events if max_events is not None else self._run_state[1]
        if max_events is None:
            max_events = max(0, self._run_state[1] - self._run_state[0])
        count = 0
        try:
            while True:
                next_time = peek()
                if next_time == float("inf") or next_time > limit:
                    break
                if count >= max_events:
                    raise SimulationError(
                        f"event limit of {shown_limit:,} reached at t={env.now:.9g} s "
                        f"(this simulation: {count:,} events); still running: "
                        f"{self._describe_waiting()}. Shrink the run, or raise the limit with "
                        "--max-events or CLUSTERSIM_MAX_EVENTS"
                    )
                step()
                count += 1
                if not count & 0xFFFF and self.progress is not None:
                    self.progress(self._run_state[0] + count, env.now)
        finally:
            self.events_processed += count
            self._run_state[0] += count
        if until is None:
            waiting = [name for name, proc in self._watched if proc.is_alive]
            if waiting:
                raise SimulationError(
                    f"deadlock at t={env.now:.9g} s: no event is scheduled but these processes "
                    f"are still waiting: {self._describe_waiting()}"
                )

    def _describe_waiting(self) -> str:
        names = [name for name, proc in self._watched if proc.is_alive]
        shown = ", ".join(names[:8])
        return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "") or "nothing"
