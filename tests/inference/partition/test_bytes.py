"""The bytes and FLOPs each partition plans, against the closed forms of costs.py (halos,
channel-wise partial sums, attention) and against the whole model's FLOPs."""

from __future__ import annotations

import pytest

from clustersim.inference.partition.costs import (
    AttentionShape,
    attention_bytes,
    channel_partial_sum_bytes,
    halo_elements,
    sequence_allreduce_bytes,
)
from clustersim.inference.partition.stack import spatial_stack
from clustersim.inference.partition.tiles import fdsp_tiles, fused_tiles, spatial_groups
from clustersim.inference.partition.work import (
    attention_work,
    channel_work,
    fdsp_work,
    fused_work,
    spatial_work,
    whole_compute,
)
from clustersim.nn import Conv2d, MaxPool2d, ReLU, Sequential, vgg16
from clustersim.training.tensor_parallel.costs import block_flops

VGG64 = spatial_stack(vgg16(image_size=64), (3, 64, 64), "float32")


@pytest.mark.parametrize("grid", [(2, 2), (4, 1), (1, 4), (2, 4)])
def test_halo_bytes_of_every_exchange_are_the_grid_formula(grid: tuple[int, int]) -> None:
    model = Sequential(
        [
            Conv2d(3, 4, 3, padding=1),
            ReLU(),
            Conv2d(4, 4, 3, padding=1),
            ReLU(),
            MaxPool2d(2),
            Conv2d(4, 4, 3, padding=1),
        ]
    )
    stack = spatial_stack(model, (3, 32, 32), "float32")
    groups = spatial_groups(stack, grid, [1] * grid[0], [1] * grid[1], 1)
    work = spatial_work(stack, groups)
    exchanged = [float(stage.exchange.sum()) for stage in work.stages]
    per_channel = 4 * 4  # 4 channels of float32
    assert exchanged == [
        halo_elements(32, 32, *grid, 2) * per_channel,  # into the second convolution
        0.0,  # into the aligned 2x2 pooling
        halo_elements(16, 16, *grid, 2) * per_channel,  # into the last convolution
        0.0,
    ]
    # the scatter carries the first convolution's halo
    assert work.scatter.sum() - 3 * 32 * 32 * 4 == halo_elements(32, 32, *grid, 2) * 3 * 4


def test_spatial_and_fdsp_compute_exactly_the_whole_stack() -> None:
    whole = whole_compute(VGG64)
    stack_flops = sum(g.cost.flops for g in VGG64.layers)
    groups = spatial_groups(VGG64, (2, 2), [1, 1], [1, 1], 1)
    halo = spatial_work(VGG64, groups)
    assert sum(halo.worker_compute(i).total_flops for i in range(4)) == pytest.approx(stack_flops)
    fdsp = fdsp_work(VGG64, fdsp_tiles(VGG64, (2, 2), [1, 1], [1, 1]), None)
    assert sum(c.total_flops for c in fdsp.compute) == pytest.approx(stack_flops)
    assert halo.head.total_flops + stack_flops == pytest.approx(whole.total_flops)


def test_fused_tiles_recompute_their_overlap() -> None:
    tiles = fused_tiles(VGG64, (2, 1), [1, 1], [1])
    work = fused_work(VGG64, tiles, None)
    stack_flops = sum(g.cost.flops for g in VGG64.layers)
    assert sum(c.total_flops for c in work.compute) > 1.2 * stack_flops
    assert work.halo_bytes == work.inputs.sum() - VGG64.input_bytes > 0


def test_channel_partial_sums_are_the_reduce_scatter_formula() -> None:
    work = channel_work(VGG64, 4)
    convs = VGG64.conv_layers()
    # every convolution but the first (3 input channels: only 3 of 4 workers hold one)
    for conv, stage in zip(convs[1:], work.stages[1:], strict=False):
        c, h, w = conv.out_shape
        assert stage.exchange.sum() == channel_partial_sum_bytes(c, h, w, 4, 4)
    c, h, w = convs[0].out_shape
    assert work.stages[0].exchange.sum() == 3 / 4 * channel_partial_sum_bytes(c, h, w, 4, 4)
    halos = spatial_work(VGG64, spatial_groups(VGG64, (2, 2), [1, 1], [1, 1], 1)).halo_bytes
    assert work.halo_bytes > 10 * halos  # partial sums grow with a map's area, halos with its edge


@pytest.mark.parametrize("partition", ["head", "sequence"])
@pytest.mark.parametrize("replicated", [False, True])
def test_attention_bytes_and_flops(partition: str, replicated: bool) -> None:
    shape = AttentionShape(batch=2, seq_len=64, embed=96, heads=8)
    work = attention_work(shape, 4, partition, 4, replicated)
    expected = attention_bytes(shape, 4, partition, 4, replicated)
    assert work.scatter.sum() == expected["scatter"]
    assert work.exchange_bytes == expected["exchange"]
    assert work.gather.sum() == expected["gather"]
    flops = sum(work.worker_compute(i).total_flops for i in range(4)) + work.head.total_flops
    # Narayanan et al. SC 2021: 8·B·L·E² + 4·B·L²·E for one attention layer
    assert flops == pytest.approx(block_flops(2, 64, 96, "attention")["attention"])


def test_the_notes_all_reduce_moves_twice_the_all_gather() -> None:
    shape = AttentionShape(batch=1, seq_len=128, embed=64, heads=4)
    gather = attention_bytes(shape, 4, "sequence", 2, True)["exchange"]
    assert sequence_allreduce_bytes(shape, 4, 2) == pytest.approx(2 * gather)
