"""The pipeline's process view: one SimPy process per device, each running its op list.

A *worker* is one device playing pipeline position ``d`` (0..p-1), data-parallel replica ``r``
and tensor-parallel rank ``j``. Each worker executes the op list the schedule gives it
(:mod:`~clustersim.training.pipeline.schedules`) strictly in order:

* ``F(m, s)``: wait until micro-batch ``m``'s activation for virtual stage ``s`` has arrived
  (stage 0 reads its data locally), run the forward pass on the compute stream, and hand the
  output to the FlowNetwork for the worker holding stage ``s+1``. Sends never block compute:
  they queue first-in first-out per (sender, receiver) pair, like point-to-point sends on a
  communication stream, and the receiver's op waits for the arrival.
* ``B(m, s)``: wait for the gradient from stage ``s+1`` (the last stage starts from its own
  loss), re-run the forward pass first when ``recompute`` is on, run the backward pass and send
  the input gradient back to stage ``s-1``.
* With tensor parallelism (``t > 1``) every layer's compute is split ``t`` ways and followed by
  ``tensor_parallel_allreduces`` all-reduces of the layer's output activation among the ``t``
  ranks, forward and backward (Megatron-LM's ``g`` and ``f`` operators, Shoeybi et al. 2019,
  §3); the collective runs the chosen all-reduce algorithm over the FlowNetwork.
* Gradient synchronisation across replicas. Synchronous schedules (``mode="flush"``): when a
  worker has finished its op list it joins one all-reduce of its stage's gradients with the
  same position in every other replica; stages that finish early sync early. PipeDream
  (``mode="async"``): the replicas of a stage all-reduce after every *round* (each replica's
  k-th backward), in the background; the update lands when the all-reduce ends, and a
  replica waits for round ``k`` only before its backward of round ``k+2`` (one round of
  staleness), so compute and synchronisation overlap as PipeDream's cost model assumes
  (``T = max(compute, sync) / replicas``, SOSP 2019 §3.1).

Every compute op is recorded as a span on the device's compute lane with category
``forward``, ``backward`` or ``recompute`` (``forward chunk 1`` ... when interleaved) and name
``F3`` / ``B3`` / ``R3`` (``F3.1``: micro-batch 3, chunk 1): the staircase of the timelines.
Transfers appear on the comm lanes and links through the network's own tracing. When a
:class:`~clustersim.training.pipeline.kernels.PipelineReplay` is attached, tensor-parallel rank 0
of each group replays the numerics at the instant the op completes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from clustersim.collectives.allreduce import allreduce
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.device import Device
from clustersim.training.pipeline.kernels import PipelineReplay
from clustersim.training.pipeline.schedules import Op

__all__ = ["PipelineRun", "StageSpec", "WorkerStats"]


@dataclass(frozen=True)
class StageSpec:
    """One virtual stage (model chunk), per micro-batch, before any tensor-parallel split.

    Attributes:
        index: position in the model (0 = first chunk).
        layers: ``(first, stop)`` layer indices of the profile.
        fwd_flops, bwd_flops: per layer, FLOP of one micro-batch.
        fwd_bytes, bwd_bytes: per layer, memory traffic of one micro-batch (roofline).
        act_bytes: per layer, the output activation of one micro-batch.
        stash_bytes: bytes of one micro-batch kept for the backward (all layers plus input).
        input_bytes: the stage's input activation for one micro-batch.
        param_bytes: parameter (and gradient) bytes of the stage.
    """

    index: int
    layers: tuple[int, int]
    fwd_flops: tuple[float, ...]
    bwd_flops: tuple[float, ...]
    fwd_bytes: tuple[float, ...]
    bwd_bytes: tuple[float, ...]
    act_bytes: tuple[float, ...]
    stash_bytes: float
    input_bytes: float
    param_bytes: float

    @property
    def out_bytes(self) -> float:
        """Activation sent to the next stage per micro-batch."""
        return self.act_bytes[-1]


@dataclass
class WorkerStats:
    """What one worker did. Times in seconds."""

    device: str
    position: int
    replica: int
    tp_rank: int
    busy_s: float = 0.0
    tensor_parallel_s: float = 0.0
    data_parallel_s: float = 0.0
    last_op_end: float = 0.0
    finished: float = 0.0
    intervals: list[tuple[float, float]] = field(default_factory=list)
    weight_versions: int = 1


class _Channel:
    """FIFO point-to-point sends from one device to another, one message at a time."""

    __slots__ = ("busy", "dst", "net", "queue", "src")

    def __init__(self, net: Any, src: str, dst: str) -> None:
        self.net, self.src, self.dst = net, src, dst
        self.queue: deque[tuple[float, str, simpy.Event]] = deque()
        self.busy = False

    def send(self, size: float, label: str, arrival: simpy.Event) -> None:
        self.queue.append((size, label, arrival))
        if not self.busy:
            self._next()

    def _next(self) -> None:
        if not self.queue:
            self.busy = False
            return
        self.busy = True
        size, label, arrival = self.queue.popleft()
        event = self.net.transfer(self.src, self.dst, size, label)

        def done(_event: simpy.Event, arrival: simpy.Event = arrival) -> None:
            arrival.succeed()
            self._next()

        event.callbacks.append(done)


class _Rendezvous:
    """Members of a collective arrive; the last one to arrive runs it."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.count: dict[Any, int] = {}
        self.done: dict[Any, simpy.Event] = {}

    def event(self, key: Any) -> simpy.Event:
        ev = self.done.get(key)
        if ev is None:
            ev = self.done[key] = simpy.Event(self.env)
        return ev

    def arrive(self, key: Any, members: int) -> tuple[bool, simpy.Event]:
        n = self.count.get(key, 0) + 1
        self.count[key] = n
        return n == members, self.event(key)


