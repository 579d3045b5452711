"""Tests for the Chrome Trace Event Format export."""

from __future__ import annotations

import json

import pytest

from clustersim.core.chrome_trace import to_chrome_trace, write_chrome_trace
from clustersim.core.trace import Tracer


def _tracer() -> Tracer:
    t = Tracer(enabled=True)
    t.span(("n0", "compute"), "matmul", "compute", 0.5e-3, 1.5e-3, {"flops": 1e12})
    t.span(("n0", "comm"), "allreduce", "comm", 1.5e-3, 2.5e-3)
    t.span(("links", "n0->n1"), "flow", "link", 1.6e-3, 2.4e-3, {"bytes": 1 << 20})
    t.span(("n0", "compute"), "noop", "compute", 3e-3, 3e-3)  # zero-length
    t.instant(("n0", "compute"), "checkpoint", 2e-3, {"step": 1})
    t.counter("active_flows", 1.6e-3, {"flows": 1})
    t.counter("active_flows", 2.4e-3, {"flows": 0})
    return t


def _dump(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True)


def test_structure_and_integer_ids() -> None:
    doc = to_chrome_trace(_tracer(), metadata={"scenario": "unit"})
    assert doc["displayTimeUnit"] == "ns"
    assert doc["otherData"] == {"scenario": "unit"}
    events = doc["traceEvents"]
    assert events
    for e in events:
        assert isinstance(e["pid"], int) and not isinstance(e["pid"], bool)
        assert isinstance(e["tid"], int) and not isinstance(e["tid"], bool)
        assert e["ph"] in {"M", "X", "i", "C"}


def test_complete_events_in_microseconds() -> None:
    events = to_chrome_trace(_tracer())["traceEvents"]
    xs = {e["name"]: e for e in events if e["ph"] == "X"}
    assert set(xs) == {"matmul", "allreduce", "flow", "noop"}
    mm = xs["matmul"]
    assert mm["ts"] == pytest.approx(500.0) and isinstance(mm["ts"], float)
    assert mm["dur"] == pytest.approx(1000.0) and isinstance(mm["dur"], float)
    assert mm["cat"] == "compute"
    assert mm["args"] == {"flops": 1e12}
    assert xs["noop"]["dur"] == 0.0
    assert all(e["dur"] >= 0 for e in xs.values())


def test_pids_tids_follow_lane_order_and_metadata_names_everything() -> None:
    events = to_chrome_trace(_tracer())["traceEvents"]
    meta = [e for e in events if e["ph"] == "M"]
    procs = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    assert procs == {1: "n0", 2: "links", 3: "counters"}
    assert threads == {(1, 1): "compute", (1, 2): "comm", (2, 1): "n0->n1"}
    psort = {e["pid"]: e["args"]["sort_index"] for e in meta if e["name"] == "process_sort_index"}
    tsort = {
        (e["pid"], e["tid"]): e["args"]["sort_index"]
        for e in meta
        if e["name"] == "thread_sort_index"
    }
    assert psort == {1: 1, 2: 2, 3: 3}
    assert tsort == {(1, 1): 1, (1, 2): 2, (2, 1): 1}
    assert all(e["tid"] == 0 for e in meta if e["name"].startswith("process_"))
    # Every track used by an event is named.
    for e in events:
        if e["ph"] in {"X", "i"}:
            assert (e["pid"], e["tid"]) in threads
        assert e["pid"] in procs
    # Metadata first, then the rest sorted by timestamp.
    phases = [e["ph"] for e in events]
    assert phases[: len(meta)] == ["M"] * len(meta)
    ts = [e["ts"] for e in events[len(meta) :]]
    assert ts == sorted(ts)


def test_instants_and_counters() -> None:
    events = to_chrome_trace(_tracer())["traceEvents"]
    (inst,) = [e for e in events if e["ph"] == "i"]
    assert inst["s"] == "t" and inst["name"] == "checkpoint"
    assert inst["ts"] == pytest.approx(2000.0)
    assert (inst["pid"], inst["tid"]) == (1, 1)
    assert inst["args"] == {"step": 1}
    counters = [e for e in events if e["ph"] == "C"]
    assert [c["args"] for c in counters] == [{"flows": 1.0}, {"flows": 0.0}]
    assert [c["ts"] for c in counters] == pytest.approx([1600.0, 2400.0])
    assert {c["pid"] for c in counters} == {3}


def test_deterministic_bytes() -> None:
    a = _dump(to_chrome_trace(_tracer(), metadata={"b": 2, "a": 1}))
    b = _dump(to_chrome_trace(_tracer(), metadata={"a": 1, "b": 2}))
    assert a == b


def test_write_round_trips(tmp_path) -> None:
    tracer = _tracer()
    path = write_chrome_trace(tracer, tmp_path / "deep" / "dir" / "trace.json", metadata={"k": 1})
    assert path.exists()
    text = path.read_text(encoding="utf-8")
    assert " " not in text.replace("n0->n1", "")  # compact separators
    loaded = json.loads(text)
    assert loaded == json.loads(_dump(to_chrome_trace(tracer, metadata={"k": 1})))
    again = write_chrome_trace(tracer, tmp_path / "again.json", metadata={"k": 1})
    assert again.read_bytes() == path.read_bytes()


