"""The parameters of ``kind: speculative_decoding``, and the values derived from them.

Every check here needs the parameters alone; the checks that need the cluster (the devices
exist, a Medusa or self-speculative draft stays on the target's device) are the kind's
``prepare`` step (:mod:`~clustersim.inference.speculative.kind`).

Toy-model assumption: the draft's acceptance rate comes from ``draft_quality`` (default 0.7;
for ``self_speculative`` 0.5 + 0.5 x exit_layer / layers, an assumption that deeper exits draft
better), not from the architectures, which only set the costs.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from clustersim.errors import InputError
from clustersim.inference.speculative.models import TransformerConfig, get_model
from clustersim.kinds.validation import positive, positive_int

__all__ = ["DEFAULT_DRAFT_QUALITY", "MAX_CHECK_POSITIONS", "METHODS", "Method", "SpeculativeParams"]

Method = Literal["autoregressive", "speculative", "tree", "pearl", "medusa", "self_speculative"]
METHODS: tuple[str, ...] = get_args(Method)
"""Every decoding method, in the order ``clustersim list`` shows them."""
DEFAULT_DRAFT_QUALITY = 0.7
MAX_CHECK_POSITIONS = 8
"""The output check tests at most this many positions after the prefix."""


class SpeculativeParams(BaseModel):
    """Parameters of ``kind: speculative_decoding``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["speculative_decoding"] = "speculative_decoding"
    method: Method = Field("speculative", description="decoding method")
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
    def _at_least_one(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("prompt_tokens")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        return positive_int(value, 0)

    @field_validator("exit_layer")
    @classmethod
    def _exit(cls, value: int | None) -> int | None:
        return value if value is None else positive_int(value)

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, value: float) -> float:
        if not (value >= 0 and np.isfinite(value)):
            raise InputError(
                f"temperature must be a finite number >= 0 (0 is greedy), got {value!r}"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _launch_overhead_is_the_devices(cls, data: Any) -> Any:
        if isinstance(data, dict) and "launch_overhead" in data:
            raise InputError(
                "launch_overhead is a property of the device, not of the workload: set it on "
                "the device (cluster.device: {preset: A100, launch_overhead: 4 us}, or "
                "cluster.devices.<node>), where every kind uses it; the GPU presets already "
                "carry 5 us per kernel"
            )
        return data

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
        return positive(value, "target_sharpness")

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
    def _expansion(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
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
    def _unit_interval(cls, value: float, info: ValidationInfo) -> float:
        if not 0 < value <= 1:
            raise InputError(f"{info.field_name} must be in (0, 1], got {value!r}")
        return value

    @field_validator("check_significance")
    @classmethod
    def _significance(cls, value: float) -> float:
        if not 0 < value < 1:
            raise InputError(f"check_significance must be in (0, 1) such as 0.001, got {value!r}")
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

    @property
    def mean_context(self) -> float:
        """The mean KV-cache length over the run: a memory-bound step's time is linear in it.

        Plain decoding runs its ``N`` steps at contexts ``P, P + 1, ..., P + N - 1``: their
        mean is ``P + (N - 1)/2``, at which one step's time is the mean step's exactly.
        """
        return self.prompt_tokens + (self.tokens - 1) / 2
