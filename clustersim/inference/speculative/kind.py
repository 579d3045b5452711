"""The ``speculative_decoding`` workload kind: LLM decoding, plain or speculative, timed,
counted and checked.

One run generates ``tokens`` tokens with ``method`` on toy language models that really sample
(:mod:`~clustersim.inference.speculative.toy_lm`), replays every target and draft pass on the
devices with the cost of the chosen real architectures
(:mod:`~clustersim.inference.speculative.models`), and compares with plain autoregressive
decoding of the same target on the same device (``speedup``).

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

:func:`prepare` places the models on devices and binds the method to its seeded toy target
once; :func:`simulate` and :func:`analytic` both read that :class:`SpeculativePlan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.inference.speculative import costs
from clustersim.inference.speculative.checks import (
    MethodSetup,
    SetupFactory,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.kernels import (
    autoregressive_rounds,
    medusa_rounds,
    pearl_rounds,
    speculative_rounds,
    take,
    tree_rounds,
)
from clustersim.inference.speculative.models import (
    DTYPE_BYTES,
    MEDUSA_HEAD_KERNELS,
    TransformerConfig,
    get_model,
    medusa_heads_params,
)
from clustersim.inference.speculative.params import METHODS, SpeculativeParams
from clustersim.inference.speculative.process import Placement, replay
from clustersim.inference.speculative.toy_lm import (
    MedusaHeads,
    ToyLM,
    expected_alpha,
    greedy_agreement,
    make_draft,
    make_target,
)
from clustersim.kinds.contract import AnalyticNote, Outcome, Work, WorkloadKind, check
from clustersim.kinds.validation import rank_list

__all__ = [
    "CHAIN",
    "KIND",
    "PRESERVING",
    "SpeculativePlan",
    "analytic",
    "analytic_notes",
    "prepare",
    "setup_factory",
    "simulate",
]

PRESERVING = ("autoregressive", "speculative", "tree", "pearl", "self_speculative")
"""Methods whose output follows the target's distribution exactly."""
CHAIN = ("speculative", "self_speculative", "pearl")
"""Methods that verify a chain of draft tokens, one acceptance test per position."""


@dataclass(frozen=True)
class SpeculativePlan:
    """What :func:`prepare` resolved, shared by :func:`simulate` and :func:`analytic`.

    Attributes:
        cluster: the cluster the run simulates on.
        params: the validated workload.
        placement: the devices of the target and the draft, their architectures and the cost
            of every pass.
        target: the toy target language model, seeded from the scenario.
        start: the state decoding starts from.
        bind: binds the method to any target (the output check binds it to its test targets).
        setup: the method bound to ``target``: its rounds and its draft, if any.
    """

    cluster: Cluster
    params: SpeculativeParams
    placement: Placement
    target: ToyLM
    start: int
    bind: SetupFactory
    setup: MethodSetup


# ------------------------------------------------------------------------------ prepare
def _devices(cluster: Cluster, params: SpeculativeParams) -> tuple[str, str | None]:
    """The target's and the draft's device names (the draft's None: no draft)."""
    target = params.target_device or cluster.ranks[0]
    for field, name in (("target_device", target), ("draft_device", params.draft_device)):
        if name is not None:
            rank_list([name], cluster.devices, f"workload.{field}", noun="device")
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
        others = [r for r in cluster.ranks if r != target]
        if not others:  # pragma: no cover - a topology has at least 2 devices
            return target, target
        return target, others[0]
    return target, target


def _placement(cluster: Cluster, params: SpeculativeParams) -> Placement:
    """Where the method's models run and what their passes cost."""
    target_name, draft_name = _devices(cluster, params)
    target_model = get_model(params.target_model)
    draft_model: TransformerConfig | None = None
    verify_layers = None
    extra = 0.0
    extra_kernels = 0
    if params.method in ("speculative", "tree", "pearl"):
        draft_model = get_model(params.draft_model)
    elif params.method == "self_speculative":
        exit_layer = params.exit_at(target_model)
        draft_model = target_model.truncated(exit_layer)
        if params.reuse_exit_cache:
            verify_layers = target_model.layers - exit_layer
    elif params.method == "medusa":
        extra = medusa_heads_params(target_model, len(params.medusa_topk))
        extra_kernels = MEDUSA_HEAD_KERNELS * len(params.medusa_topk)
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
        extra_target_kernels=extra_kernels,
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
    """The seeded toy target and the state decoding starts from."""
    rng = np.random.default_rng((seed, 0x7A46E7))
    target = make_target(params.vocab, params.order, params.target_sharpness, rng)
    return target, int(rng.integers(target.n_states))


