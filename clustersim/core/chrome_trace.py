"""Export a :class:`~clustersim.core.trace.Tracer` as a Chrome trace (Perfetto / chrome://tracing).

The output follows the *JSON Object Format* of the Trace Event Format: a JSON object whose
``traceEvents`` member holds the events, with ``displayTimeUnit`` and ``otherData`` beside it.
Reference: "Trace Event Format" (Google, catapult project),
https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU/ , which the
catapult repository points to from ``docs/trace-event-format.md``. The parts used here:

* every event has ``name``, ``ph`` (phase), ``ts``, ``pid`` and ``tid``; ``ts`` and ``dur`` are
  in **microseconds** and may be fractional, so simulated seconds are multiplied by ``1e6``;
* complete events (``"ph": "X"``) carry their duration in ``dur``: one event per span;
* instant events (``"ph": "i"``) have a scope ``s``: ``"t"`` (thread) pins them to their lane;
* counter events (``"ph": "C"``) put one series per key of ``args``; counters are process-local,
  so all counters live in one dedicated ``"counters"`` process;
* metadata events (``"ph": "M"``) ``process_name`` / ``thread_name`` (``args.name``) and
  ``process_sort_index`` / ``thread_sort_index`` (``args.sort_index``, lower is shown higher)
  name the tracks and keep the viewer's order equal to the tracer's lane order.

Mapping: each lane group (the first element of a lane, e.g. ``"n0"`` or ``"links"``) is a process
with ``pid`` 1, 2, ... in the first-use order of the lanes; each lane is a thread of that process
with ``tid`` 1, 2, ... in the same order. The export is deterministic: the same tracer gives
byte-identical ``json.dumps(..., sort_keys=True)`` output. Times are rounded to 1e-6 us (1 ps) so
that float noise from ``end - start`` does not leak into the file; negative durations are clamped
to zero.

**No partial overlaps on a thread.** Complete events on one thread must nest (a viewer draws
them as a stack of slices, and an event that starts inside another but ends after it is drawn
wrong or dropped). A lane can carry overlapping spans: the flows a device has in flight on its
``comm`` stream, say a pipeline activation and a ring all-reduce step at once. Such a lane becomes
several threads, ``comm``, ``comm#2``, ``comm#3`` ...: each span goes to the first of them on
which it nests (it starts after the open spans there end, or ends within the innermost one),
earliest start first, longer first on ties. Lanes whose spans never overlap keep one thread.
A lane declared with ``slowdown`` (a straggler's compute stream) has it in its thread name:
``compute (slowdown x2)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clustersim.core.trace import Lane, Tracer

__all__ = ["to_chrome_trace", "write_chrome_trace"]

_US_PER_S = 1e6
_TS_DIGITS = 6  # decimals of microseconds kept: 1e-6 us = 1 ps
_COUNTERS_PROCESS = "counters"
# Rank of phases among events with the same timestamp and track (metadata events come first).
_PHASE_RANK = {"X": 0, "i": 1, "C": 2}


def _us(seconds: float) -> float:
    """Simulated seconds -> microseconds, as a float rounded to picoseconds."""
    value = round(float(seconds) * _US_PER_S, _TS_DIGITS)
    return value + 0.0  # turn -0.0 into 0.0 so equal inputs serialise identically


def _jsonable(value: Any) -> Any:
    """``value`` made strictly JSON-serialisable (finite numbers, string keys)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _all_lanes(tracer: Tracer) -> list[Lane]:
    """The tracer's lanes in first-use order, plus any lane only referenced by an event."""
    lanes: dict[Lane, None] = dict.fromkeys(tracer.lanes)
    for span in tracer.spans:
        lanes.setdefault(span.lane, None)
    for instant in tracer.instants:
        lanes.setdefault(instant.lane, None)
    return list(lanes)


def _track_ids(
    lanes: Iterable[Lane], threads: dict[Lane, int]
) -> tuple[dict[str, int], dict[Lane, tuple[int, int]]]:
    """``pid`` per group and ``(pid, first tid)`` per lane, numbered from 1 in first-use order;
    a lane split into ``threads[lane]`` threads takes that many consecutive tids."""
    pids: dict[str, int] = {}
    ids: dict[Lane, tuple[int, int]] = {}
    next_tid: dict[int, int] = {}
    for lane in lanes:
        group = str(lane[0])
        pid = pids.setdefault(group, len(pids) + 1)
        tid = next_tid.get(pid, 1)
        next_tid[pid] = tid + threads.get(lane, 1)
        ids[lane] = (pid, tid)
    return pids, ids


def _span_times(tracer: Tracer) -> list[tuple[float, float]]:
    """``(ts, dur)`` of every span in microseconds, as written."""
    out = []
    for span in tracer.spans:
        ts = _us(span.start)
        out.append((ts, max(0.0, round(_us(span.end) - ts, _TS_DIGITS)) + 0.0))
    return out