class PipelineRun:
    """The SimPy processes of one pipeline-parallel training run.

    Args:
        cluster: where it runs.
        stages: the virtual stages in model order.
        groups: ``groups[d][r]`` is the list of ``t`` device names (tensor-parallel ranks) of
            pipeline position ``d``, replica ``r``. Virtual stage ``s`` lives on position
            ``s mod p``.
        ops: ``ops[d][r]`` the op list of that replica (global micro-batch ids).
        route: ``route(d, m)``: the replica of position ``d`` that handles micro-batch ``m``.
        microbatches: total micro-batches streaming through (all replicas).
        mode: ``"flush"`` (synchronous schedules) or ``"async"`` (PipeDream).
        recompute: activation recomputation.
        tp_allreduces: all-reduces per layer per direction under tensor parallelism.
        algorithm: name of the all-reduce used for tensor and data parallelism.
        replay: numerical replay, or None.
    """

    def __init__(
        self,
        cluster: Cluster,
        stages: list[StageSpec],
        groups: list[list[list[str]]],
        ops: list[list[list[Op]]],
        route: Callable[[int, int], int],
        microbatches: int,
        *,
        mode: str,
        recompute: bool,
        tp_allreduces: int,
        algorithm: str,
        replay: PipelineReplay | None = None,
    ) -> None:
        self.cluster = cluster
        self.env = cluster.sim.env
        self.stages = stages
        self.groups = groups
        self.ops = ops
        self.route = route
        self.p = len(groups)
        self.t = len(groups[0][0])
        self.microbatches = microbatches
        self.mode = mode
        self.recompute = recompute
        self.tp_allreduces = tp_allreduces
        self.algorithm = algorithm
        self.replay = replay
        self._arrivals: dict[tuple[str, int, int, int], simpy.Event] = {}
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._rendezvous = _Rendezvous(self.env)
        self.live: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self.version = [0] * len(stages)
        self.workers: list[WorkerStats] = []
        self.completions: dict[int, float] = {}
        """Micro-batch id -> time its backward pass left virtual stage 0."""
        self.stage_of_position = [
            [s.index for s in stages if s.index % self.p == d] for d in range(self.p)
        ]
        self._b_counts = [
            [sum(op.kind == "B" for op in ops[d][r]) for r in range(len(groups[d]))]
            for d in range(self.p)
        ]

    # ----------------------------------------------------------------------------- set-up
    def start(self) -> None:
        """Create one process per worker."""
        for d in range(self.p):
            for r, group in enumerate(self.groups[d]):
                for j, name in enumerate(group):
                    stats = WorkerStats(name, d, r, j)
                    self.workers.append(stats)
                    self.cluster.sim.process(
                        self._worker(stats), name=f"pipeline worker {name} (stage {d})"
                    )

    # ---------------------------------------------------------------------------- helpers
    def _arrival(self, kind: str, m: int, stage: int, j: int) -> simpy.Event:
        key = (kind, m, stage, j)
        ev = self._arrivals.get(key)
        if ev is None:
            ev = self._arrivals[key] = simpy.Event(self.env)
        return ev

    def _device_of(self, stage: int, m: int, j: int) -> str:
        d = stage % self.p
        return self.groups[d][self.route(d, m)][j]

    def _send(self, src: str, dst: str, size: float, label: str, arrival: simpy.Event) -> None:
        channel = self._channels.get((src, dst))
        if channel is None:
            channel = self._channels[(src, dst)] = _Channel(self.cluster.network, src, dst)
        channel.send(size, label, arrival)

    def _compute(
        self,
        stats: WorkerStats,
        device: Device,
        seconds: float,
        flops: float,
        label: str,
        category: str,
    ) -> Generator[Any, Any, None]:
        """Like :meth:`Device.compute`, but with the op's category on the trace span."""
        env = self.env
        with device.compute_stream.request() as request:
            yield request
            start = env.now
            yield env.timeout(seconds)
        device.compute_busy_s += seconds
        device.flops_done += flops
        stats.busy_s += seconds
        stats.intervals.append((start, env.now))
        self.cluster.sim.tracer.span(
            (device.name, "compute"), label, category, start, env.now, {"flops": flops}
        )

    def _allreduce(self, key: Any, ranks: list[str], size: float) -> Generator[Any, Any, bool]:
        """Join the all-reduce ``key`` of ``ranks``; the last to arrive runs it. True if ran."""
        last, done = self._rendezvous.arrive(key, len(ranks))
        if not last:
            yield done
            return False
        yield from allreduce(self.cluster, ranks, size, self.algorithm)
        done.succeed()
        return True

    def _layers_pass(
        self,
        stats: WorkerStats,
        device: Device,
        spec: StageSpec,
        kind: str,
        label: str,
        category: str,
        key_base: tuple[Any, ...],
    ) -> Generator[Any, Any, None]:
        """One pass (forward, recompute or backward) over a stage, split ``t`` ways.

        Each layer takes its own roofline time (a stage may mix compute- and memory-bound
        layers); without tensor parallelism the layers run as one span.
        """
        t = self.t
        flops = spec.bwd_flops if kind == "B" else spec.fwd_flops
        nbytes = spec.bwd_bytes if kind == "B" else spec.fwd_bytes
        times = [device.compute_time(f / t, b / t) for f, b in zip(flops, nbytes, strict=True)]
        if t == 1 or self.tp_allreduces == 0:
            yield from self._compute(stats, device, sum(times), sum(flops) / t, label, category)
            return
        order = range(len(flops) - 1, -1, -1) if kind == "B" else range(len(flops))
        ranks = self.groups[stats.position][stats.replica]
        for layer in order:
            yield from self._compute(stats, device, times[layer], flops[layer] / t, label, category)
            for i in range(self.tp_allreduces):
                start = self.env.now
                yield from self._allreduce(
                    (*key_base, kind, layer, i), ranks, spec.act_bytes[layer]
                )
                stats.tensor_parallel_s += self.env.now - start

    def _track_memory(self, device: str, delta: float, transient: float = 0.0) -> None:
        live = self.live.get(device, 0.0) + delta
        self.live[device] = live
        self.peak[device] = max(self.peak.get(device, 0.0), live + transient)

    # ----------------------------------------------------------------------------- worker
    def _worker(self, stats: WorkerStats) -> Generator[Any, Any, None]:
        env = self.env
        d, r, j = stats.position, stats.replica, stats.tp_rank
        device = self.cluster.devices[stats.device]
        t = self.t
        last_stage = len(self.stages) - 1
        in_flight: dict[int, int] = {}
        rounds_done = 0
        replicas_here = len(self.groups[d])
        for index, op in enumerate(self.ops[d][r]):
            spec = self.stages[op.stage]
            m, s = op.microbatch, op.stage
            interleaved = len(self.stages) > self.p
            tag = f"{m}.{s // self.p}" if interleaved else f"{m}"
            chunk = f" chunk {s // self.p}" if interleaved else ""
            full = spec.stash_bytes / t
            kept = (spec.input_bytes if self.recompute else spec.stash_bytes) / t
            transient = full - kept
            if op.kind == "F":
                if s > 0:
                    yield self._arrival("F", m, s, j)
                self._track_memory(stats.device, kept, transient)
                if self.mode == "async" and j == 0:
                    in_flight[m] = self.version[s]
                    stats.weight_versions = max(
                        stats.weight_versions, len(set(in_flight.values()) | {self.version[s]})
                    )
                yield from self._layers_pass(
                    stats, device, spec, "F", f"F{tag}", "forward" + chunk, (d, r, index)
                )
                if self.replay is not None and j == 0:
                    self.replay.forward(s, m)
                if s < last_stage:
                    self._send(
                        stats.device,
                        self._device_of(s + 1, m, j),
                        spec.out_bytes / t,
                        f"act {m}",
                        self._arrival("F", m, s + 1, j),
                    )
            else:
                if s < last_stage:
                    yield self._arrival("B", m, s, j)
                if self.mode == "async" and replicas_here > 1 and rounds_done >= 2:
                    start = env.now
                    yield self._rendezvous.event(("round", d, j, rounds_done - 2))
                    stats.data_parallel_s += env.now - start
                if self.recompute:
                    self._track_memory(stats.device, 0.0, transient)
                    yield from self._layers_pass(
                        stats, device, spec, "F", f"R{tag}", "recompute" + chunk, (d, r, index, "R")
                    )
                yield from self._layers_pass(
                    stats, device, spec, "B", f"B{tag}", "backward" + chunk, (d, r, index)
                )
                self._track_memory(stats.device, -kept)
                if self.replay is not None and j == 0:
                    self.replay.backward(s, m, r)
                if s > 0:
                    self._send(
                        stats.device,
                        self._device_of(s - 1, m, j),
                        spec.input_bytes / t,
                        f"grad {m}",
                        self._arrival("B", m, s - 1, j),
                    )
                else:
                    self.completions[m] = env.now
                if self.mode == "async":
                    in_flight.pop(m, None)
                    if replicas_here == 1:
                        if j == 0:
                            self.version[s] += 1
                    else:
                        self._start_round(d, j, rounds_done)
                    rounds_done += 1
            stats.last_op_end = env.now
        if self.mode == "flush" and len(self.groups[d]) > 1:
            start = env.now
            yield from self._final_sync(d, j)
            stats.data_parallel_s += env.now - start
        stats.finished = env.now

    # -------------------------------------------------------------------- synchronisation
    def _position_params(self, d: int) -> float:
        return sum(self.stages[s].param_bytes for s in self.stage_of_position[d]) / self.t

    def _final_sync(self, d: int, j: int) -> Generator[Any, Any, None]:
        """Flush mode: all-reduce position ``d``'s gradients across the replicas."""
        ranks = [group[j] for group in self.groups[d]]
        stages = self.stage_of_position[d]
        last, done = self._rendezvous.arrive(("final", d, j), len(ranks))
        if not last:
            yield done
            return
        replay = self.replay if j == 0 else None
        buffers = replay.stacked_gradients(stages, len(ranks)) if replay is not None else None
        yield from allreduce(self.cluster, ranks, self._position_params(d), self.algorithm, buffers)
        if replay is not None and buffers is not None:
            replay.set_gradients(stages, buffers)
        done.succeed()

    def _start_round(self, d: int, j: int, k: int) -> None:
        """Async mode: this replica finished its k-th backward; the last one starts the sync."""
        participants = [rr for rr, n in enumerate(self._b_counts[d]) if n > k]
        last, _done = self._rendezvous.arrive(("round-arrive", d, j, k), len(participants))
        if last:
            self.cluster.sim.process(
                self._round_sync(d, j, k, participants), name=f"PipeDream sync stage {d} round {k}"
            )

    def _round_sync(
        self, d: int, j: int, k: int, participants: list[int]
    ) -> Generator[Any, Any, None]:
        if k > 0:
            previous = self._rendezvous.event(("round", d, j, k - 1))
            if not previous.triggered:
                yield previous
        ranks = [self.groups[d][rr][j] for rr in participants]
        yield from allreduce(self.cluster, ranks, self._position_params(d), self.algorithm)
        if j == 0:
            for s in self.stage_of_position[d]:
                self.version[s] += 1
                if self.replay is not None:
                    self.replay.round_synced(s, k)
        self._rendezvous.event(("round", d, j, k)).succeed()