def prepare(cluster: Cluster, params: SpeculativeParams) -> SpeculativePlan:
    """Check the devices against the cluster, place the models and bind the method.

    Raises InputError for a device the cluster does not have, a Medusa or self-speculative
    draft placed off the target's device, or a toy model with too many states, so that
    ``clustersim validate`` reports them. Builds the seeded toy models; samples nothing.
    """
    placement = _placement(cluster, params)
    target, start = _toy_target(params, cluster.sim.seed)
    bind = setup_factory(params, cluster.sim.seed)
    return SpeculativePlan(cluster, params, placement, target, start, bind, bind(target))


# ----------------------------------------------------------------------------- simulate
def _work(cluster: Cluster, names: set[str]) -> tuple[float, float]:
    """FLOPs done and bytes read by the devices ``names``."""
    devices = [cluster.devices[n] for n in names]
    return (float(sum(d.flops_done for d in devices)), float(sum(d.bytes_read for d in devices)))


def _baseline(plan: SpeculativePlan) -> dict[str, float]:
    """Plain autoregressive decoding of the same target, on the same device and seed, on an
    idle copy of the cluster."""
    params, placement = plan.params, plan.placement
    shadow = plan.cluster.fresh()
    base = Placement(
        cluster=shadow,
        target=placement.target,
        draft=None,
        target_model=placement.target_model,
        batch=params.batch,
        prompt_tokens=params.prompt_tokens,
        dtype_bytes=placement.dtype_bytes,
    )
    rng = np.random.default_rng((plan.cluster.sim.seed, 0xBA5E))
    _, rounds = take(
        autoregressive_rounds(plan.target, plan.start, params.temperature, rng), params.tokens
    )
    log = replay(base, rounds, parallel=False)
    flops, bytes_read = _work(shadow, {placement.target})
    return {"time_s": log.round_end[-1], "flops": flops, "bytes_read": bytes_read}


def simulate(plan: SpeculativePlan) -> Outcome:
    """Generate ``params.tokens`` tokens with the method and measure it against the baseline."""
    cluster, params, placement = plan.cluster, plan.params, plan.placement
    rng = cluster.sim.rng("speculative_decoding.sampling")
    _, rounds = take(plan.setup.rounds(plan.start, params.temperature, rng), params.tokens)
    log = replay(placement, rounds, parallel=params.method == "pearl")
    time_s = log.round_end[-1]
    devices = {placement.target} | ({placement.draft} if placement.draft else set())
    flops, bytes_read = _work(cluster, devices)
    base = _baseline(plan)
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
        ctx = params.mean_context
        metrics["cost_coefficient"] = placement.draft_step_s(ctx) / placement.target_step_s(ctx)
        metrics["draft_busy_s"] = log.draft_busy_s
        metrics["overlap_s"] = log.overlap_s
    metrics |= cluster.standard_metrics()
    checks = _checks(plan) if params.verify else {}
    return Outcome(metrics=metrics, checks=checks)


def _checks(plan: SpeculativePlan) -> dict[str, dict[str, Any]]:
    """``output_matches_target`` (distribution-preserving methods) and
    ``greedy_matches_target`` (every method), on the real sampling kernels."""
    params, seed = plan.params, plan.cluster.sim.seed
    checks: dict[str, dict[str, Any]] = {}
    if params.method in PRESERVING:
        record = output_matches_target(
            plan.bind,
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
        plan.setup,
        plan.target,
        plan.start,
        params.greedy_check_tokens,
        np.random.default_rng((seed, 0x6EED)),
    )
    passed = greedy.pop("passed")
    checks["greedy_matches_target"] = check(passed, **greedy)
    return checks


# ----------------------------------------------------------------------------- analytic
def _greedy_path(plan: SpeculativePlan, gamma: int) -> costs.GreedyRounds:
    """Temperature 0: Algorithm 1's rounds along the target's greedy path from the start."""
    draft = plan.setup.draft
    assert draft is not None
    tokens = plan.params.tokens
    accept = greedy_agreement(plan.target, draft, plan.start, tokens + gamma)
    return costs.greedy_rounds(accept, gamma, tokens)


