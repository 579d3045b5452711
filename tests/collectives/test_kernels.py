"""The shared numerics (:mod:`clustersim.collectives.kernels`): chunking, the padded layout,
starting buffers, and the checks that must fail on a wrong result."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.collectives.kernels import (
    check_collective,
    chunk_lengths,
    from_padded,
    random_inputs,
    starting_buffers,
    to_padded,
)


def test_chunks_are_as_even_as_elements_allow() -> None:
    assert chunk_lengths(10, 4).tolist() == [3, 3, 2, 2]
    assert chunk_lengths(3, 5).tolist() == [1, 1, 1, 0, 0]
    assert chunk_lengths(8, 4).tolist() == [2, 2, 2, 2]


@pytest.mark.parametrize(("elements", "parts"), [(10, 4), (3, 5), (8, 4)])
def test_padded_layout_round_trips(elements: int, parts: int) -> None:
    data = np.arange(2 * elements, dtype=float).reshape(2, elements)
    lengths = chunk_lengths(elements, parts)
    padded = to_padded(data, lengths)
    assert padded.shape == (2, parts, int(lengths.max()))
    np.testing.assert_array_equal(from_padded(padded, lengths), data)


def test_even_chunks_are_a_view() -> None:
    data = np.zeros((2, 8))
    assert np.shares_memory(to_padded(data, chunk_lengths(8, 4)), data)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64"])
def test_random_inputs_are_signed_and_of_the_dtype(dtype: str) -> None:
    values = random_inputs(np.random.default_rng(0), 3, 1000, np.dtype(dtype))
    assert values.shape == (3, 1000) and values.dtype == np.dtype(dtype)
    assert values.min() < 0 < values.max()


def test_starting_buffers_hold_what_each_rank_has_before_the_op() -> None:
    inputs = np.arange(1, 3 * 3 * 2 + 1, dtype=float).reshape(3, 3, 2)
    gather = starting_buffers("allgather", inputs, 0)
    for rank in range(3):
        np.testing.assert_array_equal(gather[rank, rank], inputs[rank, rank])
        assert np.count_nonzero(gather[rank]) == 2  # only its own chunk
    broadcast = starting_buffers("broadcast", inputs, 1)
    np.testing.assert_array_equal(broadcast[1], inputs[1])
    assert not broadcast[[0, 2]].any()
    np.testing.assert_array_equal(starting_buffers("allreduce", inputs, 0), inputs)


def test_sum_check_passes_a_sum_and_fails_a_missing_contribution() -> None:
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((4, 4, 3))
    good = np.broadcast_to(inputs.sum(axis=0), inputs.shape).copy()
    assert check_collective("allreduce", inputs, good)["allreduce_equals_sum"]["passed"]
    bad = good.copy()
    bad[2] -= inputs[3]
    assert not check_collective("allreduce", inputs, bad)["allreduce_equals_sum"]["passed"]


def test_a_nan_result_fails_its_check() -> None:
    inputs = np.ones((2, 2, 1))
    outputs = np.full_like(inputs, np.nan)
    assert not check_collective("allreduce", inputs, outputs)["allreduce_equals_sum"]["passed"]


def test_unknown_op_has_no_check() -> None:
    with pytest.raises(ValueError, match="no check"):
        check_collective("scan", np.ones((2, 2, 1)), np.ones((2, 2, 1)))
