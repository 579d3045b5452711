"""The wire encodings: LEB128 varints, the run-length encoding of sparse layers and its size at
99.9 % sparsity, bit-packed levels and ternary values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.training.data_parallel.compression import (
    decode_sparse,
    encode_sparse,
    pack_levels,
    pack_ternary,
    sparse_layer_bytes,
    unpack_levels,
    unpack_ternary,
    varint_decode,
    varint_encode,
    varint_sizes,
)
from clustersim.training.data_parallel.costs import expected_payload_bytes


def test_varint_round_trip_and_sizes() -> None:
    values = np.array([0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**40], dtype=np.uint64)
    assert varint_sizes(values).tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 6]
    data = varint_encode(values)
    assert data.size == varint_sizes(values).sum()
    assert varint_encode(np.array([300])).tolist() == [0xAC, 0x02]  # the protobuf example
    decoded, used = varint_decode(np.concatenate([data, [7, 7]]).astype(np.uint8), values.size)
    assert decoded.tolist() == values.tolist() and used == data.size


def test_sparse_encoding_round_trip() -> None:
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(50_000, 60, replace=False))
    vals = rng.standard_normal(60)
    dense = np.arange(3.0)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    payload = encode_sparse([(idx, vals), dense, empty])
    assert payload.size == sparse_layer_bytes(idx) + 3 * 4 + 4
    (got_idx, got_vals), got_dense, (none, _) = decode_sparse(
        payload, [(50_000, True), (3, False), (10, True)]
    )
    assert np.array_equal(got_idx, idx)
    assert np.array_equal(got_vals, vals.astype(np.float32))  # float32 on the wire, exactly
    assert np.array_equal(got_dense, dense) and none.size == 0
    with pytest.raises(ValueError, match="trailing"):
        decode_sparse(
            np.concatenate([payload, [0]]).astype(np.uint8),
            [(50_000, True), (3, False), (10, True)],
        )


def test_run_length_encoding_size_at_999_sparsity() -> None:
    """0.1 % of a million entries: gaps of ~1000 take 2 varint bytes, so ~6 bytes per entry."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    idx = np.sort(rng.choice(n, n // 1000, replace=False))
    size = sparse_layer_bytes(idx)
    assert 5.5 * idx.size < size < 6.2 * idx.size
    assert 4 * n / size > 600
    push, _ = expected_payload_bytes(n, 0.001, 4, "dgc")
    assert push == pytest.approx(size, rel=0.05)


@pytest.mark.parametrize("bits", range(1, 9))
def test_level_packing_round_trip(bits: int) -> None:
    rng = np.random.default_rng(bits)
    for n in (0, 1, 9, 1001):
        levels = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), n)
        packed = pack_levels(levels, bits)
        assert packed.size == math.ceil(n * bits / 8)
        assert np.array_equal(unpack_levels(packed, n, bits), levels)
    t = np.array([-1, 0, 1, 1, 0, -1, 1], dtype=np.int8)
    assert pack_ternary(t).size == 2 and np.array_equal(unpack_ternary(pack_ternary(t), 7), t)
