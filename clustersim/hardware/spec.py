"""DeviceSpec: what a compute device can do, as plain SI numbers.

Presets live in :mod:`clustersim.hardware.presets`; a scenario may also give a spec inline.

A kernel's time is its roofline (:meth:`DeviceSpec.roofline_time`) plus the device's fixed
``launch_overhead`` per kernel (:meth:`DeviceSpec.kernel_time`): the host-side cost of one
kernel launch through the driver and runtime, which a synchronous training or decoding step pays
once per kernel however little work the kernel does. Every workload prices device compute
through :meth:`DeviceSpec.kernel_time` (directly, or through
:meth:`clustersim.hardware.device.Device.compute_time`), in its simulation and its analytic
prediction alike, so the overhead is counted once and the same way in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DeviceSpec"]


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A device's roofline parameters.

    Attributes:
        name: preset or user-given name.
        peak_flops: peak dense throughput in FLOP/s for the datatype the workloads assume
            (FP16/BF16 tensor cores on GPUs, FP32 SIMD on CPUs; each preset says which).
        mem_bandwidth: main-memory bandwidth in bytes/s (HBM, GDDR or DRAM).
        memory: memory capacity in bytes.
        efficiency: fraction of the roofline a real kernel reaches, in (0, 1]; compute time is
            divided by it.
        kind: "gpu", "cpu" or "edge"; informational, used by plots and listings.
        tdp_w: board power in watts, when the source gives one (0 if unknown).
        source: where the numbers come from (datasheet, paper, section).
        launch_overhead: seconds added to every kernel (its launch through the driver and
            runtime), >= 0; 0 is the pure roofline. The GPU presets set a cited figure
            (:mod:`clustersim.hardware.presets`); it is not scaled by ``efficiency``.
    """

    name: str
    peak_flops: float
    mem_bandwidth: float
    memory: float
    efficiency: float = 1.0
    kind: str = "gpu"
    tdp_w: float = 0.0
    source: str = ""
    launch_overhead: float = 0.0

    def __post_init__(self) -> None:
        from clustersim.errors import InputError

        for attr in ("peak_flops", "mem_bandwidth", "memory"):
            value = getattr(self, attr)
            if not value > 0:
                raise InputError(
                    f"device {self.name!r}: {attr} must be a positive number, got {value!r}"
                )
        if not 0 < self.efficiency <= 1:
            raise InputError(
                f"device {self.name!r}: efficiency must be in (0, 1], got {self.efficiency!r}"
            )
        if not (self.launch_overhead >= 0 and math.isfinite(self.launch_overhead)):
            raise InputError(
                f"device {self.name!r}: launch_overhead must be a finite time >= 0 per kernel "
                f"such as 5 us (0 turns it off), got {self.launch_overhead!r}"
            )

    def roofline_time(self, flops: float, bytes_moved: float = 0.0) -> float:
        """Seconds for a kernel of ``flops`` FLOP touching ``bytes_moved`` bytes of memory.

        The roofline model (Williams, Waterman & Patterson, CACM 2009): a kernel is limited
        either by compute or by memory traffic, whichever takes longer, scaled by efficiency.
        """
        return max(flops / self.peak_flops, bytes_moved / self.mem_bandwidth) / self.efficiency

    def kernel_time(self, flops: float, bytes_moved: float = 0.0, kernels: int = 1) -> float:
        """Seconds for ``kernels`` kernel launches that together do ``flops`` FLOP and move
        ``bytes_moved`` bytes: the roofline of the work plus ``kernels × launch_overhead``.

        The launch cost is paid per kernel, not per FLOP: the CPU issues each launch through
        the CUDA driver and runtime before the GPU can start it, and a step that waits for
        its results (a synchronous training step, one decoding token) pays it once per kernel
        (NVIDIA, "CUDA Graphs", https://docs.nvidia.com/dl-cuda-graph/cuda-graph-basics/
        cuda-graph.html). ``kernels=0`` prices work that launches nothing of its own (a
        per-byte rate, work fused into another kernel).
        """
        if kernels < 0:
            raise ValueError(f"kernels must be >= 0, got {kernels!r}")
        return self.roofline_time(flops, bytes_moved) + kernels * self.launch_overhead
