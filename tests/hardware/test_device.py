"""Tests for clustersim.hardware.device.Device: roofline timing, FIFO compute stream, overlap
with communication, accounting and tracing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.core.simulation import Simulation
from clustersim.hardware import topology as topo
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.device import Device
from clustersim.hardware.spec import DeviceSpec

SPEC = DeviceSpec(name="toy", peak_flops=100e12, mem_bandwidth=2e12, memory=80e9, efficiency=0.5)


def run_kernels(device: Device, kernels: list[dict], sim: Simulation) -> list[float]:
    """Start one process per kernel at t=0 (in list order); return each kernel's end time."""
    ends: list[float] = [math.nan] * len(kernels)

    def proc(i: int, kwargs: dict):
        ends[i] = yield from device.compute(**kwargs)

    for i, kwargs in enumerate(kernels):
        sim.process(proc(i, kwargs), f"kernel{i}")
    sim.run()
    return ends


positive = st.floats(1e-3, 1e18, allow_nan=False, allow_infinity=False)
amount = st.one_of(st.just(0.0), st.floats(0.0, 1e18, allow_nan=False, allow_infinity=False))


@settings(max_examples=100, deadline=None)
@given(
    peak=positive,
    mem_bw=positive,
    efficiency=st.one_of(st.just(1.0), st.floats(1e-3, 1.0)),
    slowdown=st.one_of(st.just(1.0), st.floats(0.1, 10.0)),
    flops=amount,
    bytes_moved=amount,
)
def test_compute_time_is_the_scaled_roofline_exactly(
    peak, mem_bw, efficiency, slowdown, flops, bytes_moved
):
    spec = DeviceSpec(
        name="d", peak_flops=peak, mem_bandwidth=mem_bw, memory=1.0, efficiency=efficiency
    )
    sim = Simulation()
    device = Device(sim, "d0", spec, slowdown=slowdown)
    expected = max(flops / peak, bytes_moved / mem_bw) / efficiency * slowdown
    assert device.compute_time(flops, bytes_moved) == expected
    [end] = run_kernels(device, [{"flops": flops, "bytes_moved": bytes_moved}], sim)
    assert end == expected
    assert sim.now == expected
    assert device.compute_busy_s == expected
    assert device.flops_done == flops
    assert device.bytes_read == bytes_moved


def test_roofline_picks_the_limiting_resource():
    device = Device(Simulation(), "d0", SPEC)
    # compute-bound: 1e12 FLOP / 100e12 = 10 ms; 1e9 B / 2e12 = 0.5 ms; efficiency 0.5
    assert device.compute_time(1e12, 1e9) == 0.01 / 0.5
    # memory-bound: 1e9 FLOP = 10 us; 4e10 B = 20 ms
    assert device.compute_time(1e9, 4e10) == 0.02 / 0.5


def test_duration_overrides_the_roofline_but_not_the_slowdown():
    sim = Simulation()
    device = Device(sim, "d0", SPEC, slowdown=1.5)
    [end] = run_kernels(device, [{"flops": 1e15, "duration": 2.0}], sim)
    assert end == 3.0
    assert device.compute_busy_s == 3.0
    assert device.flops_done == 1e15


@pytest.mark.parametrize("slowdown", [0.0, -1.0, math.nan])
def test_slowdown_must_be_positive(slowdown):
    with pytest.raises(ValueError, match="slowdown of d0"):
        Device(Simulation(), "d0", SPEC, slowdown=slowdown)


def test_compute_tasks_on_one_device_serialise_fifo():
    sim = Simulation()
    device = Device(sim, "d0", SPEC)
    kernels = [
        {"duration": 3.0, "label": "a"},
        {"duration": 1.0, "label": "b"},
        {"duration": 2.0, "label": "c"},
    ]
    ends = run_kernels(device, kernels, sim)
    assert ends == [3.0, 4.0, 6.0]  # in submission order, not shortest first
    assert device.compute_busy_s == 6.0


