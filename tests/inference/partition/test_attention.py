"""Head-wise and sequence attention replays against the unpartitioned layer (the tensor-parallel
kernels' attention_forward); keys gathered in the wrong order are caught."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.partition.costs import AttentionShape
from clustersim.inference.partition.kernels import AttentionReplay, drive_staged
from clustersim.inference.partition.work import attention_work

SHAPE = AttentionShape(batch=1, seq_len=64, embed=96, heads=6)


def _run(partition: str, workers: int, replicated: bool = False, cls=AttentionReplay):
    replay = cls(SHAPE, workers, partition, replicated, np.random.default_rng(0))
    drive_staged(replay, attention_work(SHAPE, workers, partition, 4, replicated))
    return replay


@pytest.mark.parametrize("partition", ["head", "sequence"])
@pytest.mark.parametrize("workers", [1, 2, 3, 6])
@pytest.mark.parametrize("replicated", [False, True])
def test_partitioned_attention_equals_the_whole_layer(
    partition: str, workers: int, replicated: bool
) -> None:
    result = _run(partition, workers, replicated).check()
    assert result["passed"], result


class _Reversed(AttentionReplay):
    """Concatenates the other workers' keys in reverse order (values in the right one)."""

    def stage(self, i, s, state, received):
        if s == 1:
            received = [
                (src, k, v)
                for (src, _, v), (_, k, _) in zip(
                    sorted(received, key=lambda r: r[0]),
                    sorted(received, key=lambda r: -r[0]),
                    strict=True,
                )
            ]
        return super().stage(i, s, state, received)


def test_keys_in_the_wrong_order_are_caught() -> None:
    assert not _run("sequence", 3, cls=_Reversed).check()["passed"]
