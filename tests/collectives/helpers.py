"""The scenarios and replays the collective tests vary.

:func:`ring_scenario` is a ring algorithm on a ring topology; :func:`scenario` any algorithm on
a fully connected network (contention-free for every algorithm here but direct on shared links);
:func:`two_level` machines of GPUs for the hierarchical all-reduce. :func:`kernel_result`
replays one algorithm's kernel on random data, without a clock, and checks it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.collectives.algorithms import ALGORITHMS
from clustersim.collectives.kernels import (
    check_collective,
    chunk_lengths,
    starting_buffers,
    to_padded,
)
from clustersim.collectives.schedule import Plan, replay
from clustersim.core.simulation import Simulation
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.presets import get_device

__all__ = [
    "BW",
    "CHECK",
    "FLAT",
    "LAT",
    "GiB",
    "MiB",
    "h100_cluster",
    "kernel_result",
    "layout",
    "ring_scenario",
    "scenario",
    "two_level",
]

GiB = 2**30
MiB = 2**20
BW = 50 * GiB
LAT = 500e-9
FLAT = sorted(key for key in ALGORITHMS if key[1] != "hierarchical")
"""Every (op, algorithm) that runs on any topology (hierarchical needs machines)."""
CHECK = {
    "allreduce": "allreduce_equals_sum",
    "reduce_scatter": "reduce_scatter_equals_sum",
    "allgather": "allgather_equals_concat",
    "broadcast": "broadcast_equals_root",
    "reduce": "reduce_equals_sum",
    "alltoall": "alltoall_equals_transpose",
}
"""The check each op's verified run reports."""


def ring_scenario(
    nodes: int = 8,
    size: float = 64 * MiB,
    op: str = "allreduce",
    verify: bool = False,
    topology_kind: str = "ring",
    **workload: Any,
) -> dict[str, Any]:
    """A ring ``op`` over ``nodes`` ranks on a ring of 50 GiB/s, 500 ns links (seed 3)."""
    return {
        "name": f"test-{op}-{nodes}",
        "seed": 3,
        "cluster": {
            "topology": {"kind": topology_kind, "nodes": nodes},
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": {
            "kind": "collective",
            "op": op,
            "algorithm": "ring",
            "size": size,
            "verify": verify,
            **workload,
        },
    }


def scenario(
    op: str,
    algorithm: str,
    nodes: int = 8,
    size: float = 64 * MiB,
    kind: str = "fully_connected",
    verify: bool = False,
    **workload: Any,
) -> dict[str, Any]:
    """``algorithm`` for ``op`` over ``nodes`` ranks, fully connected by default (seed 5)."""
    return {
        "name": f"test-{op}-{algorithm}-{nodes}",
        "seed": 5,
        "cluster": {
            "topology": {"kind": kind, "nodes": nodes},
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": {
            "kind": "collective",
            "op": op,
            "algorithm": algorithm,
            "size": size,
            "verify": verify,
            **workload,
        },
    }


def two_level(
    machines: int = 4,
    gpus: int = 8,
    size: float = 4 * MiB,
    verify: bool = False,
    algorithm: str = "hierarchical",
    **workload: Any,
) -> dict[str, Any]:
    """An all-reduce on ``machines`` × ``gpus`` H100s: NVLink4 inside, 100GbE across."""
    return {
        "name": "test-hierarchical",
        "cluster": {
            "topology": {
                "kind": "two_level",
                "nodes": machines,
                "gpus_per_node": gpus,
                "intra_link": "NVLink4",
                "inter_link": "100GbE",
            }
        },
        "workload": {
            "kind": "collective",
            "op": "allreduce",
            "algorithm": algorithm,
            "size": size,
            "verify": verify,
            **workload,
        },
    }


def h100_cluster(graph: Any) -> Cluster:
    """A cluster of H100s on ``graph`` (a :mod:`clustersim.hardware.topology` graph), seed 0."""
    return Cluster(Simulation(0), graph, get_device("H100"))


def layout(op: str, name: str, p: int, elements: int, tree_chunks: int = 2) -> np.ndarray:
    """Element counts of the chunks the algorithm cuts ``elements`` into for ``p`` ranks."""
    return chunk_lengths(elements, ALGORITHMS[(op, name)].layout(p, tree_chunks))


def kernel_result(
    op: str,
    name: str,
    p: int,
    elements: int,
    root: int = 0,
    tree_chunks: int = 2,
    drop_last: bool = False,
) -> dict[str, Any]:
    """Replay an algorithm's kernel on random data; check it against the direct computation."""
    rng = np.random.default_rng(p * 7919 + elements)
    lengths = layout(op, name, p, elements, tree_chunks)
    inputs = to_padded(rng.standard_normal((p, elements)), lengths).copy()
    padded = starting_buffers(op, inputs, root)
    steps = list(ALGORITHMS[(op, name)].schedule(Plan(p, lengths * 8.0, root)))
    if drop_last:
        steps = [s for s in steps if s.apply is not None][:-1]
    replay(steps, padded)
    return check_collective(op, inputs, padded, root)[CHECK[op]]
