"""Closed forms for pipeline schedules: bubble, time per minibatch, activation memory, versions.

Notation: ``K`` (GPipe) or ``p`` (Megatron) pipeline devices, ``M``/``m`` micro-batches per
minibatch, ``v`` model chunks per device (interleaved), ``t_f``/``t_b`` forward/backward time of
one micro-batch on one stage.

* GPipe (Huang et al., "GPipe: Efficient Training of Giant Neural Networks using Pipeline
  Parallelism", NeurIPS 2019, §2.3): the bubble is ``O((K-1)/(M+K-1))`` of the time,
  "negligible when M >= 4 x K". With balanced stages and free communication it is exactly
  that fraction: the minibatch takes ``(M+K-1)·(t_f+t_b)`` and each device is busy
  ``M·(t_f+t_b)`` of it.
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

__all__ = [
    "bubble_fraction",
    "bubble_over_ideal_fraction",
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


def unbalanced_flush_time(
    schedule: str,
    forward: list[float],
    backward: list[float],
    m: int,
    v: int = 1,
) -> float:
    """Time from the first forward to the flush for the stages given, communication free.

    ``forward[d]`` and ``backward[d]`` are device ``d``'s seconds of one micro-batch (all its
    chunks; recomputation counted in the backward).

    * naive: one micro-batch at a time, ``m·Σ_d (f_d + b_d)``.
    * GPipe: the forward phase is a flow shop of ``m`` identical jobs through the devices, which
      takes ``Σ_d f_d + (m-1)·max_d f_d`` (Johnson's two-machine argument, extended: the
      slowest machine paces every job after the first), and so is the backward phase in
      reverse order, which starts when the last forward leaves the last device:
      ``Σ f + (m-1)·max f + Σ b + (m-1)·max b``.
    * 1F1B: ``Σ_d (f_d + b_d) + (m-1)·max_d (f_d + b_d)`` (for balanced stages
      ``(m+p-1)·(t_f+t_b)``, Narayanan et al. SC 2021 §2.2.1). Exact when the slowest device
      is the last one, which alternates forwards and backwards without idling once the first
      micro-batch reached it; an upper bound when it sits earlier, where its warm-up forwards
      overlap part of its first micro-batch's downstream round trip.
    * interleaved 1F1B: the slowest device's time in the balanced formula,
      ``(m + (p-1)/v)·max_d (f_d + b_d)`` (SC 2021 §2.2.2; an upper bound when unbalanced).

    With balanced stages every case is :func:`pipeline_flush_time`.
    """
    p = len(forward)
    total = [f + b for f, b in zip(forward, backward, strict=True)]
    if schedule == "naive":
        return m * sum(total)
    if schedule == "gpipe":
        return sum(forward) + (m - 1) * max(forward) + sum(backward) + (m - 1) * max(backward)
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
