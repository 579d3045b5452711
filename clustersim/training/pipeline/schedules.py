"""Pipeline schedules: for each pipeline device, the ordered list of forward and backward ops.

Pure functions of the pipeline shape (no SimPy, no numbers): they say *in which order* each
device runs its work; the process (:mod:`~clustersim.training.pipeline.process`) decides *when*, by
waiting for activations and gradients to arrive. An :class:`Op` names a micro-batch and a
*virtual stage*: the model is cut into ``p·v`` consecutive chunks and device ``d`` holds chunks
``d, d + p, ..., d + (v-1)·p`` (``v = 1`` except for the interleaved schedule).

* ``naive``: plain model parallelism, one micro-batch at a time through every stage and back;
  only one device is ever busy (the lecture notes' "severe under-utilization").
* ``gpipe``: all forwards, then all backwards in reverse micro-batch order, then a flush
  (Huang et al., "GPipe", NeurIPS 2019, Fig. 2c).
* ``1f1b``: PipeDream-Flush / 1F1B: device ``d`` runs ``min(p-d-1, m)`` warm-up forwards, then
  alternates one forward and one backward, then drains (Narayanan et al., "Efficient
  Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC 2021, §2.2.1,
  Fig. 4 top; Narayanan et al., "Memory-Efficient Pipeline-Parallel DNN Training", ICML 2021).
* ``interleaved_1f1b``: the same with ``v`` model chunks per device, in Megatron-LM's order
  (SC 2021 §2.2.2, Fig. 4 bottom; ``forward_backward_pipelining_with_interleaving`` in
  megatron/core/pipeline_parallel/schedules.py): ``(p-d-1)·2 + (v-1)·p`` warm-up forwards
  (all of them when ``m == p``), micro-batches taken in groups of ``p``.
* ``pipedream``: the 1F1B order without a flush (Narayanan et al., "PipeDream", SOSP 2019,
  §3.2); with replicated stages, micro-batches go round-robin to a stage's replicas and each
  replica runs ``ceil(workers from this stage on / replicas of this stage) - 1`` warm-up
  forwards, which is PipeDream's NOAM (number of optimal active minibatches) for the input
  stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from clustersim.training.pipeline.costs import interleaved_warmup

__all__ = [
    "SCHEDULES",
    "Op",
    "check_schedule",
    "gpipe",
    "interleaved_1f1b",
    "naive",
    "one_f_one_b",
    "pipedream",
    "pipedream_warmup",
    "pipedream_window",
    "schedule",
]

SCHEDULES = ("naive", "gpipe", "1f1b", "interleaved_1f1b", "pipedream")


@dataclass(frozen=True, slots=True)
class Op:
    """One unit of work: the forward (``"F"``) or backward (``"B"``) pass of micro-batch
    ``microbatch`` through virtual stage ``stage`` (a model chunk)."""

    kind: str
    microbatch: int
    stage: int

    def __str__(self) -> str:
        return f"{self.kind}{self.microbatch}@{self.stage}"


def _check_shape(p: int, m: int) -> None:
    if p < 1 or m < 1:
        raise ValueError(f"a pipeline needs at least 1 stage and 1 micro-batch, got p={p}, m={m}")


def naive(p: int, m: int) -> list[list[Op]]:
    """Plain model parallelism: micro-batch ``j`` goes forward and back before ``j+1`` starts."""
    _check_shape(p, m)
    return [[op for j in range(m) for op in (Op("F", j, d), Op("B", j, d))] for d in range(p)]


def gpipe(p: int, m: int) -> list[list[Op]]:
    """GPipe: ``F0 .. F(m-1)`` then ``B(m-1) .. B0`` on every device."""
    _check_shape(p, m)
    return [
        [Op("F", j, d) for j in range(m)] + [Op("B", j, d) for j in reversed(range(m))]
        for d in range(p)
    ]


def one_f_one_b(p: int, m: int, warmup: Sequence[int] | None = None) -> list[list[Op]]:
    """1F1B: ``w_d = min(p-d-1, m)`` forwards, then ``F(w_d+i), B(i)`` pairs, then the drain.

    ``warmup`` overrides the warm-up count per device (used for replicated PipeDream stages).
    """
    _check_shape(p, m)
    out = []
    for d in range(p):
        w = min(p - d - 1 if warmup is None else warmup[d], m)
        ops = [Op("F", j, d) for j in range(w)]
        for i in range(m - w):
            ops += [Op("F", w + i, d), Op("B", i, d)]
        ops += [Op("B", j, d) for j in range(m - w, m)]
        out.append(ops)
    return out


def interleaved_1f1b(p: int, m: int, v: int) -> list[list[Op]]:
    """Megatron-LM's interleaved 1F1B with ``v`` chunks per device; ``m`` must be a multiple of
    ``p`` (as Megatron-LM requires).

    The ``k``-th forward of a device runs chunk ``(k mod p·v) // p`` on micro-batch
    ``(k // (p·v))·p + k mod p``; the ``k``-th backward runs the chunks in reverse order.
    """
    _check_shape(p, m)
    if v < 1:
        raise ValueError(f"interleaved 1F1B needs at least 1 chunk per device, got v={v}")
    if m % p:
        raise ValueError(
            f"interleaved 1F1B needs micro-batches m={m} to be a multiple of the "
            f"number of pipeline devices p={p}"
        )
    total = m * v
    group = p * v

    def chunk(k: int, forward: bool) -> int:
        c = (k % group) // p
        return c if forward else v - 1 - c

    def micro(k: int) -> int:
        return (k // group) * p + k % p

    out = []
    for d in range(p):
        warm = interleaved_warmup(p, m, v, d)

        def fwd(k: int, d: int = d) -> Op:
            return Op("F", micro(k), chunk(k, True) * p + d)

        def bwd(k: int, d: int = d) -> Op:
            return Op("B", micro(k), chunk(k, False) * p + d)

        ops = [fwd(k) for k in range(warm)]
        for i in range(total - warm):
            ops += [fwd(warm + i), bwd(i)]
        ops += [bwd(k) for k in range(total - warm, total)]
        out.append(ops)
    return out


def pipedream_warmup(replicas: Sequence[int]) -> list[int]:
    """Warm-up forwards of a replica of each stage: ``ceil(Σ_{t>=s} r_t / r_s) - 1``.

    For a straight pipeline (all ``r = 1``) this is ``p - s - 1``, the 1F1B warm-up; for the
    input stage it is PipeDream's NOAM minus one (SOSP 2019, §3.2). It is enough when
    communication is free; with transfers the runtime keeps more micro-batches in flight
    (:func:`~clustersim.training.pipeline.steady_state.warmups`, never fewer than this).
    """
    return [math.ceil(sum(replicas[s:]) / r) - 1 for s, r in enumerate(replicas)]


def pipedream_window(
    replicas: Sequence[int],
    per_minibatch: int,
    warmup: Sequence[int] | None = None,
    settled: int = 0,
    repeat: int = 1,
) -> tuple[int, int, int]:
    """(warm-up, measured, trailing) micro-batches of a steady-state PipeDream run.

    PipeDream has no flush, so a run streams several minibatches of ``per_minibatch``
    micro-batches through and is measured in the middle. The measured window is a multiple of
    every stage's replica count, at least one minibatch and one pass of every device, so that
    its first and last micro-batch went through the same replica of every stage: the time
    between their completions is a whole number of round-robin cycles, with no bias from
    replicas finishing in bursts. It is also a multiple of ``repeat`` micro-batches, after
    which the stages' rounds come back to the same lengths (rounds of ``r`` replicas that
    alternate two lengths: ``2r``).

    The warm-up fills the pipeline (every replica of a stage holds ``warmup + 1``
    micro-batches, :func:`pipedream_warmup` by default), then lets the background gradient
    syncs (one per round, a replica at most two rounds ahead of them) reach their steady
    backlog: three more rounds, or ``settled`` micro-batches when that is more (a stage
    whose synchronisation is a little slower than its compute takes longer;
    :func:`~clustersim.training.pipeline.sync_round.sync_rounds` says how long). It is a
    whole number of those cycles too, so the window starts and ends at completions of the
    same replicas as the ones the timed model watches: the replicas of a stage need not
    settle together (one fed over a slow link drifts behind its neighbour for dozens of
    micro-batches, while the completions of each one keep the steady rate).
    """
    warm_per_stage = pipedream_warmup(replicas) if warmup is None else list(warmup)
    cycle = math.lcm(*replicas, repeat)
    window = cycle * math.ceil(max(per_minibatch, sum(replicas)) / cycle)
    fill = max((w + 1) * r for w, r in zip(warm_per_stage, replicas, strict=True))
    warm = cycle * math.ceil(max(fill + 3 * max(replicas), per_minibatch, settled) / cycle)
    return warm, window, max(fill, per_minibatch)


def pipedream(
    replicas: Sequence[int], m: int, warmup: Sequence[int] | None = None
) -> list[list[list[Op]]]:
    """PipeDream's 1F1B-RR: for each stage, for each replica, its ops.

    Micro-batch ``j`` goes to replica ``j mod r_s`` of stage ``s``. Each replica runs its own
    micro-batches in 1F1B order after ``warmup[s]`` warm-up forwards (default
    :func:`pipedream_warmup`). There is no flush: ``m`` is simply how many micro-batches stream
    through.
    """
    p = len(replicas)
    _check_shape(p, m)
    if any(r < 1 for r in replicas):
        raise ValueError(f"every stage needs at least one replica, got {list(replicas)}")
    warm = pipedream_warmup(replicas) if warmup is None else list(warmup)
    out = []
    for s, r in enumerate(replicas):
        per_replica = []
        for k in range(r):
            mine = list(range(k, m, r))
            w = min(warm[s], len(mine))
            ops = [Op("F", j, s) for j in mine[:w]]
            for i in range(len(mine) - w):
                ops += [Op("F", mine[w + i], s), Op("B", mine[i], s)]
            ops += [Op("B", j, s) for j in mine[len(mine) - w :]]
            per_replica.append(ops)
        out.append(per_replica)
    return out


def schedule(name: str, p: int, m: int, v: int = 1) -> list[list[Op]]:
    """The op lists of schedule ``name`` for one pipeline of ``p`` devices (no replication)."""
    if name == "naive":
        return naive(p, m)
    if name == "gpipe":
        return gpipe(p, m)
    if name == "1f1b":
        return one_f_one_b(p, m)
    if name == "interleaved_1f1b":
        return interleaved_1f1b(p, m, v)
    if name == "pipedream":
        return [ops[0] for ops in pipedream([1] * p, m)]
    raise ValueError(f"unknown schedule {name!r}; known: {', '.join(SCHEDULES)}")


def check_schedule(ops: Sequence[Sequence[Op]], stages: int, m: int) -> None:
    """Raise ``ValueError`` unless every (micro-batch, stage) has exactly one F and one B, the
    F before the B on the same device, and each stage on a single device."""
    seen: dict[tuple[str, int, int], int] = {}
    owner: dict[int, int] = {}
    for d, device_ops in enumerate(ops):
        for i, op in enumerate(device_ops):
            key = (op.kind, op.microbatch, op.stage)
            if key in seen:
                raise ValueError(f"{op} appears twice")
            seen[key] = i
            if owner.setdefault(op.stage, d) != d:
                raise ValueError(f"stage {op.stage} runs on devices {owner[op.stage]} and {d}")
    for j in range(m):
        for s in range(stages):
            f, b = seen.get(("F", j, s)), seen.get(("B", j, s))
            if f is None or b is None:
                raise ValueError(
                    f"micro-batch {j} misses its {'F' if f is None else 'B'} on stage {s}"
                )
            if b < f:
                raise ValueError(f"B{j}@{s} comes before F{j}@{s}")
    if len(seen) != 2 * m * stages:
        raise ValueError("ops outside the micro-batch/stage range")
