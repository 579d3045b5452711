"""Device: a compute node at run time, with a compute stream and a communication stream.

Compute tasks take their kernel time (:meth:`DeviceSpec.kernel_time`: the roofline plus the
spec's ``launch_overhead`` once per kernel) multiplied by the device's ``slowdown`` (1.0 normal,
2.0 a straggler at half speed) and queue FIFO on the compute stream. The slowdown scales the
launch overhead too: a straggler is the whole device-and-host slowed down (a busy or throttled
host issues its launches late as well), and it keeps every compute time exactly
``slowdown ×`` its full-speed value, which the workloads that split a time into a base and a
factor (the parameter server's straggler draws, federated stragglers) rely on.
Communication runs on the FlowNetwork and is recorded on the device's ``comm`` lane, so compute
and communication overlap the way CUDA streams let them.

A kernel's achieved FLOP/s can also depend on how much work it has: a workload that opts in
passes a :class:`MatrixTiling` and the kernel's matrix rows to :meth:`Device.compute_time`,
and the compute side of the roofline runs at the share of peak its tiles use. Without one
(the default everywhere) the time is the plain roofline.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from clustersim.core.simulation import Simulation
from clustersim.hardware.spec import DeviceSpec

__all__ = ["Device", "MatrixTiling"]


@dataclass(frozen=True, slots=True)
class MatrixTiling:
    """The achieved share of peak of a matrix unit that computes in tiles of ``tile`` rows.

    A matrix engine multiplies fixed-size tiles: a TPU core's MXU is a 128 x 128 systolic
    array (Jouppi et al., "A Domain-Specific Supercomputer for Training Deep Neural
    Networks", CACM 63(7), 2020, §3), and a GPU's tensor-core GEMM runs in thread-block tiles
    (NVIDIA, "Matrix Multiplication Background User's Guide", "tile quantization"). A kernel
    whose matrix has ``rows`` rows (a layer's batch times its positions: tokens, or output
    pixels of a convolution) fills ``ceil(rows / tile)`` tiles, so it reaches
    ``rows / (tile · ceil(rows / tile))`` of peak: a micro-batch of 49 rows (one 7 x 7 image)
    uses 38 % of a 128-row tile, four such images 77 %. This is the curve of achieved FLOP/s
    against batch that makes small micro-batches slow (GPipe, Huang et al. 2019, §4: "Batch
    size was adjusted to fit memory"). Only the tiling of the rows is modelled; the columns
    (output channels, hidden width) are taken to fill their tiles.

    Attributes:
        tile: rows per tile.
        source: where the tile size comes from.
    """

    tile: int
    source: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.tile, int) and self.tile >= 1):
            raise ValueError(f"a tile needs at least one row, got {self.tile!r}")

    def fraction(self, rows: float) -> float:
        """Share of peak a kernel of ``rows`` matrix rows reaches (1 for ``rows`` <= 0)."""
        if rows <= 0:
            return 1.0
        return rows / (self.tile * math.ceil(rows / self.tile - 1e-9))


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

    def compute_time(
        self,
        flops: float,
        bytes_moved: float = 0.0,
        *,
        rows: float = 0.0,
        tiling: MatrixTiling | None = None,
        kernels: int = 1,
    ) -> float:
        """Seconds ``kernels`` kernels doing ``flops`` FLOP and moving ``bytes_moved`` bytes
        take here: :meth:`DeviceSpec.kernel_time` (roofline plus ``kernels`` launch overheads)
        times the slowdown.

        With ``tiling``, the compute side of the roofline runs at
        ``tiling.fraction(rows)`` of peak (:class:`MatrixTiling`).
        """
        if tiling is not None and flops > 0:
            flops = flops / tiling.fraction(rows)
        return self.spec.kernel_time(flops, bytes_moved, kernels) * self.slowdown

    def compute(
        self,
        flops: float = 0.0,
        bytes_moved: float = 0.0,
        *,
        label: str = "compute",
        duration: float | None = None,
        kernels: int = 1,
    ) -> Generator[Any, Any, float]:
        """Run ``kernels`` kernels on the compute stream as one span
        (``yield from device.compute(...)``), timed by :meth:`compute_time`.

        ``duration`` overrides the whole time (still scaled by ``slowdown``; no launch overhead
        is added: a caller that prices its own time includes it, with
        :meth:`DeviceSpec.kernel_time`), for workloads that specify compute in seconds.
        Returns the time the span ended.
        """
        env = self.sim.env
        seconds = (
            (duration * self.slowdown)
            if duration is not None
            else self.compute_time(flops, bytes_moved, kernels=kernels)
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