def test_compute_on_different_devices_runs_in_parallel():
    sim = Simulation()
    a, b = Device(sim, "a", SPEC), Device(sim, "b", SPEC)
    ends: dict[str, float] = {}

    def proc(device: Device):
        ends[device.name] = yield from device.compute(duration=2.0)

    sim.process(proc(a), "a")
    sim.process(proc(b), "b")
    sim.run()
    assert ends == {"a": 2.0, "b": 2.0}


def cluster(trace: bool = False, slowdowns: dict[str, float] | None = None):
    sim = Simulation(trace=trace)
    graph = topo.ring(nodes=2, bandwidth=1e9, latency=0.0)
    return sim, Cluster(sim, graph, SPEC, slowdowns=slowdowns)


@pytest.mark.parametrize(("compute_s", "transfer_bytes"), [(2.0, 1e9), (0.5, 3e9), (1.0, 1e9)])
def test_compute_and_communication_overlap(compute_s, transfer_bytes):
    sim, cl = cluster()
    device = cl.devices["n0"]
    out: dict[str, float] = {}

    def proc():
        arrival = cl.network.transfer("n0", "n1", transfer_bytes)
        out["compute_end"] = yield from device.compute(duration=compute_s)
        values = yield arrival
        out["transfer_end"] = float(values[0])
        out["end"] = sim.now

    sim.process(proc(), "overlap")
    sim.run()
    transfer_s = transfer_bytes / 1e9
    assert out["compute_end"] == compute_s
    assert out["transfer_end"] == transfer_s
    assert out["end"] == max(compute_s, transfer_s)
    assert device.compute_busy_s == compute_s
    assert cl.network.node_send_busy[cl.network.node_index("n0")] == transfer_s


def test_transfers_do_not_occupy_the_compute_stream():
    """A kernel queued behind nothing starts at once even while the device sends."""
    sim, cl = cluster()
    device = cl.devices["n0"]
    starts: list[float] = []

    def sender():
        yield cl.network.transfer("n0", "n1", 5e9)

    def kernel():
        yield sim.env.timeout(1.0)
        end = yield from device.compute(duration=0.5)
        starts.append(end - 0.5)

    sim.process(sender(), "sender")
    sim.process(kernel(), "kernel")
    sim.run()
    assert starts == [1.0]


def test_cluster_slowdown_makes_a_straggler():
    sim, cl = cluster(slowdowns={"n1": 2.0})
    ends: dict[str, float] = {}

    def proc(name: str):
        ends[name] = yield from cl.devices[name].compute(flops=1e12)

    for name in cl.ranks:
        sim.process(proc(name), name)
    sim.run()
    assert ends == {"n0": 0.02, "n1": 0.04}


def test_compute_spans_are_traced_on_the_compute_lane():
    sim, cl = cluster(trace=True)
    device = cl.devices["n0"]
    kernels = [{"flops": 1e12, "label": "fwd"}, {"duration": 0.5, "label": "bwd"}]
    run_kernels(device, kernels, sim)
    spans = [s for s in sim.tracer.spans if s.category == "compute"]
    assert [(s.lane, s.name, s.start, s.end) for s in spans] == [
        (("n0", "compute"), "fwd", 0.0, 0.02),
        (("n0", "compute"), "bwd", 0.02, 0.52),
    ]
    assert spans[0].args == {"flops": 1e12}
    assert spans[1].args is None
    assert ("n0", "compute") in sim.tracer.lanes
    assert not [s for s in sim.tracer.spans if s.lane == ("n0", "comm")]


def test_no_spans_when_tracing_is_off_but_metrics_accumulate():
    sim, cl = cluster(trace=False)
    device = cl.devices["n0"]

    def proc():
        arrival = cl.network.transfer("n0", "n1", 1e9)
        yield from device.compute(flops=1e12, bytes_moved=1e9)
        yield arrival

    sim.process(proc(), "p")
    sim.run()
    assert sim.tracer.spans == []
    assert not sim.tracer.lanes
    assert device.compute_busy_s == 0.02
    assert device.flops_done == 1e12
    assert device.bytes_read == 1e9
    assert cl.network.link_bytes.sum() == 1e9
