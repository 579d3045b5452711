"""Tile geometry: cuts, receptive fields and halos, against hand-computed rectangles and the
closed forms of costs.py (Dumoulin & Visin relationship 15; DeepThings' fused tiles)."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.partition.costs import fused_input_rows, halo_rows
from clustersim.inference.partition.stack import spatial_stack
from clustersim.inference.partition.tiles import (
    Rect,
    backward,
    fdsp_interior,
    fdsp_tiles,
    grid_rects,
    needed_input,
    spatial_groups,
    split_points,
)
from clustersim.nn import Conv2d, MaxPool2d, Sequential, alexnet, small_cnn, vgg16


def _stack(*layers, shape=(2, 32, 32)):
    return spatial_stack(Sequential(list(layers)), shape, "float32")


def test_split_points_round_halves_up() -> None:
    assert split_points(224, [1] * 8) == list(range(0, 225, 28))
    assert split_points(7, [1, 1]) == [0, 4, 7]
    assert split_points(10, [1, 3]) == [0, 3, 10]  # 2.5 rounds up
    assert grid_rects((4, 6), [1, 1], [1, 1, 1])[4] == Rect(2, 4, 2, 4)


def test_needed_input_of_hand_computed_windows() -> None:
    conv = _stack(Conv2d(2, 2, 3, padding=1)).layers[0]
    assert needed_input(conv, Rect(2, 5, 0, 32)) == (Rect(1, 6, 0, 32), (0, 0, 1, 1))
    assert needed_input(conv, Rect(0, 3, 4, 8)) == (Rect(0, 4, 3, 9), (1, 0, 0, 0))
    pool = _stack(MaxPool2d(2)).layers[0]
    assert needed_input(pool, Rect(1, 3, 0, 16)) == (Rect(2, 6, 0, 32), (0, 0, 0, 0))
    first = spatial_stack(alexnet(), (3, 224, 224), "float32").layers[0]  # 11x11, stride 4, pad 2
    assert needed_input(first, Rect(0, 10, 0, 55)) == (Rect(0, 45, 0, 224), (2, 0, 2, 1))


@pytest.mark.parametrize(("kernel", "dilation", "stride"), [(3, 1, 1), (5, 1, 1), (3, 2, 1)])
def test_halo_per_boundary_is_the_closed_form(kernel: int, dilation: int, stride: int) -> None:
    pad = dilation * (kernel - 1) // 2
    stack = _stack(Conv2d(2, 2, kernel, padding=pad, dilation=dilation, stride=stride))
    (group,) = spatial_groups(stack, (4, 1), [1] * 4, [1], None)
    extra = sum(s.needed.rows for s in group.steps) - stack.layers[0].in_shape[1]
    assert extra == 3 * halo_rows(kernel, stride, dilation)  # 3 internal boundaries


def test_aligned_pooling_needs_no_halo_and_an_overlapping_one_does() -> None:
    assert halo_rows(2, 2) == 0 and halo_rows(3, 2) == 1
    stack = _stack(MaxPool2d(2), shape=(2, 16, 16))
    (group,) = spatial_groups(stack, (2, 2), [1, 1], [1, 1], None)
    assert sum(s.needed.area for s in group.steps) == 16 * 16


def test_fused_halo_grows_layer_by_layer() -> None:
    stack = spatial_stack(vgg16(image_size=64), (3, 64, 64), "float32")
    block = stack.layers[:5]  # conv, ReLU, conv, ReLU, pool
    steps = backward(block, Rect(10, 14, 0, 32))  # a tile away from the edges
    windows = [(3, 1, 1), (1, 1, 1), (3, 1, 1), (1, 1, 1), (2, 2, 1)]
    assert steps.needed.rows == fused_input_rows(4, windows) == 12
    assert [r.rows for r in steps.regions] == [10, 10, 8, 8, 4]


def test_fdsp_tiles_follow_the_stride_lattice() -> None:
    stack = spatial_stack(vgg16(), (3, 224, 224), "float32")
    layout = fdsp_tiles(stack, (2, 4), [1, 1], [1] * 4)
    assert [t.rect.r0 for t in layout.tiles[::4]] == [0, 128]  # 7 output rows cut 4 + 3
    assert [t.rect.c1 for t in layout.tiles[:4]] == [64, 128, 160, 224]  # 7 cut 2, 2, 1, 2
    assert [t.out.rows for t in layout.tiles[::4]] == [4, 3]
    assert sum(t.out.area for t in layout.tiles) == 7 * 7


def test_fdsp_interior_is_where_no_receptive_field_leaves_the_tile() -> None:
    # small_cnn on 16x16 in 2x2 tiles: the last map is 4x4; a pixel's receptive field spans 10
    # input rows, so only the corners (whose fields are cut by the image's own edges) stay
    # inside an 8x8 tile
    stack = spatial_stack(small_cnn(), (1, 16, 16), "float32")
    mask = fdsp_interior(stack.layers, fdsp_tiles(stack, (2, 2), [1, 1], [1, 1]))
    corners = np.zeros((4, 4), dtype=bool)
    corners[np.ix_([0, 3], [0, 3])] = True
    np.testing.assert_array_equal(mask, corners)
    one_tile = fdsp_interior(stack.layers, fdsp_tiles(stack, (1, 1), [1], [1]))
    assert one_tile.all()
