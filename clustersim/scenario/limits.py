"""How big a run may be: limits on events and memory, checked against each kind's estimate.

A run whose estimate (:class:`~clustersim.kinds.contract.Work`) is over a limit is refused
before it starts, with the estimate, the limit and the two ways out: a smaller value of the
kind's knob, or a higher limit (``--max-events`` / ``--max-memory`` on the command line,
``CLUSTERSIM_MAX_EVENTS`` / ``CLUSTERSIM_MAX_MEMORY`` in the environment). The defaults are what
this machine does in a few minutes: the engine processes roughly 20,000-100,000 events a second
(``benchmarks/engine.py``), so 10 million events is a few minutes; and half of the memory the
machine has available now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from clustersim.errors import InputError
from clustersim.kinds.contract import Work
from clustersim.units import format_bytes, parse_bytes

__all__ = ["DEFAULT_MAX_EVENTS", "RunLimits", "available_memory", "check_work"]

DEFAULT_MAX_EVENTS = 10_000_000
_FALLBACK_MEMORY = 4 * 2**30


def available_memory() -> float:
    """Bytes of memory available to a new allocation now (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return float(_FALLBACK_MEMORY)


@dataclass(frozen=True)
class RunLimits:
    """The largest run allowed: SimPy events and bytes of replay memory."""

    max_events: int = DEFAULT_MAX_EVENTS
    max_memory: float = 0.0
    """0 means half of :func:`available_memory` at the time of the check."""

    @classmethod
    def from_environment(
        cls, max_events: int | None = None, max_memory: str | float | None = None
    ) -> RunLimits:
        """Limits from the arguments, else ``CLUSTERSIM_MAX_EVENTS``/``_MEMORY``, else defaults."""
        events = max_events if max_events is not None else os.environ.get("CLUSTERSIM_MAX_EVENTS")
        memory = max_memory if max_memory is not None else os.environ.get("CLUSTERSIM_MAX_MEMORY")
        try:
            events_n = DEFAULT_MAX_EVENTS if events is None else int(events)
        except ValueError:
            raise InputError(f"max events {events!r} is not a whole number") from None
        if events_n < 1:
            raise InputError(f"max events must be at least 1, got {events_n}")
        memory_b = 0.0
        if memory is not None:
            memory_b = parse_bytes(memory) if isinstance(memory, str) else float(memory)
            if not memory_b > 0:
                raise InputError(f"max memory must be a positive size, got {memory!r}")
        return cls(events_n, memory_b)

    @property
    def memory(self) -> float:
        """The memory limit in bytes (the default resolved now)."""
        return self.max_memory or available_memory() / 2


def check_work(work: Work, limits: RunLimits, source: str) -> None:
    """Refuse a run whose estimate is over the limits, naming the estimate and the knobs."""
    if work.events > limits.max_events:
        raise InputError(
            f"{source}: this run would process about {work.events:,} simulation events "
            "(numeric training and attacks counted as their equivalent in events), more than "
            f"the limit of {limits.max_events:,} (a few minutes on this machine); lower "
            f"{work.knob}, or raise the limit with --max-events or CLUSTERSIM_MAX_EVENTS"
        )
    if work.memory_bytes > limits.memory:
        raise InputError(
            f"{source}: this run's numeric replay would hold about "
            f"{format_bytes(work.memory_bytes, 3)} of arrays, more than the limit of "
            f"{format_bytes(limits.memory, 3)} (half the memory available now); lower "
            f"{work.memory_knob or work.knob}, set verify: false for a timing-only run where "
            "the kind has one, or raise the limit with --max-memory or CLUSTERSIM_MAX_MEMORY"
        )
