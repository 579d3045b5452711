"""Closed forms for pipeline schedules: bubble, time per minibatch, activation memory, versions.

Notation: ``K`` (GPipe) or ``p`` (Megatron) pipeline devices, ``M``/``m`` micro-batches per
minibatch, ``v`` model chunks per device (interleaved), ``t_f``/``t_b`` forward/backward time of
one micro-batch on one stage.

* GPipe (Huang et al., "GPipe: Efficient Training of Giant Neural Networks using Pipeline
  Parallelism", NeurIPS 2019, §2.3): the bubble is ``O((K-1)/(M+K-1))`` of the time,
  "negligible when M >= 4 x K". With balanced stages and free communication it is exactly
  that fraction: the minibatch takes ``(M+K-1)·(t_f+t_b)`` and each device is busy
  ``M·(t_f+t_b)`` of it. With stages of their own times, and activation and gradient transfers
  between them, each phase is a flow shop whose machines are the stages and the boundaries
  (:func:`flow_shop_makespan`, :func:`unbalanced_flush_time`).
* 1F1B (Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters
  Using Megatron-LM", SC 2021, §2.2.1): bubble time ``(p-1)·(t_f+t_b)``, ideal time
  ``m·(t_f+t_b)``, "bubble time fraction" ``(p-1)/m`` *of the ideal time*; as a fraction of
  the total that is again ``(p-1)/(m+p-1)``: 1F1B saves memory, not bubble.
* Interleaved 1F1B (same paper, §2.2.2): bubble ``(p-1)·(t_f+t_b)/v``, fraction of the ideal
  time ``(p-1)/(v·m)``.
* Memory: GPipe stashes the activations of all ``M`` micro-batches; with re-materialisation only
  the stage inputs plus one micro-batch's intermediates, ``O(N + L/K·N/M)`` instead of
  ``O(N·L)`` (GPipe §2.3; the lecture notes' "buffering only the inputs of each layer block and
  recomputing the intermediate results"). 1F1B keeps at most ``p`` micro-batches in flight
  (SC 2021 §2.2.1): stage ``s`` (0-based) holds ``min(p-s, m)``. Interleaved device ``d`` holds
  its warm-up count plus one chunk micro-batches (Megatron-LM's schedule).
* PipeDream weight stashing (Narayanan et al., "PipeDream: Generalized Pipeline Parallelism
  for DNN Training", SOSP 2019, §3.3): stage ``s`` of a straight pipeline has ``p-s`` micro-
  batches in flight, each pinned to the weight version of its forward pass, so it keeps
  ``p-s`` versions (the input stage ``p``, the output stage 1).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "bubble_fraction",
    "bubble_over_ideal_fraction",
    "flow_shop_makespan",
    "gpipe_bubble_fraction",
    "in_flight_microbatches",
    "interleaved_bubble_over_ideal_fraction",
    "interleaved_warmup",
    "naive_bubble_fraction",
    "one_f_one_b_bubble_over_ideal_fraction",
    "peak_activation_memory",
    "pipedream_weight_versions",
    "pipeline_flush_time",
    "stashed_activation_bytes",
    "unbalanced_flush_time",
]


def gpipe_bubble_fraction(k: int, m: int) -> float:
    """GPipe's bubble, idle over total device time: ``(K-1)/(M+K-1)`` (Huang et al. 2019, §2.3)."""
    return (k - 1) / (m + k - 1)


def one_f_one_b_bubble_over_ideal_fraction(p: int, m: int) -> float:
    """1F1B bubble time over ideal time: ``(p-1)/m`` (Narayanan et al. SC 2021, §2.2.1)."""
    return (p - 1) / m


def interleaved_bubble_over_ideal_fraction(p: int, m: int, v: int) -> float:
    """Interleaved bubble over ideal time: ``(p-1)/(v·m)`` (Narayanan et al. SC 2021, §2.2.2)."""
    return (p - 1) / (v * m)


def naive_bubble_fraction(k: int) -> float:
    """Plain model parallelism: one device busy at a time, idle ``(K-1)/K``."""
    return (k - 1) / k


