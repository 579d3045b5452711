"""Packet-loss retransmissions and bit errors."""

from __future__ import annotations

import numpy as np

from clustersim.federated import channel
from clustersim.federated.costs import expected_wire_bytes


def test_no_loss_no_extra_bytes() -> None:
    rng = np.random.default_rng(0)
    assert channel.bytes_on_wire(rng, 10_000.0, 0.0, 1500) == 10_000.0


def test_retransmissions_average_to_the_arq_expectation() -> None:
    """Mean bytes on the wire: size + n·p/(1-p)·packet (1/(1-p) transmissions per packet)."""
    rng = np.random.default_rng(1)
    size, loss, packet = 150_000.0, 0.1, 1500
    draws = np.array([channel.bytes_on_wire(rng, size, loss, packet) for _ in range(4000)])
    expected = expected_wire_bytes(size, loss, packet)
    assert expected == size + 100 * loss / (1 - loss) * packet
    sd = np.sqrt(100 * loss) / (1 - loss) * packet  # negative binomial: sqrt(n p) / (1 - p)
    assert abs(draws.mean() - expected) < 5 * sd / np.sqrt(draws.size)


def test_bit_flip_count_is_binomial() -> None:
    rng = np.random.default_rng(2)
    flips = [channel.bit_flips(rng, 10_000, 4, 1e-5) for _ in range(2000)]
    assert abs(np.mean(flips) - 3.2) < 0.2  # 320,000 bits × 1e-5
    assert channel.bit_flips(rng, 10_000, 4, 0.0) == 0


def test_flip_bits_inverts_exactly_that_many_bits_of_the_wire_dtype() -> None:
    rng = np.random.default_rng(3)
    values = rng.standard_normal(64)
    sent = values.astype(np.float32)
    got = channel.flip_bits(rng, values, np.dtype(np.float32), 5)
    xor = np.bitwise_xor(sent.view(np.uint32), got.astype(np.float32).view(np.uint32))
    assert sum(bin(int(v)).count("1") for v in xor) == 5
