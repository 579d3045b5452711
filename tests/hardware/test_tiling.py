"""MatrixTiling: the achieved share of peak of a matrix unit against the rows of a kernel."""

from __future__ import annotations

import pytest

from clustersim.core.simulation import Simulation
from clustersim.hardware.device import Device, MatrixTiling
from clustersim.hardware.spec import DeviceSpec


def test_rows_fill_whole_tiles() -> None:
    mxu = MatrixTiling(128)
    assert mxu.fraction(128) == mxu.fraction(256) == 1.0
    assert mxu.fraction(49) == pytest.approx(49 / 128)  # one 7x7 image: 38 %
    assert mxu.fraction(4 * 49) == pytest.approx(196 / 256)  # four of them: 77 %
    assert mxu.fraction(129) == pytest.approx(129 / 256)
    assert mxu.fraction(0) == 1.0
    with pytest.raises(ValueError):
        MatrixTiling(0)


def test_compute_time_without_tiling_is_the_roofline() -> None:
    spec = DeviceSpec("d", 100e12, 1e12, 1e9)
    dev = Device(Simulation(0), "d", spec)
    assert dev.compute_time(1e12, 0.0) == spec.roofline_time(1e12, 0.0)
    tiled = dev.compute_time(1e12, 0.0, rows=64, tiling=MatrixTiling(128))
    assert tiled == pytest.approx(2 * dev.compute_time(1e12, 0.0))  # half a tile: half speed
    # a memory-bound kernel stays memory-bound: its bytes, not its tiles, set the time
    memory_bound = dev.compute_time(1e9, 1e12, rows=64, tiling=MatrixTiling(128))
    assert memory_bound == pytest.approx(1.0)