def bubble_over_ideal_fraction(schedule: str, p: int, m: int, v: int = 1) -> float:
    """Bubble time over ideal (busy) time for a synchronous schedule, balanced stages."""
    if schedule == "naive":
        return float(p - 1)
    if schedule == "interleaved_1f1b":
        return interleaved_bubble_over_ideal_fraction(p, m, v)
    if schedule in ("gpipe", "1f1b"):
        return one_f_one_b_bubble_over_ideal_fraction(p, m)
    if schedule == "pipedream":
        return 0.0  # no flush: in steady state the pipeline never drains
    raise ValueError(f"unknown schedule {schedule!r}")


def bubble_fraction(schedule: str, p: int, m: int, v: int = 1) -> float:
    """Bubble time over total device time: ``x/(1+x)`` of :func:`bubble_over_ideal_fraction`.

    For GPipe and 1F1B this is :func:`gpipe_bubble_fraction`; for naive ``(K-1)/K``.
    """
    x = bubble_over_ideal_fraction(schedule, p, m, v)
    return x / (1.0 + x)


def pipeline_flush_time(schedule: str, p: int, m: int, stage_time: float, v: int = 1) -> float:
    """Time from the first forward to the flush with balanced stages and free communication.

    ``stage_time`` is ``t_f + t_b`` (plus the recomputation) of one micro-batch on one device,
    all of its chunks together. GPipe and 1F1B: ``(m+p-1)·stage_time``; interleaved:
    ``(m + (p-1)/v)·stage_time``; naive: ``m·p·stage_time``.
    """
    if schedule == "naive":
        return m * p * stage_time
    return m * stage_time * (1.0 + bubble_over_ideal_fraction(schedule, p, m, v))


def flow_shop_makespan(times: Sequence[float], m: int) -> float:
    """Makespan of ``m`` identical jobs through machines in series, ``Σ_i p_i + (m-1)·max_i p_i``.

    Each machine takes the jobs in the same order, one at a time, and a job starts on machine
    ``i`` when it has left machine ``i-1`` and machine ``i`` has finished the job before it:
    ``C(i, j) = max(C(i-1, j), C(i, j-1)) + p_i``, the completion-time recurrence of a
    permutation flow shop (Pinedo, "Scheduling: Theory, Algorithms, and Systems", §6.1). Its
    value is the longest monotone path through the machines x jobs grid, and with identical
    jobs the longest one visits every machine once and spends the other ``m-1`` jobs on the
    slowest machine.
    """
    if m < 1:
        raise ValueError(f"a flow shop needs at least one job, got m={m}")
    return float(sum(times) + (m - 1) * max(times, default=0.0))


def unbalanced_flush_time(
    schedule: str,
    forward: list[float],
    backward: list[float],
    m: int,
    v: int = 1,
    transfers: Sequence[tuple[float, float]] | None = None,
) -> float:
    """Time from the first forward to the flush for the stages given.

    ``forward[d]`` and ``backward[d]`` are device ``d``'s seconds of one micro-batch (all its
    chunks; recomputation counted in the backward). ``transfers[u]`` (naive and GPipe only;
    None: communication free) is the (forward, backward) time of one micro-batch's activation
    from device ``u`` to ``u+1`` and of its gradient back, latency included: the runtime sends
    one message at a time per (sender, receiver) pair, in order, and never blocks compute, so a
    boundary is a machine of its own.

    * naive: one micro-batch at a time through everything and back,
      ``m·(Σ_d (f_d + b_d) + Σ_u (x^f_u + x^b_u))``.
    * GPipe: the forward phase is a flow shop of ``m`` identical jobs through the devices and
      the boundaries between them, ``f_0, x^f_0, f_1, ..., f_{K-1}``
      (:func:`flow_shop_makespan`: ``Σ f + Σ x^f + (m-1)·max(f, x^f)``), and so is the
      backward phase in reverse order, ``b_{K-1}, x^b_{K-2}, ..., b_0``, which starts when the
      last forward leaves the last device (GPipe, Huang et al. NeurIPS 2019, Fig. 2c). Exact
      when no two boundaries share a link (each phase drives one direction of each boundary).
    * 1F1B: ``Σ_d (f_d + b_d) + (m-1)·max_d (f_d + b_d)`` (for balanced stages
      ``(m+p-1)·(t_f+t_b)``, Narayanan et al. SC 2021 §2.2.1). Exact when the slowest device
      is the last one, which alternates forwards and backwards without idling once the first
      micro-batch reached it; an upper bound when it sits earlier, where its warm-up forwards
      overlap part of its first micro-batch's downstream round trip.
    * interleaved 1F1B: the slowest device's time in the balanced formula,
      ``(m + (p-1)/v)·max_d (f_d + b_d)`` (SC 2021 §2.2.2; an upper bound when unbalanced).

    With balanced stages and no transfers every case is :func:`pipeline_flush_time`.
    """
    p = len(forward)
    total = [f + b for f, b in zip(forward, backward, strict=True)]
    if transfers is not None:
        if schedule not in ("naive", "gpipe"):
            raise ValueError(f"transfers are priced for naive and gpipe only, not {schedule!r}")
        if len(transfers) != p - 1:
            raise ValueError(f"{p} devices have {p - 1} boundaries, got {len(transfers)} transfers")
    moves = list(transfers) if transfers is not None else [(0.0, 0.0)] * (p - 1)
    if schedule == "naive":
        return m * (sum(total) + sum(x + y for x, y in moves))
    if schedule == "gpipe":
        ahead = [t for d in range(p) for t in (forward[d], *(moves[d][:1] if d < p - 1 else ()))]
        back = [
            t
            for d in range(p - 1, -1, -1)
            for t in (backward[d], *((moves[d - 1][1],) if d else ()))
        ]
        return flow_shop_makespan(ahead, m) + flow_shop_makespan(back, m)
    if schedule == "1f1b":
        return sum(total) + (m - 1) * max(total)
    if schedule == "interleaved_1f1b":
        return pipeline_flush_time(schedule, p, m, max(total), v)
    raise ValueError(f"unknown synchronous schedule {schedule!r}")


