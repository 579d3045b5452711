"""The tensor-parallel process view: one SimPy process per rank, blocks forward then backward.

For every layer, forward then (after all layers) backward in reverse, each rank computes its
share of each half-block on its compute stream and joins the collectives of
:func:`~clustersim.training.tensor_parallel.costs.layer_steps`, which run the chosen all-reduce
algorithm over the FlowNetwork: the last rank to arrive starts it and the others wait, as a
blocking NCCL call does. With a :class:`~clustersim.training.tensor_parallel.kernels.BlockReplay`
attached, the first layer's collectives carry the numerics of the partitioned kernel through
the algorithm's own replay.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.collectives.allreduce import allreduce
from clustersim.hardware.cluster import Cluster
from clustersim.training.tensor_parallel.costs import Step
from clustersim.training.tensor_parallel.kernels import BlockReplay

__all__ = ["TensorParallelRun"]


class TensorParallelRun:
    """The SimPy processes of ``layers`` blocks split over ``ranks``.

    Args:
        cluster: where it runs.
        ranks: the devices, one per tensor-parallel rank.
        layers: transformer blocks.
        fwd, bwd: one rank's steps of one block, forward and backward.
        algorithm: name of the all-reduce.
        replay: numerical replay carried by the first layer's collectives, or None.

    After the simulation, ``compute_s[i]`` and ``comm_s[i]`` are the seconds rank ``i`` spent
    computing and in collectives (waiting for the others included).
    """

    def __init__(
        self,
        cluster: Cluster,
        ranks: list[str],
        layers: int,
        fwd: list[Step],
        bwd: list[Step],
        algorithm: str,
        replay: BlockReplay | None = None,
    ) -> None:
        self.cluster = cluster
        self.env = cluster.sim.env
        self.ranks = ranks
        self.layers = layers
        self.fwd, self.bwd = fwd, bwd
        self.algorithm = algorithm
        self.replay = replay
        self.compute_s = [0.0] * len(ranks)
        self.comm_s = [0.0] * len(ranks)
        self._waiting: dict[Any, list[Any]] = {}

    def start(self) -> None:
        """Create one process per rank."""
        for i, name in enumerate(self.ranks):
            self.cluster.sim.process(self._rank(i), name=f"tensor-parallel rank {name}")

    def _collective(self, key: Any, size: float, numeric: bool) -> Generator[Any, Any, None]:
        """Join the all-reduce ``key``; the last rank to arrive runs it for everyone."""
        entry = self._waiting.setdefault(key, [0, simpy.Event(self.env)])
        entry[0] += 1
        if entry[0] < len(self.ranks):
            yield entry[1]
            return
        replay = self.replay if numeric else None
        buffers = replay.take().copy() if replay is not None else None
        yield from allreduce(self.cluster, self.ranks, size, self.algorithm, buffers)
        if buffers is not None and replay is not None:
            replay.give(buffers[0])
        entry[1].succeed()

    def _rank(self, i: int) -> Generator[Any, Any, None]:
        env = self.env
        device = self.cluster.devices[self.ranks[i]]
        order = [(layer, "F", self.fwd) for layer in range(self.layers)]
        order += [(layer, "B", self.bwd) for layer in reversed(range(self.layers))]
        for layer, phase, steps in order:
            for k, step in enumerate(steps):
                start = env.now
                if step.kind == "compute":
                    yield from device.compute(
                        step.flops,
                        step.nbytes,
                        label=f"L{layer} {step.label}",
                        kernels=step.kernels,
                    )
                    self.compute_s[i] += env.now - start
                else:
                    yield from self._collective((layer, phase, k), step.size, layer == 0)
                    self.comm_s[i] += env.now - start
