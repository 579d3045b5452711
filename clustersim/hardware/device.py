"""Device: a compute node at run time, with a compute stream and a communication stream.

Compute tasks take roofline time (:meth:`DeviceSpec.roofline_time`) multiplied by the device's
``slowdown`` (1.0 normal, 2.0 a straggler at half speed) and queue FIFO on the compute stream.
Communication runs on the FlowNetwork and is recorded on the device's ``comm`` lane, so compute
and communication overlap the way CUDA streams let them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.core.simulation import Simulation
from clustersim.hardware.spec import DeviceSpec

__all__ = ["Device"]


class Device:
    """A device of the cluster: its spec, its streams and its compute busy time.

    Attributes:
        name: node name in the topology.
        spec: roofline parameters.
        slowdown: factor applied to every compute time (stragglers); must be positive.
        compute_busy_s: total time the compute stream was busy.
        flops_done: FLOP executed so far.
    """

    def __init__(self, sim: Simulation, name: str, spec: DeviceSpec, slowdown: float = 1.0) -> None:
        if not slowdown > 0:
            raise ValueError(f"slowdown of {name} must be positive, got {slowdown!r}")
        self.sim = sim
        self.name = name
        self.spec = spec
        self.slowdown = float(slowdown)
        self.compute_stream = simpy.Resource(sim.env, capacity=1)
        self.compute_busy_s = 0.0
        self.flops_done = 0.0
        self.bytes_read = 0.0

    def compute_time(self, flops: float, bytes_moved: float = 0.0) -> float:
        """Seconds a kernel of ``flops`` FLOP moving ``bytes_moved`` bytes takes here."""
        return self.spec.roofline_time(flops, bytes_moved) * self.slowdown

    def compute(
        self,
        flops: float = 0.0,
        bytes_moved: float = 0.0,
        *,
        label: str = "compute",
        duration: float | None = None,
    ) -> Generator[Any, Any, float]:
        """Run a kernel on the compute stream (``yield from device.compute(...)``).

        ``duration`` overrides the roofline time (still scaled by ``slowdown``), for workloads
        that specify compute in seconds. Returns the time the kernel ended.
        """
        env = self.sim.env
        seconds = (
            (duration * self.slowdown)
            if duration is not None
            else self.compute_time(flops, bytes_moved)
        )
        with self.compute_stream.request() as request:
            yield request
            start = env.now
            yield env.timeout(seconds)
        self.compute_busy_s += seconds
        self.flops_done += flops
        self.bytes_read += bytes_moved
        self.sim.tracer.span(
            (self.name, "compute"),
            label,
            "compute",
            start,
            env.now,
            {"flops": flops} if flops else None,
        )
        return env.now