def _greedy_analytic(
    plan: SpeculativePlan, c: float, step: float, c_hat: float, b_hat: float
) -> dict[str, Any]:
    """Temperature 0, a chain method: the run is deterministic, so the analytic side follows
    the path it takes. Alpha and tokens per step are those of the acceptance sequence along the
    target's greedy path (:func:`~clustersim.inference.speculative.costs.greedy_rounds`), and
    Theorem 3.8's ``(γc + 1)·T`` per round prices them. Beside them, Leviathan et al.'s
    i.i.d. Equation (1) at that alpha, and how far the run departs from it."""
    params = plan.params
    gamma, tokens = params.gamma, params.tokens
    path = _greedy_path(plan, gamma)
    alpha, per_step = path.alpha, path.tokens_per_step
    iid = costs.expected_tokens_per_step(alpha, gamma)
    speedups = {
        g: tokens / (_greedy_path(plan, g).rounds * (g * c + 1)) for g in range(1, 2 * gamma + 9)
    }
    return {
        "alpha": alpha,
        "alpha_stationary": expected_alpha(plan.target, plan.setup.draft, 0.0),  # type: ignore[arg-type]
        "tokens_per_step": per_step,
        "speedup": tokens / (path.rounds * (gamma * c + 1)),
        "time_per_token_s": step * (gamma * c + 1) * path.rounds / tokens,
        "target_passes": path.rounds,
        "draft_passes": gamma * path.rounds,
        "flops_ratio": (gamma * c_hat + gamma + 1) / per_step,
        "memory_read_ratio": (gamma * b_hat + 1) / per_step,
        "optimal_gamma": max(speedups, key=lambda g: (speedups[g], -g)),
        "tokens_per_step_iid": iid,
        "speedup_iid": costs.speedup(alpha, gamma, c),
        "iid_departure_fraction": per_step / iid - 1.0,
    }


def analytic(plan: SpeculativePlan) -> dict[str, Any]:
    """Leviathan et al.'s closed forms with alpha from the toy models (Corollary 3.6) and c
    from the device model (Definition 3.7), at the run's mean context length. At temperature 0
    a chain method follows the one path greedy decoding takes (:func:`_greedy_analytic`)."""
    params, placement = plan.params, plan.placement
    ctx = params.mean_context
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
    draft = plan.setup.draft
    assert draft is not None and placement.draft_model is not None
    alpha = expected_alpha(plan.target, draft, params.temperature)
    c = placement.draft_step_s(ctx) / step
    out |= {"alpha": alpha, "cost_coefficient": c}
    if params.method == "pearl":
        return out
    gamma = params.gamma
    one_target = placement.target_model.forward_cost(
        1, batch=params.batch, context=ctx, dtype_bytes=placement.dtype_bytes
    )
    one_draft = placement.draft_cost(1, ctx)
    c_hat, b_hat = one_draft.flops / one_target.flops, one_draft.bytes / one_target.bytes
    if params.temperature == 0:
        return out | _greedy_analytic(plan, c, step, c_hat, b_hat)
    tokens_per_step = costs.expected_tokens_per_step(alpha, gamma)
    return out | {
        "tokens_per_step": tokens_per_step,
        "speedup": costs.speedup(alpha, gamma, c),
        "time_per_token_s": costs.time_per_token(alpha, gamma, c, step),
        "target_passes": params.tokens / tokens_per_step,
        "draft_passes": gamma * params.tokens / tokens_per_step,
        "flops_ratio": costs.arithmetic_operations_factor(alpha, gamma, c_hat),
        "memory_read_ratio": costs.bytes_read_factor(alpha, gamma, b_hat),
        "optimal_gamma": costs.optimal_gamma(alpha, c),
    }


_LEVIATHAN = "Leviathan, Kalman & Matias, ICML 2023"
_IID = "i.i.d. acceptance at the expected alpha; T and c at the run's mean context length"
_SAMPLED = "sampled acceptance"
_NO_CLOSED_FORM = {
    "tree": "SpecInfer's token tree (Miao et al. 2023): its accepted length depends on the "
    "tree's shape and the models' joint distribution; measured only",
    "pearl": "PEARL (Liu et al. 2024) drafts while the target verifies and adapts its draft "
    "length by itself; measured only (alpha and c are predicted)",
    "medusa": "Medusa's typical acceptance (Cai et al. 2024) has no closed form for its "
    "accepted length; measured only",
}
_FORMULAS = {
    "tokens_per_step": ("(1-α^(γ+1))/(1-α)", "Eq. 1"),
    "speedup": ("(1-α^(γ+1))/((1-α)(γc+1))", "Thm 3.8"),
    "time_per_token_s": ("T(γc+1)/E(tokens per step)", "proof of Thm 3.8"),
    "target_passes": ("tokens / E(tokens per step)", "Eq. 1"),
    "draft_passes": ("γ · tokens / E(tokens per step)", "Eq. 1"),
    "flops_ratio": ("(γĉ+γ+1)/E(tokens per step)", "Thm 3.11"),
    "memory_read_ratio": ("(γb̂+1)/E(tokens per step)", "§3.4"),
    "optimal_gamma": ("argmax over γ of Thm 3.8", "§3.5"),
}