def _nesting_levels(tracer: Tracer, times: list[tuple[float, float]]) -> list[int]:
    """For every span, the thread of its lane it goes to (0: the lane's own) so that the
    complete events of each thread nest (see the module docstring)."""
    by_lane: dict[Lane, list[int]] = {}
    for i, span in enumerate(tracer.spans):
        by_lane.setdefault(span.lane, []).append(i)
    level = [0] * len(times)
    for indices in by_lane.values():
        indices.sort(key=lambda i: (times[i][0], -times[i][1]))
        open_ends: list[list[float]] = []  # per thread: ends of its open spans, innermost last
        for i in indices:
            ts, dur = times[i]
            end = ts + dur
            for k, stack in enumerate(open_ends):
                while stack and stack[-1] <= ts:
                    stack.pop()
                if not stack or end <= stack[-1]:
                    stack.append(end)
                    level[i] = k
                    break
            else:
                open_ends.append([end])
                level[i] = len(open_ends) - 1
    return level


def _thread_name(tracer: Tracer, lane: Lane, k: int) -> str:
    name = str(lane[1]) if k == 0 else f"{lane[1]}#{k + 1}"
    slowdown = tracer.lane_info.get(lane, {}).get("slowdown", 1.0)
    if slowdown != 1.0:
        name += f" (slowdown x{slowdown:g})"
    return name


def _metadata_event(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"ph": "M", "name": name, "pid": pid, "tid": tid, "args": args}


def to_chrome_trace(tracer: Tracer, *, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tracer's spans, instants and counters as a Chrome Trace Event Format JSON object.

    Returns ``{"traceEvents": [...], "displayTimeUnit": "ns", "otherData": metadata}``, ready for
    :func:`json.dumps`; open the written file in https://ui.perfetto.dev or chrome://tracing.
    Metadata events (names and sort indices of processes and threads) come first, then all other
    events sorted by ``(ts, pid, tid, name)`` (longer spans first on ties, so nesting is kept).
    A tracer with nothing recorded (e.g. a disabled one) gives an empty ``traceEvents`` list.
    """
    lanes = _all_lanes(tracer)
    times = _span_times(tracer)
    levels = _nesting_levels(tracer, times)
    threads: dict[Lane, int] = {}
    for span, k in zip(tracer.spans, levels, strict=True):
        threads[span.lane] = max(threads.get(span.lane, 1), k + 1)
    pids, ids = _track_ids(lanes, threads)

    meta: list[dict[str, Any]] = []
    for group, pid in pids.items():
        meta.append(_metadata_event("process_name", pid, 0, {"name": group}))
        meta.append(_metadata_event("process_sort_index", pid, 0, {"sort_index": pid}))
    for lane, (pid, first) in ids.items():
        for k in range(threads.get(lane, 1)):
            name = _thread_name(tracer, lane, k)
            meta.append(_metadata_event("thread_name", pid, first + k, {"name": name}))
            meta.append(
                _metadata_event("thread_sort_index", pid, first + k, {"sort_index": first + k})
            )

    events: list[dict[str, Any]] = []
    for span, (ts, dur), k in zip(tracer.spans, times, levels, strict=True):
        pid, tid = ids[span.lane]
        events.append(
            {
                "ph": "X",
                "name": str(span.name),
                "cat": str(span.category),
                "ts": ts,
                "dur": dur,
                "pid": pid,
                "tid": tid + k,
                "args": _jsonable(span.args) if span.args else {},
            }
        )
    for instant in tracer.instants:
        pid, tid = ids[instant.lane]
        event: dict[str, Any] = {
            "ph": "i",
            "s": "t",
            "name": str(instant.name),
            "cat": "instant",
            "ts": _us(instant.time),
            "pid": pid,
            "tid": tid,
        }
        if instant.args:
            event["args"] = _jsonable(instant.args)
        events.append(event)

    if tracer.counters:
        counters_pid = len(pids) + 1
        meta.append(_metadata_event("process_name", counters_pid, 0, {"name": _COUNTERS_PROCESS}))
        meta.append(
            _metadata_event("process_sort_index", counters_pid, 0, {"sort_index": counters_pid})
        )
        for sample in tracer.counters:
            values = {str(k): float(v) for k, v in sample.values.items() if math.isfinite(float(v))}
            events.append(
                {
                    "ph": "C",
                    "name": str(sample.name),
                    "ts": _us(sample.time),
                    "pid": counters_pid,
                    "tid": 0,
                    "args": values,
                }
            )

    meta.sort(key=lambda e: (e["pid"], e["tid"], e["name"]))
    events.sort(
        key=lambda e: (
            e["ts"],
            e["pid"],
            e["tid"],
            e["name"],
            _PHASE_RANK[e["ph"]],
            -e.get("dur", 0),
        )
    )
    return {
        "traceEvents": meta + events,
        "displayTimeUnit": "ns",
        "otherData": _jsonable(metadata) if metadata else {},
    }


def write_chrome_trace(
    tracer: Tracer, path: str | Path, *, metadata: dict[str, Any] | None = None
) -> Path:
    """Write :func:`to_chrome_trace` as compact, key-sorted JSON to ``path``; return the path.

    Parent directories are created as needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        to_chrome_trace(tracer, metadata=metadata),
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    path.write_text(text, encoding="utf-8")
    return path
