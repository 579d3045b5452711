"""The pipeline's process view: one SimPy process per device, each running its op list.

A *worker* is one device playing pipeline position ``d`` (0..p-1), data-parallel replica ``r``
and tensor-parallel rank ``j``. Each worker executes the op list the schedule gives it
(:mod:`~clustersim.training.pipeline.schedules`) strictly in order:

* ``F(m, s)``: wait until micro-batch ``m``'s activation for virtual stage ``s`` has arrived
  (stage 0 reads its data locally), run the forward pass on the compute stream, and hand the
  output to the FlowNetwork for the worker holding stage ``s+1``. Sends never block compute:
  they queue first-in first-out per (sender, receiver) pair, like point-to-point sends on a
  communication stream, and the receiver's op waits for the arrival. PipeDream overlaps them
  with the compute of later micro-batches (SOSP 2019 §3.2): each replica runs the layout's
  warm-up, deep enough that a micro-batch's round trip, transfers included, does not stall it
  (:func:`~clustersim.training.pipeline.steady_state.warmups`).
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

:func:`run_layout` builds the op lists of a :class:`~clustersim.training.pipeline.layout.Layout`,
runs them to the end and measures the run (time per minibatch, throughput, bubbles, memory,
weight versions, traffic, where the device time went; for PipeDream, how long each stage's
weight-sync rounds took and how long its replicas waited for them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from clustersim.collectives.allreduce import allreduce
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.device import Device, MatrixTiling
from clustersim.kinds.contract import Outcome
from clustersim.training.pipeline.kernels import PipelineReplay
from clustersim.training.pipeline.layout import Layout, StageSpec, microbatches_simulated
from clustersim.training.pipeline.params import PipelineParams
from clustersim.training.pipeline.planner import notation
from clustersim.training.pipeline.schedules import Op, pipedream, pipedream_window, schedule

__all__ = ["PipelineRun", "WorkerStats", "op_lists", "run_layout"]


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
    sync_waits: list[tuple[float, float]] = field(default_factory=list)
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
        tiling: the devices' matrix tiling, or None for the plain roofline.
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
        tiling: MatrixTiling | None = None,
    ) -> None:
        self.cluster = cluster
        self.tiling = tiling
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
        self.rounds: list[list[tuple[float, float]]] = [[] for _ in groups]
        """Async mode, per position: (start, end) of each weight-sync round of tp rank 0."""
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
        tiling = self.tiling
        # kernels per layer: one forward (or recompute); two backward (data and weight gradient)
        kernels = 2 if kind == "B" else 1
        times = [
            device.compute_time(f / t, b / t, rows=rows, tiling=tiling, kernels=kernels)
            for f, b, rows in zip(flops, nbytes, spec.rows, strict=True)
        ]
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
                    if env.now > start:
                        stats.sync_waits.append((start, env.now))
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
        start = self.env.now
        yield from allreduce(self.cluster, ranks, self._position_params(d), self.algorithm)
        if j == 0:
            self.rounds[d].append((start, self.env.now))
            for s in self.stage_of_position[d]:
                self.version[s] += 1
                if self.replay is not None:
                    self.replay.round_synced(s, k)
        self._rendezvous.event(("round", d, j, k)).succeed()


# ------------------------------------------------------------------------ one measured run
def op_lists(
    layout: Layout, params: PipelineParams
) -> tuple[list[list[list[Op]]], Callable[[int, int], int], int]:
    """The op lists of every (position, replica), the route of micro-batches to replicas, and
    how many micro-batches stream through.

    Synchronous schedules run one minibatch of ``m`` micro-batches per replica (replica ``r``
    takes micro-batches ``r·m .. r·m + m-1``); PipeDream streams the micro-batches of
    :func:`~clustersim.training.pipeline.schedules.pipedream_window` round-robin over each
    stage's replicas, each replica keeping the layout's warm-up in flight.
    """
    m, p = params.microbatches, layout.p
    total = microbatches_simulated(layout, params)
    if layout.mode == "flush":
        base = schedule(params.schedule, p, m, layout.v)
        ops = [
            [
                [Op(op.kind, op.microbatch + r * m, op.stage) for op in base[d]]
                for r in range(params.replicas)
            ]
            for d in range(p)
        ]

        def by_minibatch(d: int, mb: int) -> int:
            return mb // m

        return ops, by_minibatch, total
    reps = layout.replicas

    def round_robin(d: int, mb: int) -> int:
        return mb % reps[d]

    return pipedream(layout.replicas, total, layout.warmup), round_robin, total


def _window_busy(intervals: list[tuple[float, float]], t0: float, t1: float) -> float:
    """Seconds of ``intervals`` inside ``[t0, t1]``."""
    return sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in intervals)


def run_layout(
    cluster: Cluster, params: PipelineParams, layout: Layout, *, verify: bool
) -> Outcome:
    """Simulate ``layout`` on ``cluster`` and measure it; replay the numerics when ``verify``.

    Synchronous schedules are timed over one minibatch, from the first forward to the end of
    the gradient all-reduce. PipeDream has no flush, so it is timed in steady state: several
    minibatches stream through and the throughput is measured over one minibatch in the
    middle (:func:`~clustersim.training.pipeline.schedules.pipedream_window`).
    """
    m = params.microbatches
    p, v, b = layout.p, layout.v, layout.microbatch
    ops, route, total = op_lists(layout, params)
    replay = None
    if verify:
        stage_replicas = [layout.replicas[s % p] for s in range(p * v)]
        replay = PipelineReplay(
            p * v,
            stage_replicas,
            b,
            total,
            mode=layout.mode,
            recompute=params.recompute,
            stashing=params.weight_stashing,
            rng=cluster.sim.rng("pipeline.replay"),
        )
    run = PipelineRun(
        cluster,
        layout.stages,
        layout.groups,
        ops,
        route,
        total,
        mode=layout.mode,
        recompute=params.recompute,
        tp_allreduces=params.tensor_parallel_allreduces,
        algorithm=params.allreduce_algorithm,
        replay=replay,
        tiling=layout.tiling,
    )
    run.start()
    sim = cluster.sim
    sim.run()
    end = sim.now
    workers = run.workers
    by_position: list[list[WorkerStats]] = [
        [w for w in workers if w.position == d] for d in range(p)
    ]
    if layout.mode == "flush":
        per_minibatch = total
        t0, t1 = 0.0, max(w.last_op_end for w in workers)
        time_per_minibatch = end
        throughput = per_minibatch * b / end
    else:
        per_minibatch = m * params.replicas
        warm, window, _ = pipedream_window(
            layout.replicas, per_minibatch, layout.warmup, layout.settled, layout.repeat
        )
        done = run.completions
        t0, t1 = done[warm - 1], done[warm + window - 1]
        throughput = window * b / (t1 - t0)
        time_per_minibatch = per_minibatch * b / throughput
    span = t1 - t0
    busy = {id(w): _window_busy(w.intervals, t0, t1) for w in workers}
    bubble_per_stage = [
        max(0.0, 1.0 - sum(busy[id(w)] for w in ws) / (len(ws) * span)) for ws in by_position
    ]
    total_busy = sum(busy.values())
    bubble = max(0.0, 1.0 - total_busy / (len(workers) * span))
    peaks = [max(run.peak.get(w.device, 0.0) for w in ws) for ws in by_position]
    versions = [max(w.weight_versions for w in ws if w.tp_rank == 0) for ws in by_position]
    boundary = [
        2.0 * layout.stages[s].out_bytes * per_minibatch for s in range(len(layout.stages) - 1)
    ]
    n = len(workers)
    # bubble_fraction: 1 - (forward/backward/recompute busy time) / (devices x span), where the
    # span is the pipeline's own window: from the start to the last compute op (flush
    # schedules; the trailing data-parallel all-reduce is outside it) or PipeDream's
    # steady-state window. Everything that is not compute counts as bubble: the schedule's
    # idle slots, waiting for activations, and tensor-parallel all-reduces. This is the
    # quantity of the papers' (K-1)/(M+K-1). The *_time_fraction metrics (_time_fractions)
    # split the whole run instead, up to its end, into compute, tensor-parallel and
    # data-parallel communication and idle, so idle_time_fraction < bubble_fraction when
    # there is tensor-parallel communication, and compute_time_fraction < 1 - bubble_fraction
    # when a data-parallel all-reduce follows the flush.
    metrics: dict[str, Any] = {
        "time_per_minibatch_s": time_per_minibatch,
        "throughput_samples_per_s": throughput,
        "bubble_fraction": bubble,
        "bubble_fraction_per_stage": bubble_per_stage,
        "bubble_over_ideal_fraction": max(0.0, (span * n - total_busy) / total_busy),
        "peak_activation_memory_bytes": max(peaks),
        "peak_activation_memory_bytes_per_stage": peaks,
        "weight_versions": max(versions),
        "weight_versions_per_stage": versions,
        "bytes_between_stages": sum(boundary),
        "bytes_between_stages_per_boundary": boundary,
        "stage_compute_time_s": _stage_compute(cluster, layout, by_position, params.recompute),
        **cluster.standard_metrics(),
    }
    if layout.mode == "flush":
        metrics.update(_time_fractions(workers, end))
    else:
        metrics.update(_sync_metrics(run, by_position, t0, t1))
    metrics.update(
        {
            "plan": notation(layout.replicas)
            if layout.mode == "async"
            else f"{p}x{params.replicas}x{layout.t}",
            "layers_per_stage": layout.counts,
            "microbatch_samples": b,
            "devices_used": len(layout.placement),
            "microbatches_simulated": total,
        }
    )
    checks: dict[str, Any] = {}
    if replay is not None:
        checks = (
            replay.check_full_batch(params.replicas)
            if layout.mode == "flush"
            else replay.check_stashing()
        )
    return Outcome(metrics=metrics, checks=checks)


def _sync_metrics(
    run: PipelineRun, by_position: list[list[WorkerStats]], t0: float, t1: float
) -> dict[str, list[float]]:
    """PipeDream: how each stage's weight synchronisation went over the measured window.

    ``sync_round_s_per_stage``: the mean duration of a stage's all-reduce rounds, first step
    to last, of the rounds that ended inside the window (all of them if none did; 0 for a
    stage with one replica), to compare with the all-reduce alone (``Layout.steady.sync_s``).
    ``sync_wait_fraction_per_stage``: the share of the window the stage's replicas spent
    waiting for a round before a backward (one round of staleness, :class:`PipelineRun`); a
    large share says the synchronisation, not compute or links, paces the stage.
    """
    span = t1 - t0
    rounds, waits = [], []
    for d, ws in enumerate(by_position):
        done = run.rounds[d]
        inside = [(a, b) for a, b in done if t0 < b <= t1] or done
        rounds.append(sum(b - a for a, b in inside) / len(inside) if inside else 0.0)
        waits.append(sum(_window_busy(w.sync_waits, t0, t1) for w in ws) / (len(ws) * span))
    return {"sync_round_s_per_stage": rounds, "sync_wait_fraction_per_stage": waits}


def _stage_compute(
    cluster: Cluster, layout: Layout, by_position: list[list[WorkerStats]], recompute: bool
) -> list[float]:
    """Per position: compute seconds of one micro-batch on its first device, all its chunks."""
    t, p, tiling = layout.t, layout.p, layout.tiling

    def seconds(device: Device, flops: tuple, nbytes: tuple, rows: tuple, kernels: tuple) -> float:
        return sum(
            device.compute_time(f / t, nb / t, rows=r, tiling=tiling, kernels=k)
            for f, nb, r, k in zip(flops, nbytes, rows, kernels, strict=True)
        )

    out = []
    for d, ws in enumerate(by_position):
        device = cluster.devices[ws[0].device]
        out.append(
            sum(
                seconds(
                    device,
                    spec.fwd_flops + spec.bwd_flops,
                    spec.fwd_bytes + spec.bwd_bytes,
                    spec.rows + spec.rows,
                    (1,) * len(spec.fwd_flops) + (2,) * len(spec.bwd_flops),  # kernels per layer
                )
                + (
                    seconds(
                        device, spec.fwd_flops, spec.fwd_bytes, spec.rows, (1,) * len(spec.rows)
                    )
                    if recompute
                    else 0.0
                )
                for spec in layout.stages
                if spec.index % p == d
            )
        )
    return out


def _time_fractions(workers: list[WorkerStats], end: float) -> dict[str, float]:
    """Where a synchronous run's device time went: compute, TP and DP all-reduces, idle.

    Each is a share of devices x the whole run (to ``end``, the data-parallel all-reduce after
    the flush included), and the four add up to 1: ``compute_time_fraction`` forward, backward
    and recompute; ``tensor_parallel_comm_time_fraction`` the tensor-parallel all-reduces;
    ``data_parallel_sync_time_fraction`` the gradient all-reduce across replicas (the part
    that does not overlap compute); ``idle_time_fraction`` the rest (schedule bubble and
    waiting for activations). ``bubble_fraction`` differs: it is measured over the
    pipeline's window only and counts all non-compute time as bubble (see ``simulate``).
    """
    n = len(workers)
    out = {
        "compute_time_fraction": sum(w.busy_s for w in workers) / (n * end),
        "tensor_parallel_comm_time_fraction": sum(w.tensor_parallel_s for w in workers) / (n * end),
        "data_parallel_sync_time_fraction": sum(w.data_parallel_s for w in workers) / (n * end),
    }
    out["idle_time_fraction"] = 1.0 - (
        out["compute_time_fraction"]
        + out["tensor_parallel_comm_time_fraction"]
        + out["data_parallel_sync_time_fraction"]
    )
    return out
