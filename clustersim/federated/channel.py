"""Communication errors: retransmitted packets on lossy links, corrupted bits in an update.

Packet loss (:func:`bytes_on_wire`). A transfer of ``size`` bytes is cut into
``n = ceil(size / packet)`` packets; each transmission of a packet is lost independently with
probability ``p`` and resent until it arrives, so the number of extra transmissions is
``R ~ NegativeBinomial(n, 1 - p)`` (failures before ``n`` successes; mean ``n·p / (1 - p)``),
drawn from the run's seed. The transfer then puts ``size + R · packet`` bytes on the link, and
the flow network prices them like any other bytes: this is an ideal selective-repeat ARQ,
whose throughput efficiency is ``1 - p`` (Bertsekas & Gallager, *Data Networks*, 2nd ed.,
1992, §2.4, the expected number of transmissions per packet being ``1 / (1 - p)``). It ignores
TCP's congestion-window reaction to loss (Mathis, Semke, Mahdavi & Ott, "The Macroscopic
Behavior of the TCP Congestion Avoidance Algorithm", CCR 1997), which would cost more; the
timeouts of a lost last packet are not charged either.

Bit errors (:func:`flip_bits`). An update is sent at the model's wire dtype; every bit flips
independently with probability ``ber``: ``Binomial(bits, ber)`` flips at uniformly drawn
distinct positions. A flipped exponent bit can make a weight huge, infinite or NaN, which is
why links carry checksums: with ``detect`` the server discards a corrupted update (a CRC-32
misses an error with probability about 2^-32, so detection is taken as certain), otherwise the
flipped values enter the aggregate.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bit_flips", "bytes_on_wire", "flip_bits", "retransmissions"]


def retransmissions(rng: np.random.Generator, size: float, loss: float, packet: float) -> int:
    """Extra packet transmissions of a ``size``-byte transfer at loss rate ``loss``."""
    if loss <= 0 or size <= 0:
        return 0
    packets = int(np.ceil(size / packet))
    return int(rng.negative_binomial(packets, 1.0 - loss))


def bytes_on_wire(rng: np.random.Generator, size: float, loss: float, packet: float) -> float:
    """Bytes a ``size``-byte transfer puts on a link that loses a ``loss`` share of packets."""
    return float(size) + retransmissions(rng, size, loss, packet) * float(packet)


def bit_flips(rng: np.random.Generator, elements: int, itemsize: int, ber: float) -> int:
    """Number of bits that flip in ``elements`` values of ``itemsize`` bytes at rate ``ber``."""
    if ber <= 0 or elements == 0:
        return 0
    return int(rng.binomial(elements * itemsize * 8, ber))


def flip_bits(
    rng: np.random.Generator, values: np.ndarray, dtype: np.dtype, flips: int
) -> np.ndarray:
    """``values`` sent as ``dtype`` with ``flips`` distinct bits inverted, back as float64."""
    wire = np.ascontiguousarray(values, dtype=dtype)
    raw = wire.view(np.uint8).copy()
    bits = raw.size * 8
    where = rng.choice(bits, size=min(flips, bits), replace=False)
    np.bitwise_xor.at(raw, where // 8, (1 << (where % 8)).astype(np.uint8))
    return raw.view(dtype).astype(np.float64)
