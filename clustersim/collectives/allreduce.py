"""The one place the training workloads reach into :mod:`clustersim.collectives`.

Pipelines and tensor parallelism need an all-reduce in three ways: timed inside a SimPy process
(gradient sync across replicas, tensor-parallel ``f``/``g`` operators), timed *and* carrying
real numbers (the numerical replays), and as a closed-form time (analytic predictions and the
PipeDream planner, which prices thousands of candidate stage placements). Going through this
module keeps those uses on the collectives package's public table (``ALGORITHMS``,
``plan_collective``, each algorithm's ``process`` and ``analytic``) in one place.

Timing and numerics are decoupled on purpose: the simulated size is the real one (e.g. 553 MB of
VGG-16 gradients), while the replayed buffers are those of a small numpy model; the algorithm
cuts both into the same number of chunks and replays its own kernel on the latter.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import numpy as np

from clustersim.collectives.algorithms import (
    ALGORITHMS,
    CollectiveAlgorithm,
    algorithms_for,
    plan_collective,
)
from clustersim.collectives.kernels import chunk_lengths, from_padded, to_padded
from clustersim.collectives.schedule import Plan
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.validation import known_name

__all__ = ["AllreduceCost", "allreduce", "allreduce_algorithm", "allreduce_time"]


def allreduce_algorithm(name: str) -> CollectiveAlgorithm:
    """The all-reduce called ``name``; an unknown name is an InputError listing the known ones.

    The one check of an all-reduce algorithm name: the kinds that embed an all-reduce call it
    from their parameter validators.
    """
    known_name(name, algorithms_for("allreduce"), "all-reduce algorithm")
    return ALGORITHMS[("allreduce", name)]


def _plan(
    cluster: Cluster, ranks: Sequence[str], algorithm: CollectiveAlgorithm, size: float
) -> Plan:
    """The plan of ``size`` bytes, one "element" per byte: its chunk sizes are exact bytes."""
    plan, _ = plan_collective(cluster, list(ranks), algorithm, max(round(size), 1), 1)
    return plan


def allreduce(
    cluster: Cluster,
    ranks: Sequence[str],
    size: float,
    name: str,
    buffers: np.ndarray | None = None,
) -> Generator[Any, Any, None]:
    """Time an all-reduce of ``size`` bytes over ``ranks`` (``yield from`` it in a process).

    ``buffers`` (ranks, elements), when given, is all-reduced in place by the algorithm's own
    kernel, in step with the simulated transfers. Fewer than two ranks or no bytes: no time.
    """
    if len(ranks) < 2 or size <= 0:
        if buffers is not None and len(ranks) > 1:
            buffers[:] = buffers.sum(axis=0)
        return
    algorithm = allreduce_algorithm(name)
    plan = _plan(cluster, ranks, algorithm, size)
    padded = lengths = None
    if buffers is not None:
        lengths = chunk_lengths(buffers.shape[1], plan.chunk_bytes.size)
        padded = to_padded(buffers, lengths).copy()
    yield from algorithm.process(cluster, list(ranks), plan, padded)
    if buffers is not None and padded is not None and lengths is not None:
        buffers[:] = from_padded(padded, lengths)


def allreduce_time(cluster: Cluster, ranks: Sequence[str], size: float, name: str) -> float:
    """The algorithm's analytic time for ``size`` bytes over ``ranks`` (contention ignored)."""
    if len(ranks) < 2 or size <= 0:
        return 0.0
    algorithm = allreduce_algorithm(name)
    return float(
        algorithm.analytic(cluster, list(ranks), _plan(cluster, ranks, algorithm, size))["time_s"]
    )


class AllreduceCost:
    """All-reduce times over contiguous ranges of ``devices``, cached for the planner.

    For algorithms whose cost is ``time(n, p, alpha, beta)`` the routes are priced once per
    range (alpha and beta from the algorithm's own analytic model) and only the size varies;
    others are asked for every size (memoised).
    """

    def __init__(self, cluster: Cluster, devices: Sequence[str], name: str) -> None:
        self.cluster = cluster
        self.devices = list(devices)
        self.name = name
        self.algorithm = allreduce_algorithm(name)
        self._alpha_beta: dict[tuple[int, int], tuple[float, float]] = {}
        self._memo: dict[tuple[int, int, float], float] = {}
        self._simple = self.algorithm.predict is None and name not in ("double_binary_tree",)

    def time(self, start: int, stop: int, size: float) -> float:
        """All-reduce of ``size`` bytes over devices ``start .. stop-1`` (0 for one device)."""
        p = stop - start
        if p < 2 or size <= 0:
            return 0.0
        ranks = self.devices[start:stop]
        if self._simple:
            ab = self._alpha_beta.get((start, stop))
            if ab is None:
                out = self.algorithm.analytic(
                    self.cluster, ranks, _plan(self.cluster, ranks, self.algorithm, 2**20)
                )
                ab = self._alpha_beta[(start, stop)] = (
                    out["alpha_s"],
                    1.0 / out["link_bandwidth_Bps"],
                )
            return float(self.algorithm.time(size, p, ab[0], ab[1]))
        key = (start, stop, size)
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = allreduce_time(self.cluster, ranks, size, self.name)
        return value
