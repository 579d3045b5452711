"""SimPy processes: the rounds of a decoding method spent on devices and links.

A :class:`Placement` says where the target and the draft run and what each forward pass costs
(:mod:`~clustersim.inference.speculative.models` through the device roofline and its launch
overhead per kernel, :meth:`~clustersim.hardware.spec.DeviceSpec.kernel_time`). The processes
replay the :class:`~clustersim.inference.speculative.kernels.Round` records the kernels
produced, and :func:`replay` runs one of them to the end:

* :func:`sequential_process` -- the draft passes, then (across the link, if the draft lives on
  another node) the target pass, then the verdict back to the draft. Plain decoding,
  speculative, self-speculative, tree and Medusa decoding all have this shape.
* :func:`pearl_process` -- PEARL: each round the draft's passes and the target's pass run at
  the same time on their two devices, then the two exchange drafts and verdicts.

Compute spans are labelled "draft", "verify" or "decode" on each device's compute lane, so a
timeline shows the draft/verify pattern and, for PEARL, the overlap; with tracing on, an instant
on the target's lane marks the end of every round with the tokens it made final.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from clustersim.hardware.cluster import Cluster
from clustersim.hardware.device import Device
from clustersim.inference.speculative.kernels import Round
from clustersim.inference.speculative.models import ForwardCost, TransformerConfig

__all__ = ["DecodeLog", "Placement", "pearl_process", "replay", "sequential_process"]

TOKEN_ID_BYTES = 4
"""An int32 token id on the wire."""
_OVERLAP_TOLERANCE = 1e-12


@dataclass
class Placement:
    """Where a decoding method runs and what its passes cost.

    Attributes:
        cluster: the cluster.
        target, draft: device names (``draft`` None: no separate draft model).
        target_model, draft_model: architectures (the draft may be the target's first layers).
        batch: sequences decoded together (in lockstep: one replayed sequence sets the pace).
        prompt_tokens: tokens in the KV cache when decoding starts.
        dtype_bytes: bytes per weight and KV element.
        verify_layers: layers the verification pass runs (None: all; fewer when a
            self-speculative draft's early layers are reused).
        extra_target_params: matmul parameters added to every target pass (Medusa heads).
        extra_target_kernels: the kernels those parameters launch.
        payload_vocab: vocabulary of the real model, for the size of shipped distributions.
        ship_distributions: send the draft's distributions with its tokens (needed to verify
            when sampling at T > 0; greedy decoding ships token ids only).
    """

    cluster: Cluster
    target: str
    draft: str | None
    target_model: TransformerConfig
    draft_model: TransformerConfig | None = None
    batch: int = 1
    prompt_tokens: int = 0
    dtype_bytes: float = 2.0
    verify_layers: int | None = None
    extra_target_params: float = 0.0
    extra_target_kernels: int = 0
    payload_vocab: int = 32000
    ship_distributions: bool = True

    @property
    def target_device(self) -> Device:
        """The target's device."""
        return self.cluster.devices[self.target]

    @property
    def draft_device(self) -> Device | None:
        """The draft's device, if there is a draft."""
        return None if self.draft is None else self.cluster.devices[self.draft]

    @property
    def remote(self) -> bool:
        """Draft and target on different nodes: every round crosses the network."""
        return self.draft is not None and self.draft != self.target

    def target_cost(self, tokens: int, context: int, verify: bool = True) -> ForwardCost:
        """One target pass over ``tokens`` new tokens after ``context`` cached ones."""
        return self.target_model.forward_cost(
            tokens,
            batch=self.batch,
            context=context,
            dtype_bytes=self.dtype_bytes,
            layers=self.verify_layers if verify else None,
            extra_params=self.extra_target_params,
            extra_kernels=self.extra_target_kernels,
        )

    def draft_cost(self, tokens: int, context: int) -> ForwardCost:
        """One draft pass."""
        assert self.draft_model is not None
        return self.draft_model.forward_cost(
            tokens, batch=self.batch, context=context, dtype_bytes=self.dtype_bytes
        )

    def seconds(self, device: Device, cost: ForwardCost) -> float:
        """Roofline time of a pass plus its kernels' launch overheads (before slowdown)."""
        return device.spec.kernel_time(cost.flops, cost.bytes, cost.kernels)

    def target_step_s(self, context: float | None = None) -> float:
        """Time of one plain one-token target step (T in Leviathan et al.), by default at the
        prompt's context length."""
        ctx = self.prompt_tokens if context is None else context
        cost = self.target_model.forward_cost(
            1, batch=self.batch, context=ctx, dtype_bytes=self.dtype_bytes
        )
        dev = self.target_device
        return self.seconds(dev, cost) * dev.slowdown

    def draft_step_s(self, context: float | None = None) -> float:
        """Time of one one-token draft step (c T in Leviathan et al.)."""
        assert self.draft_model is not None and self.draft_device is not None
        ctx = self.prompt_tokens if context is None else context
        dev = self.draft_device
        return self.seconds(dev, self.draft_cost(1, ctx)) * dev.slowdown

    def draft_payload(self, tokens: int) -> float:
        """Bytes the draft sends to the target for ``tokens`` drafted tokens."""
        per = TOKEN_ID_BYTES + (
            self.payload_vocab * self.dtype_bytes if self.ship_distributions else 0
        )
        return self.batch * tokens * per

    def verdict_payload(self, tokens: int) -> float:
        """Bytes of the target's answer: accepted count and the new tokens."""
        return self.batch * (tokens + 1) * TOKEN_ID_BYTES


@dataclass
class DecodeLog:
    """What the process measured.

    Attributes:
        draft_busy, target_busy: (start, end) of every draft / target pass.
        round_end: end time of every round.
    """

    draft_busy: list[tuple[float, float]] = field(default_factory=list)
    target_busy: list[tuple[float, float]] = field(default_factory=list)
    round_end: list[float] = field(default_factory=list)

    @staticmethod
    def _total(spans: Sequence[tuple[float, float]]) -> float:
        return float(sum(b - a for a, b in spans))

    @property
    def draft_busy_s(self) -> float:
        """Time the draft passes took."""
        return self._total(self.draft_busy)

    @property
    def target_busy_s(self) -> float:
        """Time the target passes took."""
        return self._total(self.target_busy)

    @property
    def overlap_s(self) -> float:
        """Time during which a draft pass and a target pass ran at once."""
        total = 0.0
        i = j = 0
        a, b = self.draft_busy, self.target_busy
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if hi - lo > _OVERLAP_TOLERANCE * max(1.0, hi):  # ignore clock rounding
                total += hi - lo
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return total


def _pass(
    placement: Placement,
    device: Device,
    cost: ForwardCost,
    label: str,
    log: list[tuple[float, float]],
) -> Generator[Any, Any, None]:
    seconds = placement.seconds(device, cost)
    end = yield from device.compute(cost.flops, cost.bytes, label=label, duration=seconds)
    log.append((end - seconds * device.slowdown, end))


def _draft_passes(
    placement: Placement, r: Round, context: int, log: DecodeLog
) -> Generator[Any, Any, None]:
    device = placement.draft_device
    model = placement.draft_model
    assert device is not None and model is not None
    ctx = context
    for k in r.draft_passes:
        yield from _pass(placement, device, placement.draft_cost(k, ctx), "draft", log.draft_busy)
        ctx += k


def _target_pass(
    placement: Placement, r: Round, context: int, log: DecodeLog
) -> Generator[Any, Any, None]:
    verify = r.phase != "decode"
    cost = placement.target_cost(r.target_tokens, context, verify=verify)
    yield from _pass(
        placement, placement.target_device, cost, "verify" if verify else "decode", log.target_busy
    )
    placement.cluster.sim.tracer.annotate_last(role=r.phase)  # PEARL: pre- or post-verify


def _round_done(placement: Placement, r: Round, log: DecodeLog) -> None:
    now = placement.cluster.sim.env.now
    log.round_end.append(now)
    tracer = placement.cluster.sim.tracer
    if tracer.enabled:
        tracer.instant(
            (placement.target, "compute"),
            r.phase,
            now,
            {"emitted": len(r.emitted), "accepted": r.accepted, "tested": r.tested},
        )


def sequential_process(
    placement: Placement, rounds: Sequence[Round], log: DecodeLog
) -> Generator[Any, Any, None]:
    """Draft, (ship,) verify, (ship back,) repeat: Algorithm 1's schedule on the devices."""
    net = placement.cluster.network
    context = placement.prompt_tokens
    for r in rounds:
        if r.draft_passes:
            yield from _draft_passes(placement, r, context, log)
            if placement.remote:
                assert placement.draft is not None
                yield net.transfer(
                    placement.draft,
                    placement.target,
                    placement.draft_payload(r.drafted),
                    label="drafts",
                )
        if r.target_tokens:
            yield from _target_pass(placement, r, context, log)
        if placement.remote and r.draft_passes:
            assert placement.draft is not None
            yield net.transfer(
                placement.target,
                placement.draft,
                placement.verdict_payload(len(r.emitted)),
                label="verdict",
            )
        context += len(r.emitted)
        _round_done(placement, r, log)


def pearl_process(
    placement: Placement, rounds: Sequence[Round], log: DecodeLog
) -> Generator[Any, Any, None]:
    """PEARL: the draft's gamma passes and the target's pass run concurrently every round,
    then drafts and verdicts are exchanged (both ways at once when the devices differ)."""
    env = placement.cluster.sim.env
    net = placement.cluster.network
    context = placement.prompt_tokens
    for r in rounds:
        drafting = env.process(_draft_passes(placement, r, context + len(r.emitted), log))
        verifying = env.process(_target_pass(placement, r, context, log))
        yield drafting & verifying
        if placement.remote:
            assert placement.draft is not None
            yield (
                net.transfer(
                    placement.draft,
                    placement.target,
                    placement.draft_payload(r.drafted),
                    label="drafts",
                )
                & net.transfer(
                    placement.target,
                    placement.draft,
                    placement.verdict_payload(len(r.emitted)),
                    label="verdict",
                )
            )
        context += len(r.emitted)
        _round_done(placement, r, log)


def replay(placement: Placement, rounds: Sequence[Round], *, parallel: bool) -> DecodeLog:
    """Spend ``rounds`` on the placement's devices until the last one ends: what they measured.

    ``parallel`` picks :func:`pearl_process` (draft beside the target) over
    :func:`sequential_process`.
    """
    log = DecodeLog()
    process = pearl_process if parallel else sequential_process
    placement.cluster.sim.process(process(placement, rounds, log), name="decode")
    placement.cluster.sim.run()
    return log
