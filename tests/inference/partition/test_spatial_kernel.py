"""The spatial replay: tiles with halos (per layer, fused groups, whole fused tiles) stitch to
exactly the unpartitioned stack; a halo that never arrives, or the wrong one, is caught."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.partition.kernels import Net, SpatialReplay, drive_staged, drive_tiles
from clustersim.inference.partition.stack import spatial_stack
from clustersim.inference.partition.tiles import fused_tiles, spatial_groups
from clustersim.inference.partition.work import fused_work, spatial_work
from clustersim.nn import alexnet, vgg16

VGG = spatial_stack(vgg16(image_size=96), (3, 96, 96), "float32")
ALEX = spatial_stack(alexnet(image_size=127), (3, 127, 127), "float32")


def _net(stack, seed: int = 0) -> tuple[Net, np.ndarray]:
    rng = np.random.default_rng(seed)
    net = Net.twin(stack, 3, rng)
    return net, net.input(rng, batch=2)


@pytest.mark.parametrize(
    ("grid", "fuse"), [((3, 1), 1), ((1, 3), 1), ((2, 3), 1), ((3, 1), 2), ((2, 2), 3)]
)
def test_halo_exchange_equals_the_whole_stack(grid: tuple[int, int], fuse: int) -> None:
    net, x = _net(VGG)
    groups = spatial_groups(VGG, grid, [1] * grid[0], [1] * grid[1], fuse)
    replay = SpatialReplay(net, x, groups=groups)
    drive_staged(replay, spatial_work(VGG, groups))
    result = replay.check()
    assert result["passed"] and result["max_abs_err"] == 0.0, result


def test_overlapping_strided_windows_too() -> None:
    # AlexNet: 11x11 stride 4, 3x3/2 poolings whose windows overlap, 5x5 and 3x3 convolutions
    net, x = _net(ALEX)
    groups = spatial_groups(ALEX, (2, 1), [1, 2], [1], 1)  # unequal strips
    replay = SpatialReplay(net, x, groups=groups)
    drive_staged(replay, spatial_work(ALEX, groups))
    assert replay.check()["passed"]


def test_fused_tiles_equal_the_whole_stack() -> None:
    net, x = _net(VGG)
    tiles = fused_tiles(VGG, (2, 3), [1, 1], [1, 1, 1])
    replay = SpatialReplay(net, x, tiles=tiles)
    drive_tiles(replay, fused_work(VGG, tiles, None))
    assert replay.check()["passed"]


def test_the_twin_is_nn_sequential_within_rounding() -> None:
    net, x = _net(VGG)
    ref = net.reference(x)
    assert np.abs(net.whole(x) - ref).max() <= 1e-5 * np.abs(ref).max()


class _ZeroOneHalo(SpatialReplay):
    """Sends zeros instead of tile 0's halo to tile 1 after stage 2."""

    def send(self, i, j, s, state):
        rect, values = super().send(i, j, s, state)
        return rect, np.zeros_like(values) if (i, j, s) == (0, 1, 2) else values


def test_a_wrong_or_missing_halo_is_caught() -> None:
    net, x = _net(VGG)
    groups = spatial_groups(VGG, (3, 1), [1] * 3, [1], 1)
    work = spatial_work(VGG, groups)
    wrong = _ZeroOneHalo(net, x, groups=groups)
    drive_staged(wrong, work)
    assert not wrong.check()["passed"]
    work.stages[0].exchange[1, 0] = 0.0  # the halo from tile 1 to tile 0 is never sent
    missing = SpatialReplay(net, x, groups=groups)
    with pytest.raises(ValueError, match="arrived from no tile"):
        drive_staged(missing, work)
