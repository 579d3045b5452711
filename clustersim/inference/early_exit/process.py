"""The SimPy side of early-exit inference: one process on the device runs the samples batch by
batch, each stage once on the samples still present, and notes when each sample leaves.

Stages and their costs are those of :mod:`~clustersim.inference.early_exit.costs`: main segment
``m`` then branch ``m``, for every exit but the last. Each stage is one span on the device's
compute stream whose time is the sum of its layers' kernel times (the roofline plus the
device's launch overhead, one kernel per layer) for the samples present (``Stage.time``), so
the trace shows one span per stage and the device's FLOP counter gets the FLOPs that really
ran.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.hardware.device import Device
from clustersim.nn.profile import LayerCost

__all__ = ["Stage", "run_exits"]


@dataclass(frozen=True)
class Stage:
    """A run of consecutive layers (a main segment or a branch) and its per-layer costs."""

    label: str
    layers: tuple[LayerCost, ...]

    def flops(self, samples: int) -> float:
        return float(samples * sum(r.flops for r in self.layers))

    def bytes_moved(self, samples: int) -> float:
        return float(sum(r.bytes_moved(samples) for r in self.layers))

    def time(self, device: Device, samples: int) -> float:
        """Seconds for ``samples`` samples on ``device`` before its slowdown: the sum of the
        layers' kernel times (each layer is its own kernel, a view none: its roofline plus one
        launch overhead, :meth:`~clustersim.hardware.spec.DeviceSpec.kernel_time`); 0 without
        samples (no kernel runs)."""
        if samples == 0:
            return 0.0
        spec = device.spec
        return float(
            sum(
                spec.kernel_time(r.flops * samples, r.bytes_moved(samples), kernels=r.kernels)
                for r in self.layers
            )
        )


def run_exits(
    device: Device,
    segments: Sequence[Stage],
    branches: Sequence[Stage],
    exit_of: np.ndarray,
    batch: int,
    latency: np.ndarray,
) -> Generator[Any, Any, None]:
    """Run every sample on ``device`` in batches of ``batch``; write each sample's latency
    (end of its exit minus the start of its batch) into ``latency``.

    ``exit_of[i]`` is where sample ``i`` leaves (``len(segments) - 1``: the main classifier);
    ``branches`` may be empty for the main network alone (every ``exit_of`` is then the last).
    """
    env = device.sim.env
    for start in range(0, len(exit_of), batch):
        e = exit_of[start : start + batch]
        began = env.now
        for m, segment in enumerate(segments):
            present = int((e >= m).sum())
            if present == 0:
                break
            yield from _stage(device, segment, present)
            if m < len(branches):
                yield from _stage(device, branches[m], present)
            leaving = np.flatnonzero(e == m)
            latency[start + leaving] = env.now - began


def _stage(device: Device, stage: Stage, samples: int) -> Generator[Any, Any, float]:
    return device.compute(
        stage.flops(samples),
        stage.bytes_moved(samples),
        duration=stage.time(device, samples),
        label=f"{stage.label} x{samples}",
    )
