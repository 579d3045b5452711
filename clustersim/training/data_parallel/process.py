"""The data-parallel SimPy processes: workers compute, and their gradients are synchronised.

The process view of docs/architecture.md §1. One SimPy process per worker runs forward, then
backward layer by layer, then (after the gradients are synchronised) the optimizer update, each
timed on its device with its kernel count (:mod:`~clustersim.training.data_parallel.costs`,
"Kernels"); one coordinator process runs the gradient exchange. A
bucket's exchange starts as soon as every worker has produced it (without ``overlap`` there is
one bucket, so the exchange starts when every backward pass is done) and buckets go one after
another.

The exchange of a bucket:

* dense, ``sync: allreduce``: the chosen algorithm's all-reduce
  (:func:`clustersim.collectives.allreduce.allreduce`), replaying its own kernel on the real
  gradients in step with the simulated transfers;
* dense, ``sync: parameter_server``: every worker pushes its shards to the servers
  (:class:`clustersim.training.parameter_server.process.ServerLinks`), the servers sum them
  (:func:`clustersim.training.parameter_server.kernels.ps_aggregate`), every worker pulls;
* compressed: compressed gradients cannot be summed inside an all-reduce (the workers' sparse
  indices differ; ternary sums leave the ternary alphabet), so with ``sync: allreduce`` the
  workers all-gather each other's payloads (one chunk per worker of that worker's size, by the
  all-reduce's algorithm family when it has an all-gather, else ring) and every worker decodes
  and adds them, as the DGC authors' Horovod implementation does. With a parameter server the
  workers push their payloads (split over the servers in proportion to their shards) and pull
  the *encoded aggregate*. TernGrad's shared scale (the maximum over workers, "scaler
  sharing") costs one extra small exchange of 4 bytes per layer before the payloads.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from clustersim.collectives.allreduce import allreduce
from clustersim.collectives.kernels import chunk_lengths
from clustersim.collectives.schedule import Plan
from clustersim.hardware.cluster import Cluster
from clustersim.training.data_parallel.costs import (
    COMPRESS_PASSES,
    UPDATE_KERNELS,
    UPDATE_PASSES,
    backward_kernels,
    expected_bucket_bytes,
    learning_rate,
)
from clustersim.training.data_parallel.kernels import DataParallelTrainer
from clustersim.training.data_parallel.layout import Layout
from clustersim.training.data_parallel.params import DataParallelParams
from clustersim.training.parameter_server.kernels import ps_aggregate
from clustersim.training.parameter_server.process import ServerLinks

__all__ = ["DataParallelRun"]


class DataParallelRun:
    """One simulated run: worker processes, the exchange coordinator, and what they measure.

    ``trainer`` (an MLP run) gets the real gradients in step with the simulated ones; without
    it (a profile model) the run is timing-only and compressed payloads have their expected
    sizes.
    """

    def __init__(
        self,
        cluster: Cluster,
        params: DataParallelParams,
        layout: Layout,
        trainer: DataParallelTrainer | None,
    ) -> None:
        self.cluster = cluster
        self.layout = layout
        self.params = params
        self.method = params.compression_method
        self.trainer = trainer
        self.env = cluster.sim.env
        self._events: dict[tuple[Any, ...], simpy.Event] = {}
        self._arrived: dict[tuple[int, int], int] = {}
        self.compute_per_worker = np.zeros((layout.iterations, layout.workers))
        self.comm_total = 0.0
        self.payload_bytes = 0.0
        self.bytes_per_iteration = np.zeros(layout.iterations)
        self.ps = ServerLinks(cluster, layout.servers) if layout.servers is not None else None
        self.eval_every = params.eval_every or max(1, layout.iterations // 20)

    # events -------------------------------------------------------------------------
    def event(self, *key: Any) -> simpy.Event:
        """The event named ``key`` (``("ready", k, b)``, ``("synced", k)``), made on first use."""
        ev = self._events.get(key)
        if ev is None:
            ev = self._events[key] = self.env.event()
        return ev

    def _arrive(self, k: int, b: int) -> None:
        """One more worker has produced bucket ``b`` of iteration ``k``; the last makes it
        ready."""
        count = self._arrived.get((k, b), 0) + 1
        self._arrived[(k, b)] = count
        if count == self.layout.workers:
            del self._arrived[(k, b)]
            self.event("ready", k, b).succeed()

    # processes ----------------------------------------------------------------------
    def worker(self, w: int) -> Generator[Any, Any, None]:
        """Worker ``w``: forward, backward layer by layer (compressing each finished bucket),
        wait for the synchronised gradients, update; every iteration."""
        layout = self.layout
        device = self.cluster.devices[layout.ranks[w]]
        layers = layout.layers
        item = self.params.itemsize
        fwd_flops = sum(layer.fwd_flops for layer in layers)
        fwd_bytes = sum(layer.fwd_bytes for layer in layers)
        elements = sum(layer.elements for layer in layers)
        update_bytes = UPDATE_PASSES * item * elements
        passes = COMPRESS_PASSES.get(self.method or "", 0.0)
        for k in range(layout.iterations):
            start = self.env.now
            busy = 0.0
            end = yield from device.compute(
                fwd_flops, fwd_bytes, label="forward", kernels=len(layers)
            )
            busy += end - start
            for b, bucket in enumerate(layout.buckets):
                for i in bucket:
                    t = self.env.now
                    end = yield from device.compute(
                        layers[i].bwd_flops,
                        layers[i].bwd_bytes,
                        label=f"backward {layers[i].name}",
                        kernels=backward_kernels(layers[i]),
                    )
                    busy += end - t
                if passes:
                    t = self.env.now
                    end = yield from device.compute(
                        0.0,
                        passes * item * layout.bucket_elements(b),
                        label="compress",
                        kernels=len(bucket),
                    )
                    busy += end - t
                self._arrive(k, b)
            yield self.event("synced", k)
            t = self.env.now
            end = yield from device.compute(
                2.0 * elements, update_bytes, label="update", kernels=UPDATE_KERNELS
            )
            busy += end - t
            self.compute_per_worker[k, w] = busy

    def coordinator(self) -> Generator[Any, Any, None]:
        """The gradient exchange: each bucket once every worker has produced it, one after
        another (one communication stream); then the update's learning rate and evaluation."""
        layout = self.layout
        network = self.cluster.network
        for k in range(layout.iterations):
            before = float(network.node_bytes_sent.sum())
            for b in range(len(layout.buckets)):
                yield self.event("ready", k, b)
                if b == 0 and self.trainer is not None:
                    self.trainer.local_gradients(k)
                t = self.env.now
                if self.method is None:
                    yield from self.exchange(k, b)
                else:
                    yield from self.compressed_exchange(k, b)
                self.comm_total += self.env.now - t
                self.cluster.sim.tracer.span(
                    ("gradients", "exchange"),
                    f"bucket {b}",
                    "exchange",
                    t,
                    self.env.now,
                    {"iteration": k},
                )
                self._events.pop(("ready", k, b), None)
            self.bytes_per_iteration[k] = float(network.node_bytes_sent.sum()) - before
            if self.trainer is not None:
                self.trainer.apply(
                    learning_rate(self.params, k, layout.workers, layout.iterations_per_epoch)
                )
                if (k + 1) % self.eval_every == 0 or k + 1 == layout.iterations:
                    self.trainer.evaluate(k + 1)
            self.event("synced", k).succeed()
            self._events.pop(("synced", k), None)

    # the gradient exchange -----------------------------------------------------------
    def exchange(self, k: int, b: int) -> Generator[Any, Any, None]:
        """Dense: all-reduce the bucket, or push it to the servers and pull the sum."""
        layout = self.layout
        elements = layout.bucket_elements(b)
        size = float(elements * self.params.itemsize)
        names = layout.bucket_names(b)
        trainer = self.trainer
        buffers = trainer.buffers(names) if trainer is not None else None
        if self.ps is None:
            yield from allreduce(self.cluster, layout.ranks, size, self.params.algorithm, buffers)
            if buffers is not None and trainer is not None:
                for w in range(layout.workers):
                    trainer.receive(w, names, buffers[w])
            return
        lengths = chunk_lengths(elements, len(self.ps.layout.servers))
        shard = lengths.astype(float) * self.params.itemsize
        yield from self._ps_phase("push", np.tile(shard, layout.workers), f"push {k}.{b}")
        total = ps_aggregate(buffers, lengths) if buffers is not None else None
        yield from self._ps_phase("pull", np.tile(shard, layout.workers), f"pull {k}.{b}")
        if total is not None and trainer is not None:
            for w in range(layout.workers):
                trainer.receive(w, names, total)

    def compressed_exchange(self, k: int, b: int) -> Generator[Any, Any, None]:
        """Compressed: all-gather the encoded payloads, or push them and pull the aggregate."""
        layout = self.layout
        trainer = self.trainer
        workers = layout.workers
        elements = layout.bucket_elements(b)
        if trainer is not None:
            payloads = trainer.payloads(b)
            sizes = np.array([p.size for p in payloads], dtype=float)
        else:
            push, pull = self._expected(k, b)
            payloads = []
            sizes = np.full(workers, push)
        self.payload_bytes += float(sizes.sum())
        if self.method == "terngrad":  # scaler sharing: the max of 4-byte scales per layer
            scale_bytes = 4.0 * len(layout.buckets[b])
            if self.ps is None:
                yield from allreduce(self.cluster, layout.ranks, scale_bytes, self.params.algorithm)
            else:
                share = self._shares(elements) * scale_bytes
                yield from self._ps_phase("push", np.tile(share, workers), f"scales {k}.{b}")
                yield from self._ps_phase("pull", np.tile(share, workers), f"scales {k}.{b}")
        if self.ps is None:
            algorithm = layout.allgather
            plan = Plan(workers, sizes)
            padded = None
            if payloads:
                width = int(sizes.max())
                padded = np.zeros((workers, workers, width), dtype=np.uint8)
                for w, p in enumerate(payloads):
                    padded[w, w, : p.size] = p
                expected = padded[np.arange(workers), np.arange(workers)].copy()
            if workers > 1:
                yield from algorithm.process(self.cluster, layout.ranks, plan, padded)
            if padded is not None and trainer is not None:
                trainer.record_delivery(bool((padded == expected[np.newaxis]).all()))
                trainer.receive_gathered(
                    b, [padded[0, w, : p.size] for w, p in enumerate(payloads)]
                )
            return
        share = self._shares(elements)
        yield from self._ps_phase("push", np.outer(sizes, share).ravel(), f"push {k}.{b}")
        if trainer is not None:
            pulled = trainer.server_aggregate(b, payloads)
            pull = float(pulled.size)
        yield from self._ps_phase("pull", np.tile(pull * share, workers), f"pull {k}.{b}")
        if trainer is not None:
            trainer.receive_pulled(b, pulled)

    def _expected(self, k: int, b: int) -> tuple[float, float]:
        """Expected (push, pull) bytes of bucket ``b`` in iteration ``k`` (timing-only runs)."""
        layout = self.layout
        assert self.method is not None
        return expected_bucket_bytes(
            [layout.layers[i].elements for i in layout.buckets[b]],
            layout.keep[k],
            layout.workers,
            self.method,
        )

    def _shares(self, elements: int) -> np.ndarray:
        """Each server's fraction of a bucket (its shard of the elements)."""
        assert self.ps is not None
        lengths = chunk_lengths(max(elements, 1), len(self.ps.layout.servers)).astype(float)
        return lengths / lengths.sum()

    def _ps_phase(self, direction: str, sizes: np.ndarray, label: str) -> Generator[Any, Any, None]:
        """One push or pull batch, flows worker-major and server-minor with ``sizes`` bytes."""
        assert self.ps is not None
        if sizes.sum() > 0:
            yield self.ps.transfer(direction, tuple(range(self.layout.workers)), sizes, label)
