"""The ``speculative_decoding`` workload kind: LLM decoding, plain or speculative, timed,
counted and checked.

One run generates ``tokens`` tokens with ``method`` on toy language models that really sample
(:mod:`~clustersim.inference.speculative.toy_lm`), replays every target and draft pass on the devices with
the cost of the chosen real architectures (:mod:`~clustersim.inference.speculative.models`), and compares
with plain autoregressive decoding of the same target on the same device (``speedup``).

Methods:

* ``autoregressive`` -- one target pass per token, the baseline.
* ``speculative`` -- Leviathan et al. (2023) Algorithm 1: gamma draft tokens, one target pass.
* ``tree`` -- SpecInfer (Miao et al. 2023): a token tree verified by multi-step speculative
  sampling; ``tree_siblings`` ``top_k`` and ``dedup`` are biased, on purpose.
* ``pearl`` -- Liu et al. (2024): draft and target run at the same time on two devices,
  pre-verify / post-verify, draft length adapting by itself.
* ``medusa`` -- Cai et al. (2024): extra heads propose a candidate tree checked in the target
  pass with typical (or greedy) acceptance. Medusa with typical acceptance is NOT
  distribution-preserving: it trades exactness for longer accepted runs, so it has no
  ``output_matches_target`` check; at temperature 0 it equals greedy decoding.
* ``self_speculative`` -- Draft & Verify (Zhang et al. 2023), LayerSkip (Elhoushi et al. 2024),
  Kangaroo (Liu et al. 2024): the draft is the target's first ``exit_layer`` layers with the LM
  head, costing those layers only; with ``reuse_exit_cache`` the verification runs only the
  remaining layers (LayerSkip Section 4.2).

Toy-model assumption: the draft's acceptance rate comes from ``draft_quality`` (default 0.7;
for ``self_speculative`` 0.5 + 0.5 x exit_layer / layers, an assumption that deeper exits draft
better), not from the architectures, which only set the costs.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.inference.speculative import costs
from clustersim.inference.speculative.checks import (
    MethodSetup,
    SetupFactory,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.models import (
    DTYPE_BYTES,
    TransformerConfig,
    get_model,
    medusa_heads_params,
)
from clustersim.inference.speculative.process import (
    DecodeLog,
    Placement,
    pearl_process,
    sequential_process,
)
from clustersim.inference.speculative.sampling import (
    Round,
    autoregressive_rounds,
    medusa_rounds,
    pearl_rounds,
    speculative_rounds,
    take,
    tree_rounds,
)
from clustersim.inference.speculative.toy_lm import (
    MedusaHeads,
    ToyLM,
    expected_alpha,
    make_draft,
    make_target,
)
from clustersim.kinds.contract import Outcome, WorkloadKind, check
from clustersim.units import Seconds

__all__ = ["METHODS", "PRESERVING", "SpeculativeParams", "analytic", "simulate"]

METHODS = ("autoregressive", "speculative", "tree", "pearl", "medusa", "self_speculative")
PRESERVING = ("autoregressive", "speculative", "tree", "pearl", "self_speculative")
"""Methods whose output follows the target's distribution exactly."""
CHAIN = ("speculative", "self_speculative", "pearl")
"""Methods that verify a chain of draft tokens, one acceptance test per position."""
DEFAULT_DRAFT_QUALITY = 0.7
MAX_CHECK_POSITIONS = 8


def _positive_int(field: str, value: int, minimum: int = 1) -> int:
    if value < minimum:
        raise InputError(f"{field} must be an integer >= {minimum}, got {value!r}")
    return value