def interleaved_warmup(p: int, m: int, v: int, device: int) -> int:
    """Warm-up forwards of ``device`` in Megatron-LM's interleaved schedule.

    ``(p-d-1)·2 + (v-1)·p``, at most ``m·v``, and every forward when ``m == p``
    (``forward_backward_pipelining_with_interleaving`` in Megatron-LM; Narayanan et al. SC 2021,
    §2.2.2). :func:`~clustersim.training.pipeline.schedules.interleaved_1f1b` runs this count.
    """
    if m == p:
        return m * v
    return min((p - device - 1) * 2 + (v - 1) * p, m * v)


def in_flight_microbatches(schedule: str, p: int, m: int, device: int, v: int = 1) -> int:
    """Most micro-batches (chunk micro-batches when interleaved) a device stashes at once."""
    if schedule == "naive":
        return 1
    if schedule == "gpipe":
        return m
    if schedule in ("1f1b", "pipedream"):
        return min(p - device, m)
    if schedule == "interleaved_1f1b":
        return min(interleaved_warmup(p, m, v, device) + 1, m * v)
    raise ValueError(f"unknown schedule {schedule!r}")


def peak_activation_memory(
    schedule: str,
    p: int,
    m: int,
    device: int,
    full: float,
    inputs: float,
    recompute: bool,
    v: int = 1,
) -> float:
    """Peak activation bytes of ``device``.

    ``full`` is one micro-batch's stash for the device's stage (for interleaved: one chunk's,
    assumed equal across chunks), ``inputs`` its input activation. Without recomputation the
    device holds ``n = in_flight_microbatches(...)`` full stashes; with it, ``n`` inputs plus
    one micro-batch's intermediates while it is recomputed: ``n·inputs + (full - inputs)``.
    """
    return stashed_activation_bytes(
        in_flight_microbatches(schedule, p, m, device, v), full, inputs, recompute
    )


def stashed_activation_bytes(n: int, full: float, inputs: float, recompute: bool) -> float:
    """Peak activation bytes of a device with ``n`` micro-batches in flight.

    ``n·full`` stashes; with re-materialisation ``n`` stage inputs plus the intermediates of the
    one micro-batch being recomputed, ``n·inputs + (full - inputs)`` (GPipe, Huang et al.
    NeurIPS 2019, §2.3).
    """
    if recompute:
        return n * inputs + (full - inputs)
    return n * full


def pipedream_weight_versions(p: int, stage: int) -> int:
    """Weight versions kept by stage ``stage`` (0-based) of a straight PipeDream pipeline.

    ``p - stage``: one per micro-batch in flight (SOSP 2019, §3.3).
    """
    return p - stage