def test_awkward_args_are_made_json_safe(tmp_path) -> None:
    t = Tracer(enabled=True)
    t.span(("g", "l"), "s", "c", 0.0, 1.0, {"nan": float("nan"), "obj": object, 3: (1, 2)})
    t.span(("g", "l"), "backwards", "c", 2.0, 1.0)
    path = write_chrome_trace(t, tmp_path / "t.json")
    events = json.loads(path.read_text())["traceEvents"]
    xs = {e["name"]: e for e in events if e["ph"] == "X"}
    assert xs["s"]["args"]["3"] == [1, 2]
    assert isinstance(xs["s"]["args"]["nan"], str)
    assert xs["backwards"]["dur"] == 0.0


def test_disabled_tracer_is_empty() -> None:
    t = Tracer()
    t.span(("n0", "compute"), "x", "compute", 0.0, 1.0)
    t.instant(("n0", "compute"), "y", 0.5)
    t.counter("c", 0.0, {"v": 1.0})
    doc = to_chrome_trace(t)
    assert doc["traceEvents"] == []
    assert json.loads(_dump(doc)) == doc


def test_declared_lane_without_events_is_named() -> None:
    t = Tracer(enabled=True)
    t.declare_lane(("n1", "idle"))
    events = to_chrome_trace(t)["traceEvents"]
    assert {e["name"] for e in events} == {
        "process_name",
        "process_sort_index",
        "thread_name",
        "thread_sort_index",
    }


def _partial_overlaps(doc: dict) -> int:
    """Complete events that start inside another of their thread but end after it."""
    by_thread: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for e in doc["traceEvents"]:
        if e["ph"] == "X":
            by_thread.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    bad = 0
    for intervals in by_thread.values():
        intervals.sort(key=lambda x: (x[0], -x[1]))
        open_ends: list[float] = []
        for start, end in intervals:
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
            bad += bool(open_ends and end > open_ends[-1])
            open_ends.append(end)
    return bad


def _threads(doc: dict) -> dict[tuple[int, int], str]:
    return {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in doc["traceEvents"]
        if e["ph"] == "M" and e["name"] == "thread_name"
    }


def test_overlapping_spans_get_their_own_threads_and_nested_ones_stay() -> None:
    t = Tracer(enabled=True)
    t.declare_lane(("n0", "compute"))
    t.span(("n0", "comm"), "act 33", "comm", 0.0, 3e-6)
    t.span(("n0", "comm"), "ring reduce-scatter", "comm", 1e-6, 5e-6)  # overlaps act 33
    t.span(("n0", "comm"), "inside", "comm", 2e-6, 3e-6)  # nests in act 33
    t.span(("n0", "comm"), "third", "comm", 2.5e-6, 4e-6)  # nests in the reduce-scatter
    t.span(("n0", "comm"), "fourth", "comm", 2.8e-6, 5.5e-6)  # overlaps both threads' spans
    t.span(("n0", "comm"), "later", "comm", 6e-6, 7e-6)  # after them all: back on comm
    doc = to_chrome_trace(t)
    assert _partial_overlaps(doc) == 0
    threads = _threads(doc)
    assert threads == {(1, 1): "compute", (1, 2): "comm", (1, 3): "comm#2", (1, 4): "comm#3"}
    where = {e["name"]: threads[(e["pid"], e["tid"])] for e in doc["traceEvents"] if e["ph"] == "X"}
    assert where == {
        "act 33": "comm",
        "inside": "comm",
        "later": "comm",
        "ring reduce-scatter": "comm#2",
        "third": "comm#2",
        "fourth": "comm#3",
    }
    sort = {
        (e["pid"], e["tid"]): e["args"]["sort_index"]
        for e in doc["traceEvents"]
        if e["name"] == "thread_sort_index"
    }
    assert sort == {(1, 1): 1, (1, 2): 2, (1, 3): 3, (1, 4): 4}  # comm#k right below comm


def test_a_stragglers_thread_says_its_slowdown() -> None:
    t = Tracer(enabled=True)
    t.declare_lane(("n3", "compute"), slowdown=2.0)
    t.declare_lane(("n4", "compute"), slowdown=1.0)
    assert set(_threads(to_chrome_trace(t)).values()) == {"compute (slowdown x2)", "compute"}


def test_pipedream_trace_has_no_partial_overlaps(tmp_path) -> None:
    """The issue's case: 171 partially overlapping events in this scenario's trace (``act 33``
    and ``ring reduce-scatter`` on ``n0g3/comm``); now each overlapping flow has a thread."""
    import clustersim
    from tests.paths import SCENARIOS

    result = clustersim.run(
        SCENARIOS / "pipeline_pipedream_vgg16.yaml", ["workload.verify=false"], trace=True
    )
    path = write_chrome_trace(result.trace, tmp_path / "t.json")
    doc = json.loads(path.read_text())
    assert _partial_overlaps(doc) == 0
    events = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert len(events) == len(result.trace.spans)
    names = set(_threads(doc).values())
    assert "comm#2" in names  # the comm lanes that carried overlapping flows were split
    lanes = {lane[1] for lane in result.trace.lanes}
    assert {n.split("#")[0] for n in names} == lanes  # every lane, split or not, is there
