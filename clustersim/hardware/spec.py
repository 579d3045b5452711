"""DeviceSpec: what a compute device can do, as plain SI numbers.

Presets live in :mod:`clustersim.hardware.presets`; a scenario may also give a spec inline.
"""

from __future__ import annotations

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
    """

    name: str
    peak_flops: float
    mem_bandwidth: float
    memory: float
    efficiency: float = 1.0
    kind: str = "gpu"
    tdp_w: float = 0.0
    source: str = ""

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

    def roofline_time(self, flops: float, bytes_moved: float = 0.0) -> float:
        """Seconds for a kernel of ``flops`` FLOP touching ``bytes_moved`` bytes of memory.

        The roofline model (Williams, Waterman & Patterson, CACM 2009): a kernel is limited
        either by compute or by memory traffic, whichever takes longer, scaled by efficiency.
        """
        return max(flops / self.peak_flops, bytes_moved / self.mem_bandwidth) / self.efficiency
