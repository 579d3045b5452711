"""The inputs of a verified run (:class:`clustersim.collectives.kernels.InputStream`): drawn in
place from one PCG64 stream, redrawn bit for bit block by block, and checked without a copy."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.collectives.kernels import (
    InputStream,
    check_collective,
    chunk_lengths,
    random_inputs,
    to_padded,
)


def _rng() -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(11, spawn_key=(3,))))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floats_are_the_generators_uniforms_times_two_minus_one(dtype: str) -> None:
    """The values a run used to draw with ``rng.random((p, E)) * 2 - 1``: scenario outputs that
    report the check's error stay byte-identical."""
    expected = _rng().random((5, 1003), dtype=np.dtype(dtype))
    expected *= 2
    expected -= 1
    np.testing.assert_array_equal(random_inputs(_rng(), 5, 1003, np.dtype(dtype)), expected)


def test_float16_is_the_float32_draw_rounded() -> None:
    wide = random_inputs(_rng(), 3, 101, np.dtype("float32"))
    np.testing.assert_array_equal(
        random_inputs(_rng(), 3, 101, np.dtype("float16")), wide.astype(np.float16)
    )


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integers_are_uniform_in_range(dtype: str) -> None:
    values = random_inputs(_rng(), 4, 20_000, np.dtype(dtype))
    assert values.dtype == np.dtype(dtype)
    assert values.min() == -1000 and values.max() == 999
    assert abs(values.mean()) < 10  # mean -0.5, standard error 577 / sqrt(80000) ≈ 2


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64"])
def test_any_block_is_redrawn_bit_for_bit(dtype: str) -> None:
    """Odd offsets included: a float32 is half of a 64-bit draw."""
    lengths = chunk_lengths(1001, 6)
    full = InputStream(_rng(), 5, lengths, np.dtype(dtype)).padded()
    stream = InputStream(_rng(), 5, lengths, np.dtype(dtype))
    for chunk, start, stop, rows in [(0, 0, 167, None), (3, 5, 60, [4, 1]), (5, 100, 167, [2])]:
        block = stream.block(chunk, start, stop, rows)
        picked = list(range(5)) if rows is None else rows
        np.testing.assert_array_equal(block, full[picked, chunk, start:stop])
    assert not stream.block(5, 166, 167, [0]).any()  # chunk 5 has 166 elements: padding


def test_fill_draws_only_what_a_rank_holds_before_the_op() -> None:
    lengths = chunk_lengths(40, 4)
    full = InputStream(_rng(), 4, lengths, np.dtype("float32")).padded()
    for op, held in (("allgather", np.eye(4, dtype=bool)), ("broadcast", np.arange(4) == 2)):
        padded = np.zeros_like(full)
        InputStream(_rng(), 4, lengths, np.dtype("float32")).fill(padded, op, root=2)
        mask = np.broadcast_to(held.reshape(4, -1, 1), full.shape)
        np.testing.assert_array_equal(padded[mask], full[mask])
        assert not padded[~mask].any()


def test_the_check_against_a_stream_equals_the_check_against_a_copy() -> None:
    """Same verdict, error and tolerance, to the bit, with no copy of the inputs."""
    p, lengths = 6, chunk_lengths(60_001, 6)
    stream = InputStream(_rng(), p, lengths, np.dtype("float32"))
    inputs = stream.padded()
    outputs = np.broadcast_to(inputs.sum(axis=0), inputs.shape).copy()
    for broken in (False, True):
        if broken:
            outputs[4, 2, 17] += 1e-3
        by_stream = check_collective("allreduce", stream, outputs)
        assert by_stream == check_collective("allreduce", inputs, outputs)
        assert by_stream["allreduce_equals_sum"]["passed"] is not broken


def test_the_block_check_equals_a_whole_array_comparison() -> None:
    """The check compares the rows' max and min with the reference: the largest error of any
    row, exactly as comparing every row."""
    rng = np.random.default_rng(4)
    data = rng.standard_normal((5, 3000)).astype(np.float32)
    inputs = to_padded(data, chunk_lengths(3000, 5))
    outputs = np.broadcast_to(inputs.sum(axis=0), inputs.shape).copy()
    outputs += rng.standard_normal(outputs.shape).astype(np.float32) * 1e-7
    record = check_collective("allreduce", inputs, outputs)["allreduce_equals_sum"]
    reference = data.astype(np.float64).sum(axis=0)
    whole = np.abs(outputs.reshape(5, -1).astype(np.float64) - reference)
    assert record["max_abs_err"] == whole.max()
