"""The closed forms every collective algorithm shares: alpha and beta from routes, gamma from
memory bandwidth, and nccl-tests' bus bandwidth.

Each algorithm's own time and traffic formulas live beside its schedule (``ring.py``,
``recursive.py``, ``trees.py``, ``direct.py``); they are written in the alpha-beta-gamma model
of Thakur, Rabenseifner & Gropp ("Optimization of collective communication operations in
MPICH", IJHPCA 19(1) 2005): ``α`` seconds per message, ``β`` seconds per byte sent, ``γ``
seconds per byte reduced. This module says where the three numbers come from.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MEMORY_PASSES", "alpha_beta", "bus_factor"]

MEMORY_PASSES = 3.0
"""Bytes of device-memory traffic per byte reduced: read two operands, write one result.

An element-wise sum of ``b`` received bytes into a local buffer reads both operands and writes
the result, ``3b`` bytes of memory traffic at about one FLOP per element: far below any GPU's or
CPU's ridge point, so it is memory-bound and its roofline time (Williams, Waterman & Patterson,
"Roofline", CACM 52(4) 2009) is ``3b / mem_bandwidth`` (divided by the device's efficiency,
times its slowdown). Hence ``γ = 3 / mem_bandwidth`` seconds per byte reduced, the γ of Thakur et
al.'s cost model, with ``reduction: device``; ``reduction: free`` takes ``γ = 0``.
"""


def alpha_beta(latency: np.ndarray, bottleneck: np.ndarray) -> tuple[float, float]:
    """Alpha (s) and beta (s/byte) of the routes an algorithm uses, contention ignored.

    ``latency[i]`` and ``bottleneck[i]`` are the latency (s) and bottleneck bandwidth (B/s) of
    the route of the ``i``-th pair of communicating ranks. Alpha is the largest latency and beta
    the inverse of the smallest bottleneck: the uniform-network assumption of the alpha-beta
    model (Thakur et al. 2005), which prices every message at the slowest route. No routes (a
    degenerate phase) gives ``(0, 0)``.
    """
    if latency.size == 0:
        return 0.0, 0.0
    return float(latency.max()), 1.0 / float(bottleneck.min())


def bus_factor(op: str, p: int) -> float:
    """nccl-tests' bus-bandwidth factor: busbw = algbw × factor.

    All-reduce ``2(p-1)/p``; reduce-scatter, all-gather and all-to-all ``(p-1)/p``; broadcast
    and reduce 1 (nccl-tests, doc/PERFORMANCE.md, "Bus bandwidth"). It makes busbw comparable
    with the hardware link bandwidth.
    """
    if op == "allreduce":
        return 2 * (p - 1) / p
    if op in ("broadcast", "reduce"):
        return 1.0
    return (p - 1) / p