class SpeculativeParams(BaseModel):
    """Parameters of ``kind: speculative_decoding``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["speculative_decoding"] = "speculative_decoding"
    method: Literal[
        "autoregressive", "speculative", "tree", "pearl", "medusa", "self_speculative"
    ] = Field("speculative", description="decoding method")
    target_model: str = Field("llama2-7b", description="target architecture preset")
    draft_model: str = Field("llama-68m", description="draft architecture preset")
    target_device: str | None = Field(
        None, description="node running the target (default: the first device)"
    )
    draft_device: str | None = Field(
        None,
        description="node running the draft (default: the target's; for pearl the next device)",
    )
    gamma: int = Field(4, description="draft length (tree: depth unless tree_expansion)")
    temperature: float = Field(1.0, description="sampling temperature; 0 is greedy")
    tokens: int = Field(128, description="tokens to generate")
    prompt_tokens: int = Field(128, description="tokens in the KV cache at the start")
    batch: int = Field(1, description="sequences decoded in lockstep")
    dtype: Literal["float32", "float16", "bfloat16", "int8", "int4"] = "float16"
    launch_overhead: Seconds = Field(0.0, description="fixed time per layer per pass")
    vocab: int = Field(32, description="toy vocabulary size")
    order: int = Field(2, description="toy n-gram context length")
    target_sharpness: float = Field(2.0, description="toy target logit scale")
    draft_quality: float | None = Field(None, description="0..1, moves alpha ~0.2..1")
    tree_width: int = Field(
        2, description="children per node at the first two levels when tree_expansion is unset"
    )
    tree_expansion: list[int] | None = Field(None, description="children per level <k1..km>")
    tree_drafts: int = Field(1, description="draft models merged into the tree")
    tree_siblings: Literal["iid", "without_replacement", "top_k", "dedup"] = "iid"
    medusa_topk: list[int] = Field(
        default_factory=lambda: [3, 2, 2],
        description="top-k of each Medusa head (one entry per head)",
    )
    medusa_acceptance: Literal["typical", "greedy"] = "typical"
    posterior_threshold: float = Field(0.09, description="Medusa typical acceptance epsilon")
    posterior_alpha: float = Field(0.3, description="Medusa typical acceptance delta")
    exit_layer: int | None = Field(
        None, description="self_speculative draft depth (default: a quarter of the layers)"
    )
    reuse_exit_cache: bool = Field(
        True, description="self_speculative verify skips the draft's layers"
    )
    verify: bool = Field(True, description="run the statistical and greedy checks")
    check_samples: int = Field(2000, description="sequences sampled per test distribution")
    check_significance: float = Field(0.001, description="family-wise significance level")
    greedy_check_tokens: int = Field(64, description="tokens compared at temperature 0")

    @field_validator(
        "gamma",
        "tokens",
        "batch",
        "tree_width",
        "tree_drafts",
        "check_samples",
        "greedy_check_tokens",
    )
    @classmethod
    def _at_least_one(cls, value: int, info: Any) -> int:
        return _positive_int(info.field_name, value)

    @field_validator("prompt_tokens")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        return _positive_int("prompt_tokens", value, 0)

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, value: float) -> float:
        if not (value >= 0 and np.isfinite(value)):
            raise InputError(
                f"temperature must be a finite number >= 0 (0 is greedy), got {value!r}"
            )
        return value

    @field_validator("launch_overhead")
    @classmethod
    def _overhead(cls, value: float) -> float:
        if not value >= 0:
            raise InputError(f"launch_overhead must be a time >= 0 such as 5 us, got {value!r}")
        return value

    @field_validator("vocab")
    @classmethod
    def _vocab(cls, value: int) -> int:
        if not 2 <= value <= 512:
            raise InputError(
                f"vocab must be an integer in 2..512 (a toy vocabulary), got {value!r}"
            )
        return value

    @field_validator("order")
    @classmethod
    def _order(cls, value: int) -> int:
        if value not in (1, 2, 3):
            raise InputError(f"order must be 1, 2 or 3 (tokens of context), got {value!r}")
        return value

    @field_validator("target_sharpness")
    @classmethod
    def _sharpness(cls, value: float) -> float:
        if not (value > 0 and np.isfinite(value)):
            raise InputError(
                f"target_sharpness must be a positive logit scale such as 2, got {value!r}"
            )
        return value

    @field_validator("draft_quality")
    @classmethod
    def _quality(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 1:
            raise InputError(
                f"draft_quality must be in [0, 1] (0: unrelated draft, 1: the "
                f"target itself), got {value!r}"
            )
        return value

    @field_validator("tree_expansion", "medusa_topk")
    @classmethod
    def _expansion(cls, value: list[int] | None, info: Any) -> list[int] | None:
        if value is None:
            return value
        if not value or any(k < 1 for k in value) or len(value) > 16:
            raise InputError(
                f"{info.field_name} must be a list of 1 to 16 integers >= 1, got {value!r}"
            )
        if int(np.prod(np.array(value, dtype=float))) > 4096:
            raise InputError(
                f"{info.field_name} {value!r} makes more than 4096 leaves; "
                "expected a tree of at most 4096 candidates"
            )
        return value

    @field_validator("posterior_threshold", "posterior_alpha")
    @classmethod
    def _unit_interval(cls, value: float, info: Any) -> float:
        if not 0 < value <= 1:
            raise InputError(f"{info.field_name} must be in (0, 1], got {value!r}")
        return value

    @field_validator("check_significance")
    @classmethod
    def _significance(cls, value: float) -> float:
        if not 0 < value < 1:
            raise InputError(f"check_significance must be in (0, 1) such as 0.001, got {value!r}")
        return value

    @field_validator("exit_layer")
    @classmethod
    def _exit(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise InputError(f"exit_layer must be an integer >= 1, got {value!r}")
        return value

    @field_validator("target_model", "draft_model")
    @classmethod
    def _model(cls, value: str) -> str:
        get_model(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SpeculativeParams:
        target = get_model(self.target_model)
        if self.exit_layer is not None and self.exit_layer >= target.layers:
            raise InputError(
                f"exit_layer must be below the target's {target.layers} layers "
                f"({self.target_model}), got {self.exit_layer}"
            )
        if self.method == "tree":
            nodes = int(np.cumprod(np.array(self.expansion, dtype=float)).sum())
            if nodes > 4096:
                raise InputError(
                    f"the token tree {self.expansion} (tree_width "
                    f"{self.tree_width}, gamma {self.gamma}) has {nodes} nodes; "
                    "expected at most 4096"
                )
        return self

    # ------------------------------------------------------------------ derived values
    @property
    def expansion(self) -> list[int]:
        """The tree's children per level: ``tree_expansion``, or by default ``tree_width``
        children at the first two levels and single chains below, gamma levels in all (the
        shape of SpecInfer's static expansion configurations, which branch near the root)."""
        if self.tree_expansion is not None:
            return list(self.tree_expansion)
        return [self.tree_width] * min(2, self.gamma) + [1] * max(0, self.gamma - 2)

    def exit_at(self, target: TransformerConfig) -> int:
        """The self-speculative exit layer."""
        return self.exit_layer if self.exit_layer is not None else max(1, target.layers // 4)

    def quality(self, target: TransformerConfig) -> float:
        """The draft quality, with the method's default."""
        if self.draft_quality is not None:
            return self.draft_quality
        if self.method == "self_speculative":
            return 0.5 + 0.5 * self.exit_at(target) / target.layers
        return DEFAULT_DRAFT_QUALITY

    @property
    def check_positions(self) -> int:
        """Positions the output check tests: one past the longest draft, plus one."""
        depth = {
            "tree": len(self.expansion),
            "medusa": len(self.medusa_topk) + 1,
            "autoregressive": 1,
        }.get(self.method, self.gamma)
        return min(depth + 2, MAX_CHECK_POSITIONS)


# ------------------------------------------------------------------------------ set-up
def _devices(cluster: Cluster, params: SpeculativeParams) -> tuple[str, str | None]:
    ranks = cluster.ranks
    target = params.target_device or ranks[0]
    for field, name in (("target_device", target), ("draft_device", params.draft_device)):
        if name is not None and name not in cluster.devices:
            raise InputError(
                f"workload.{field}: {name!r} is not a device of the cluster; "
                f"devices are {', '.join(ranks[:12])}"
            )
    if params.method == "autoregressive":
        return target, None
    if params.method in ("medusa", "self_speculative"):
        if params.draft_device not in (None, target):
            raise InputError(
                f"workload.draft_device: {params.method} drafts inside the target "
                f"model, so it runs on target_device {target!r}; got "
                f"{params.draft_device!r}"
            )
        return target, target
    if params.draft_device is not None:
        return target, params.draft_device
    if params.method == "pearl":
        others = [r for r in ranks if r != target]
        if not others:  # pragma: no cover - a topology has at least 2 devices
            return target, target
        return target, others[0]
    return target, target


def _placement(cluster: Cluster, params: SpeculativeParams) -> Placement:
    target_name, draft_name = _devices(cluster, params)
    target_model = get_model(params.target_model)
    draft_model: TransformerConfig | None = None
    verify_layers = None
    extra = 0.0
    if params.method in ("speculative", "tree", "pearl"):
        draft_model = get_model(params.draft_model)
    elif params.method == "self_speculative":
        exit_layer = params.exit_at(target_model)
        draft_model = target_model.truncated(exit_layer)
        if params.reuse_exit_cache:
            verify_layers = target_model.layers - exit_layer
    elif params.method == "medusa":
        extra = medusa_heads_params(target_model, len(params.medusa_topk))
    return Placement(
        cluster=cluster,
        target=target_name,
        draft=draft_name,
        target_model=target_model,
        draft_model=draft_model,
        batch=params.batch,
        prompt_tokens=params.prompt_tokens,
        dtype_bytes=DTYPE_BYTES[params.dtype],
        verify_layers=verify_layers,
        extra_target_params=extra,
        launch_overhead_s=params.launch_overhead,
        payload_vocab=target_model.vocab,
        ship_distributions=params.temperature > 0,
    )


def setup_factory(params: SpeculativeParams, seed: int) -> SetupFactory:
    """How to bind ``params.method`` to a target: build its drafts or heads (seeded)."""
    target_config = get_model(params.target_model)
    quality = params.quality(target_config)
    method = params.method

    def bind(target: ToyLM) -> MethodSetup:
        rng = np.random.default_rng((seed, 0xD4AF7))
        if method == "autoregressive":
            return MethodSetup(lambda s, t, g: autoregressive_rounds(target, s, t, g))
        if method == "medusa":
            heads = MedusaHeads(
                target, len(params.medusa_topk), quality, 1.0, int(rng.integers(2**31))
            )
            return MethodSetup(
                lambda s, t, g: medusa_rounds(
                    target,
                    heads,
                    s,
                    params.medusa_topk,
                    t,
                    params.medusa_acceptance,
                    params.posterior_threshold,
                    params.posterior_alpha,
                )
            )
        if method == "tree":
            drafts = [
                make_draft(target, quality, rng, name=f"draft{i}")
                for i in range(params.tree_drafts)
            ]
            return MethodSetup(
                lambda s, t, g: tree_rounds(
                    target, drafts, s, params.expansion, t, g, params.tree_siblings
                ),
                drafts[0],
            )
        draft = make_draft(target, quality, rng)
        if method == "pearl":
            return MethodSetup(
                lambda s, t, g: pearl_rounds(target, draft, s, params.gamma, t, g), draft
            )
        return MethodSetup(
            lambda s, t, g: speculative_rounds(target, draft, s, params.gamma, t, g), draft
        )

    return bind


def _toy_target(params: SpeculativeParams, seed: int) -> tuple[ToyLM, int]:
    rng = np.random.default_rng((seed, 0x7A46E7))
    target = make_target(params.vocab, params.order, params.target_sharpness, rng)
    return target, int(rng.integers(target.n_states))


def _shadow(cluster: Cluster) -> Cluster:
    """A fresh cluster on the same graph and devices, for the baseline run."""
    sim = Simulation(cluster.sim.seed)
    any_spec = next(iter(cluster.devices.values())).spec
    return Cluster(
        sim,
        cluster.graph,
        any_spec,
        specs={n: d.spec for n, d in cluster.devices.items()},
        slowdowns={n: d.slowdown for n, d in cluster.devices.items()},
    )


def _run(placement: Placement, rounds: list[Round], parallel: bool) -> DecodeLog:
    log = DecodeLog()
    process = pearl_process if parallel else sequential_process
    placement.cluster.sim.process(process(placement, rounds, log), name="decode")
    placement.cluster.sim.run()
    return log


def _work(cluster: Cluster, names: set[str]) -> tuple[float, float]:
    devices = [cluster.devices[n] for n in names]
    return (float(sum(d.flops_done for d in devices)), float(sum(d.bytes_read for d in devices)))


def baseline(cluster: Cluster, params: SpeculativeParams) -> dict[str, float]:
    """Plain autoregressive decoding of the same target, on the same device and seed."""
    placement = _placement(cluster, params)
    shadow = _shadow(cluster)
    base = Placement(
        cluster=shadow,
        target=placement.target,
        draft=None,
        target_model=placement.target_model,
        batch=params.batch,
        prompt_tokens=params.prompt_tokens,
        dtype_bytes=placement.dtype_bytes,
        launch_overhead_s=params.launch_overhead,
    )
    target, state = _toy_target(params, cluster.sim.seed)
    rng = np.random.default_rng((cluster.sim.seed, 0xBA5E))
    _, rounds = take(autoregressive_rounds(target, state, params.temperature, rng), params.tokens)
    log = _run(base, rounds, parallel=False)
    flops, bytes_read = _work(shadow, {placement.target})
    return {"time_s": log.round_end[-1], "flops": flops, "bytes_read": bytes_read}


# ----------------------------------------------------------------------------- simulate
def simulate(cluster: Cluster, params: SpeculativeParams) -> Outcome:
    """Generate ``params.tokens`` tokens with the method and measure it against the baseline."""
    placement = _placement(cluster, params)
    seed = cluster.sim.seed
    target, state = _toy_target(params, seed)
    factory = setup_factory(params, seed)
    bound = factory(target)
    rng = cluster.sim.rng("speculative_decoding.sampling")
    _, rounds = take(bound.rounds(state, params.temperature, rng), params.tokens)
    log = _run(placement, rounds, parallel=params.method == "pearl")
    time_s = log.round_end[-1]
    devices = {placement.target} | ({placement.draft} if placement.draft else set())
    flops, bytes_read = _work(cluster, devices)
    base = baseline(cluster, params)
    emitted = sum(len(r.emitted) for r in rounds)
    tested = sum(r.tested for r in rounds)
    accepted = sum(r.accepted for r in rounds)
    metrics: dict[str, Any] = {
        "tokens": params.tokens,
        "time_s": time_s,
        "time_per_token_s": time_s / params.tokens,
        "speedup": base["time_s"] / time_s,
    }
    if tested:
        metrics["alpha"] = accepted / tested
    metrics |= {
        "tokens_per_step": emitted / len(rounds),
        "target_passes": len(rounds),
        "draft_passes": sum(len(r.draft_passes) for r in rounds),
        "drafted_tokens": sum(r.drafted for r in rounds),
        "accepted_tokens": accepted,
        "flops_total": flops,
        "bytes_read_total": bytes_read,
        "flops_ratio": flops / base["flops"],
        "memory_read_ratio": bytes_read / base["bytes_read"],
        "baseline_time_s": base["time_s"],
        "baseline_time_per_token_s": base["time_s"] / params.tokens,
        "baseline_flops_total": base["flops"],
        "baseline_bytes_read_total": base["bytes_read"],
        "target_busy_s": log.target_busy_s,
    }
    if placement.draft_model is not None:
        ctx = _mean_context(params)
        metrics["cost_coefficient"] = placement.draft_step_s(ctx) / placement.target_step_s(ctx)
        metrics["draft_busy_s"] = log.draft_busy_s
        metrics["overlap_s"] = log.overlap_s
    metrics |= cluster.standard_metrics()
    metrics["sim_events"] = cluster.sim.events_processed
    checks: dict[str, dict[str, Any]] = {}
    if params.verify:
        checks = _checks(params, seed, factory, target, state)
    return Outcome(metrics=metrics, checks=checks)


def _checks(
    params: SpeculativeParams, seed: int, factory: SetupFactory, target: ToyLM, state: int
) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    if params.method in PRESERVING:
        record = output_matches_target(
            factory,
            vocab=params.vocab,
            order=params.order,
            temperature=params.temperature if params.temperature > 0 else 1.0,
            positions=params.check_positions,
            samples=params.check_samples,
            significance=params.check_significance,
            seed=seed,
        )
        passed = record.pop("passed")
        checks["output_matches_target"] = check(passed, **record)
    greedy = greedy_matches_target(
        factory(target),
        target,
        state,
        params.greedy_check_tokens,
        np.random.default_rng((seed, 0x6EED)),
    )
    passed = greedy.pop("passed")
    checks["greedy_matches_target"] = check(passed, **greedy)
    return checks


# ----------------------------------------------------------------------------- analytic
def _mean_context(params: SpeculativeParams) -> float:
    """The mean KV-cache length over the run: a memory-bound step's time is linear in it."""
    return params.prompt_tokens + params.tokens / 2


def analytic(cluster: Cluster, params: SpeculativeParams) -> dict[str, Any]:
    """Leviathan et al.'s closed forms with alpha from the toy models (Corollary 3.6) and c
    from the device model (Definition 3.7), at the run's mean context length."""
    placement = _placement(cluster, params)
    ctx = _mean_context(params)
    step = placement.target_step_s(ctx)
    out: dict[str, Any] = {"baseline_time_per_token_s": step}
    if params.method == "autoregressive":
        return out | {
            "time_per_token_s": step,
            "tokens_per_step": 1.0,
            "speedup": 1.0,
            "target_passes": params.tokens,
            "flops_ratio": 1.0,
            "memory_read_ratio": 1.0,
        }
    if params.method not in CHAIN:
        return out
    target, _ = _toy_target(params, cluster.sim.seed)
    bound = setup_factory(params, cluster.sim.seed)(target)
    assert bound.draft is not None and placement.draft_model is not None
    alpha = expected_alpha(target, bound.draft, params.temperature)
    c = placement.draft_step_s(ctx) / step
    out |= {"alpha": alpha, "cost_coefficient": c}
    if params.method == "pearl":
        return out
    gamma = params.gamma
    one_target = placement.target_model.forward_cost(
        1, batch=params.batch, context=ctx, dtype_bytes=placement.dtype_bytes
    )
    one_draft = placement.draft_cost(1, ctx)
    tokens_per_step = costs.expected_tokens_per_step(alpha, gamma)
    return out | {
        "tokens_per_step": tokens_per_step,
        "speedup": costs.speedup(alpha, gamma, c),
        "time_per_token_s": costs.time_per_token(alpha, gamma, c, step),
        "target_passes": params.tokens / tokens_per_step,
        "draft_passes": gamma * params.tokens / tokens_per_step,
        "flops_ratio": costs.arithmetic_operations_factor(
            alpha, gamma, one_draft.flops / one_target.flops
        ),
        "memory_read_ratio": costs.bytes_read_factor(
            alpha, gamma, one_draft.bytes / one_target.bytes
        ),
        "optimal_gamma": costs.optimal_gamma(alpha, c),
    }


def _details() -> list[str]:
    return [
        "methods: " + ", ".join(METHODS) + " (medusa is not distribution-preserving)",
        "tokens_per_step = (1-a^(g+1))/(1-a); speedup = (1-a^(g+1))/((1-a)(g c+1)); "
        "ops = (1-a)(g c^+g+1)/(1-a^(g+1))  [Leviathan et al. 2023, Eq. 1, Thm 3.8, Thm 3.11]",
    ]


def _prepare(cluster: Cluster, params: Any) -> tuple[Cluster, Any]:  # TRANSITION
    return cluster, params


KIND = WorkloadKind(
    name="speculative_decoding",
    description="LLM decoding: autoregressive, speculative, tree, PEARL, Medusa, "
    "self-speculative; timed, counted and checked",
    params=SpeculativeParams,
    prepare=_prepare,  # TRANSITION: replaced by the real prepare step
    simulate=lambda plan: simulate(*plan),
    analytic=lambda plan: analytic(*plan),
    details=_details,
)