def analytic_notes(plan: SpeculativePlan) -> dict[str, AnalyticNote]:
    """What each analytic value is, for the table: Leviathan et al.'s formulas under i.i.d.
    acceptance for the chain methods, and "no closed form" for tree, PEARL and Medusa."""
    method = plan.params.method
    notes = {
        "baseline_time_per_token_s": AnalyticNote(
            "T: one target step, roofline of its FLOPs and bytes plus the device's launch "
            "overhead per kernel (5 per block, the embedding and the LM head)",
            "the run's mean context length",
            "context grows per token",
        )
    }
    if method == "autoregressive":
        plain = AnalyticNote("plain decoding: one target pass per token")
        return notes | {name: plain for name in _FORMULAS}
    if method in _NO_CLOSED_FORM:
        none = AnalyticNote(None, _NO_CLOSED_FORM[method])
        notes |= {name: none for name in (*_FORMULAS, "alpha")}
    if method not in CHAIN:
        return notes
    notes["alpha"] = AnalyticNote(
        f"E(Σ_x min(p(x), q(x))) over the target's stationary states [{_LEVIATHAN}, Cor. 3.6]",
        "the toy target and draft",
        _SAMPLED,
    )
    notes["cost_coefficient"] = AnalyticNote(
        f"c = draft step / target step [{_LEVIATHAN}, Def. 3.7]", "the run's mean context length"
    )
    if method == "pearl":
        return notes
    if plan.params.temperature == 0:
        return notes | _greedy_notes(plan.placement.remote)
    for name, (formula, where) in _FORMULAS.items():
        notes[name] = AnalyticNote(f"{formula} [{_LEVIATHAN}, {where}]", _IID, _SAMPLED)
    return notes


_PATH = "the acceptance sequence along the target's greedy path (Algorithm 1 at T = 0)"


def _greedy_notes(remote: bool) -> dict[str, AnalyticNote]:
    """Temperature 0: the values follow the greedy path; the i.i.d. formula is shown beside."""
    per_round = f"(γc+1)·T per round [{_LEVIATHAN}, proof of Thm 3.8]"
    departs = (
        "every round's drafts and verdict cross the network"
        if remote
        else "a verify pass reads γ+1 tokens' KV, not T's one"
    )
    return {
        "alpha": AnalyticNote(f"accepted / tested along {_PATH}", "the toy target and draft"),
        "alpha_stationary": AnalyticNote(
            f"E(Σ_x min(p, q)) over the target's stationary states [{_LEVIATHAN}, Cor. 3.6]",
            "greedy cycles averaged; the run stays in one",
        ),
        "tokens_per_step": AnalyticNote(f"tokens / rounds along {_PATH}", "deterministic"),
        "target_passes": AnalyticNote(f"rounds along {_PATH}", "deterministic"),
        "draft_passes": AnalyticNote(f"γ · rounds along {_PATH}", "deterministic"),
        "speedup": AnalyticNote(
            f"tokens / (rounds·(γc+1)), {per_round}",
            "T and c at the run's mean context length",
            departs,
        ),
        "time_per_token_s": AnalyticNote(
            f"rounds·(γc+1)·T / tokens, {per_round}",
            "T and c at the run's mean context length",
            departs,
        ),
        "tokens_per_step_iid": AnalyticNote(
            f"(1-α^(γ+1))/(1-α) at the path's α [{_LEVIATHAN}, Eq. 1]", "i.i.d. acceptance"
        ),
        "speedup_iid": AnalyticNote(
            f"(1-α^(γ+1))/((1-α)(γc+1)) at the path's α [{_LEVIATHAN}, Thm 3.8]",
            "i.i.d. acceptance",
        ),
        "iid_departure_fraction": AnalyticNote(
            "tokens_per_step / tokens_per_step_iid - 1: how far the greedy path's clustered "
            "acceptances depart from Eq. 1's i.i.d. model"
        ),
    }


def _details() -> list[str]:
    """The methods and Leviathan et al.'s formulas, for ``clustersim list``."""
    return [
        "methods: " + ", ".join(METHODS) + " (medusa is not distribution-preserving)",
        "tokens_per_step = (1-a^(g+1))/(1-a); speedup = (1-a^(g+1))/((1-a)(g c+1)); "
        "ops = (1-a)(g c^+g+1)/(1-a^(g+1))  [Leviathan et al. 2023, Eq. 1, Thm 3.8, Thm 3.11]",
    ]


def estimate(plan: SpeculativePlan) -> Work:
    """Events before the run: every generated token costs a few events per drafted position,
    and the autoregressive baseline a few more (measured: 9.3 per token at gamma 5 for
    ``scenarios/speculative_gamma_sweep.yaml``)."""
    params = plan.params
    events = params.tokens * (max(params.gamma, 1) + 4) + 2 * params.tokens
    return Work(events=events, knob="workload.tokens or workload.gamma")


KIND = WorkloadKind(
    name="speculative_decoding",
    description="LLM decoding: autoregressive, speculative, tree, PEARL, Medusa, "
    "self-speculative; timed, counted and checked",
    params=SpeculativeParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
    analytic_notes=analytic_notes,
)
