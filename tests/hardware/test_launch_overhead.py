"""The per-kernel launch overhead of a device (:meth:`DeviceSpec.kernel_time`): paid once per
kernel, exactly, in the time a process spends and the time a formula prices; validated; set by
the CUDA presets and by no other."""

from __future__ import annotations

import math

import pytest

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.device import Device, MatrixTiling
from clustersim.hardware.presets import CUDA_LAUNCH_OVERHEAD, DEVICE_PRESETS, get_device
from clustersim.hardware.spec import DeviceSpec

BARE = DeviceSpec(name="bare", peak_flops=100e12, mem_bandwidth=2e12, memory=80e9, efficiency=0.5)
LAUNCHED = DeviceSpec(
    name="launched",
    peak_flops=100e12,
    mem_bandwidth=2e12,
    memory=80e9,
    efficiency=0.5,
    launch_overhead=7e-6,
)


def _spent(spec: DeviceSpec, slowdown: float, **kernel) -> float:
    """Seconds one ``device.compute(**kernel)`` occupies the compute stream."""
    sim = Simulation()
    device = Device(sim, "d0", spec, slowdown=slowdown)

    def proc():
        yield from device.compute(**kernel)

    sim.process(proc(), "kernel")
    sim.run()
    assert device.compute_busy_s == sim.now
    return sim.now


@pytest.mark.parametrize("kernels", [0, 1, 2, 7, 1000])
@pytest.mark.parametrize("slowdown", [1.0, 2.5])
@pytest.mark.parametrize(("flops", "moved"), [(1e12, 1e9), (1e9, 4e10), (0.0, 0.0)])
def test_the_overhead_is_added_once_per_kernel(kernels, slowdown, flops, moved) -> None:
    """With it minus without it is kernels x overhead (x the straggler's slowdown), in the
    closed-form time and in the simulated one."""
    bare = Device(Simulation(), "d0", BARE, slowdown=slowdown)
    launched = Device(Simulation(), "d0", LAUNCHED, slowdown=slowdown)
    difference = launched.compute_time(flops, moved, kernels=kernels) - bare.compute_time(
        flops, moved, kernels=kernels
    )
    assert difference == pytest.approx(kernels * 7e-6 * slowdown, rel=1e-12, abs=1e-18)
    kernel = {"flops": flops, "bytes_moved": moved, "kernels": kernels}
    simulated = _spent(LAUNCHED, slowdown, **kernel) - _spent(BARE, slowdown, **kernel)
    assert simulated == pytest.approx(kernels * 7e-6 * slowdown, rel=1e-12, abs=1e-18)


def test_the_roofline_part_is_untouched() -> None:
    # compute-bound: 1e12 FLOP / 100e12 FLOP/s / 0.5 = 20 ms, plus 3 launches of 7 us
    assert LAUNCHED.kernel_time(1e12, 1e9, kernels=3) == 0.02 + 3 * 7e-6
    assert LAUNCHED.roofline_time(1e12, 1e9) == 0.02  # the efficiency does not scale launches
    assert BARE.kernel_time(1e12, 1e9, kernels=3) == BARE.roofline_time(1e12, 1e9)


def test_one_kernel_is_the_default_and_a_tiled_kernel_pays_it_too() -> None:
    device = Device(Simulation(), "d0", LAUNCHED)
    assert device.compute_time(1e9) == LAUNCHED.roofline_time(1e9) + 7e-6
    tiling = MatrixTiling(128)
    # 49 rows fill 49/128 of a tile: the compute side runs at that share of peak
    tiled = device.compute_time(1e12, 0.0, rows=49, tiling=tiling, kernels=2)
    assert tiled == pytest.approx(1e12 / (100e12 * 49 / 128) / 0.5 + 2 * 7e-6, rel=1e-12)


def test_a_given_duration_is_taken_whole() -> None:
    """A workload that prices its own time (measured tables, seconds of compute) includes its
    launches: ``duration`` adds none."""
    assert _spent(LAUNCHED, 2.0, duration=1.5, kernels=4) == 3.0


def test_negative_kernels_are_refused() -> None:
    with pytest.raises(ValueError, match="kernels must be >= 0"):
        LAUNCHED.kernel_time(1.0, 1.0, kernels=-1)


@pytest.mark.parametrize("value", [-1e-6, math.nan, math.inf])
def test_a_bad_overhead_names_the_field(value: float) -> None:
    with pytest.raises(InputError, match="launch_overhead must be a finite time >= 0 per kernel"):
        DeviceSpec(name="x", peak_flops=1.0, mem_bandwidth=1.0, memory=1.0, launch_overhead=value)


CUDA = ["H100", "H200", "A100", "V100", "L4", "RTX4090", "JetsonOrinNano", "JetsonOrinNanoSuper"]


def test_the_cuda_presets_pay_5_us_per_launch_and_the_others_nothing() -> None:
    assert CUDA_LAUNCH_OVERHEAD == 5e-6
    for name, spec in DEVICE_PRESETS.items():
        expected = 5e-6 if name in CUDA else 0.0
        assert spec.launch_overhead == expected, name
    assert {"TPUv4", "CPU-server", "RaspberryPi4", "RaspberryPi5"} <= set(DEVICE_PRESETS)
    assert get_device("jetson").launch_overhead == 5e-6  # an alias resolves to the preset
