"""The channel-wise replay: partial sums reduced between workers equal the whole convolution
within twice Higham's bound; a lost or wrongly added partial sum is caught."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.partition.kernels import ChannelReplay, Net, drive_staged
from clustersim.inference.partition.stack import spatial_stack
from clustersim.inference.partition.work import channel_slices, channel_work
from clustersim.nn import alexnet, vgg16

VGG = spatial_stack(vgg16(image_size=32), (3, 32, 32), "float32")


def _run(stack, workers: int, width: int = 6, replay_class=ChannelReplay):
    rng = np.random.default_rng(0)
    net = Net.twin(stack, width, rng, np.float64)
    replay = replay_class(net, net.input(rng, batch=2), workers)
    drive_staged(replay, channel_work(stack, workers))
    return replay


def test_channel_slices_are_as_equal_as_possible() -> None:
    assert channel_slices(3, 4) == [(0, 1), (1, 2), (2, 3), (3, 3)]
    assert channel_slices(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_reduced_partial_sums_equal_the_whole_convolutions(workers: int) -> None:
    replay = _run(VGG, workers)
    result = replay.check()
    assert result["passed"] and result["convolutions"] == 13, result
    assert 0 < replay.errors()["max_rel_err"] < 1e-13  # reordered sums: not bit for bit


def test_strided_convolutions_too() -> None:
    alex = spatial_stack(alexnet(image_size=96), (3, 96, 96), "float32")
    assert _run(alex, 3).check()["passed"]


class _SkipOne(ChannelReplay):
    """Adds up every partial sum but one (worker 0's, at the third convolution)."""

    def stage(self, i, s, state, received):
        if s == 3 and i == 1:
            received = [r for r in received if r[0] != 0]
        return super().stage(i, s, state, received)


def test_a_missing_partial_sum_is_caught() -> None:
    assert not _run(VGG, 3, replay_class=_SkipOne).check()["passed"]
