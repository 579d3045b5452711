"""``matrix_tile``: a pipeline whose devices compute in tiles of rows; off by default."""

from __future__ import annotations

import pytest

from tests.training.pipeline.helpers import run

CELLS = {"count": 8, "flops": "10 GFLOP", "activation": "0 B", "rows": 49}


@pytest.mark.parametrize("microbatch", [1, 4])
def test_small_micro_batches_fill_their_tiles_badly(microbatch: int) -> None:
    wl = {"schedule": "gpipe", "stages": 4, "microbatches": 4, "batch": 4 * microbatch}
    plain = run({**wl, "profile": CELLS})
    tiled = run({**wl, "profile": CELLS, "matrix_tile": 128})
    rows = 49 * microbatch
    share = rows / (128 * -(-rows // 128))
    assert tiled.metrics["time_per_minibatch_s"] == pytest.approx(
        plain.metrics["time_per_minibatch_s"] / share, rel=1e-9
    )
    # the analytic side prices the same tiles
    assert tiled.analytic["time_per_minibatch_s"] == pytest.approx(
        tiled.metrics["time_per_minibatch_s"], rel=1e-9
    )
