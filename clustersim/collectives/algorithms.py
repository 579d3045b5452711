"""The collective algorithm table: which (op, algorithm) pairs exist, with process and cost.

Each entry binds one algorithm's process (how it spends time and, with ``verify``, replays its
kernel) to its alpha-beta(-gamma) cost and a one-line formula for ``clustersim list``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.collectives import ring
from clustersim.hardware.cluster import Cluster

__all__ = ["ALGORITHMS", "OPS", "CollectiveAlgorithm", "algorithms_for"]

OPS = ("allreduce", "reduce_scatter", "allgather")

ProcessFn = Callable[[Cluster, list[str], str, np.ndarray, "np.ndarray | None"],
                     Generator[Any, Any, None]]
CostFn = Callable[..., float]


@dataclass(frozen=True)
class CollectiveAlgorithm:
    """An algorithm for one collective op.

    Attributes:
        op, name: the table key.
        process: ``process(cluster, ranks, op, chunk_bytes, padded_or_None)`` generator.
        time: cost model ``time(size, p, alpha, beta, gamma=0)`` in seconds.
        peers: rank-position pairs ``(src, dst)`` the algorithm sends between, given ``p``;
            the analytic model takes alpha and beta from the routes between them.
        formula: the cost in words, for listings.
        source: the citation of the cost formula.
    """

    op: str
    name: str
    process: ProcessFn
    time: CostFn
    peers: Callable[[int], tuple[np.ndarray, np.ndarray]]
    formula: str
    source: str


def _ring_peers(p: int) -> tuple[np.ndarray, np.ndarray]:
    ranks = np.arange(p)
    return ranks, (ranks + 1) % p


_THAKUR = "Thakur, Rabenseifner & Gropp, IJHPCA 19(1) 2005"
_PATARASUK = "Patarasuk & Yuan, JPDC 69(2) 2009"

ALGORITHMS: dict[tuple[str, str], CollectiveAlgorithm] = {
    ("allreduce", "ring"): CollectiveAlgorithm(
        "allreduce", "ring", ring.ring_process, ring.ring_allreduce_time, _ring_peers,
        "2(p-1)·α + 2(p-1)/p·n·β + (p-1)/p·n·γ", f"{_PATARASUK} §3; {_THAKUR} §4.4"),
    ("reduce_scatter", "ring"): CollectiveAlgorithm(
        "reduce_scatter", "ring", ring.ring_process, ring.ring_reduce_scatter_time, _ring_peers,
        "(p-1)·α + (p-1)/p·n·(β+γ)", f"{_THAKUR} §4.3"),
    ("allgather", "ring"): CollectiveAlgorithm(
        "allgather", "ring", ring.ring_process, ring.ring_allgather_time, _ring_peers,
        "(p-1)·α + (p-1)/p·n·β", f"{_THAKUR} §4.1"),
}


def algorithms_for(op: str) -> list[str]:
    """Names of the algorithms implemented for ``op``."""
    return sorted(name for o, name in ALGORITHMS if o == op)
