"""The ``workload`` of ``kind: fedmarl``: the federated episode, the reward, the agents.

``federated`` is a ``kind: federated`` workload (without its ``kind``): the clients, their
devices and links, the data, the model and the rounds of one episode. The agents decide every
round which clients take part, so its own selection knobs (``fraction``,
``clients_per_round``) do not apply, and it must train (the reward needs the accuracy and the
agents the probing losses) and evaluate every round.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.errors import InputError
from clustersim.federated.params import FederatedParams
from clustersim.kinds.validation import validate_nested

__all__ = ["AgentParams", "EvaluationParams", "FedMARLParams", "RewardWeights"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RewardWeights(_Strict):
    """``weights``: the notes' ``w1, w2, w3`` of ``w1·Acc(T) - w2·Σ H_t - w3·Σ B_t``."""

    accuracy: float = Field(1.0, description="w1, per unit of final test accuracy")
    latency: float = Field(0.0, description="w2, per second of round latency")
    bandwidth: float = Field(0.0, description="w3, per MB (1e6 bytes) uploaded")

    @model_validator(mode="after")
    def _weights(self) -> RewardWeights:
        for name in ("accuracy", "latency", "bandwidth"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise InputError(f"{name} must be a finite weight >= 0, got {value!r}")
        if not (self.accuracy or self.latency or self.bandwidth):
            raise InputError(
                "the reward weights are all zero (accuracy, latency, bandwidth): every policy "
                "would score 0; give at least one a positive weight"
            )
        return self

    @property
    def triple(self) -> tuple[float, float, float]:
        return (self.accuracy, self.latency, self.bandwidth)


class AgentParams(_Strict):
    """``agent``: each client's policy network and its training."""

    hidden: int = Field(16, ge=1, description="hidden units of each agent's two-layer MLP")
    lr: float = Field(0.03, gt=0, description="Adam's step size")
    baseline_decay: float = Field(
        0.8, description="decay of the moving-average baseline of the returns"
    )
    participation: float = Field(
        0.5, description="every agent's initial probability of taking part"
    )

    @model_validator(mode="after")
    def _ranges(self) -> AgentParams:
        if not 0 <= self.baseline_decay < 1:
            raise InputError(f"baseline_decay must be in [0, 1), got {self.baseline_decay!r}")
        if not 0 < self.participation < 1:
            raise InputError(f"participation must be in (0, 1), got {self.participation!r}")
        return self


class EvaluationParams(_Strict):
    """``evaluation``: the policies compared after training, on the same seeds."""

    seeds: int = Field(3, ge=1, description="evaluation episodes per policy")
    drop_rates: list[float] = Field(
        default_factory=lambda: [0.25, 0.5, 0.75],
        description="random dropping: each round a uniform (1 - rate) share of the clients",
    )

    @field_validator("drop_rates")
    @classmethod
    def _rates(cls, value: list[float]) -> list[float]:
        for i, rate in enumerate(value):
            if not 0 < rate < 1:
                raise InputError(f"drop_rates [{i}] must be in (0, 1), got {rate!r}")
        return value


class FedMARLParams(_Strict):
    """Parameters of ``kind: fedmarl``."""

    kind: Literal["fedmarl"] = "fedmarl"
    federated: FederatedParams = Field(description="one episode: a kind: federated workload")
    weights: RewardWeights = Field(default_factory=RewardWeights)
    episodes: int = Field(40, ge=1, description="training episodes of the agents")
    agent: AgentParams = Field(default_factory=AgentParams)
    evaluation: EvaluationParams = Field(default_factory=EvaluationParams)
    verify: bool = True

    @field_validator("federated", mode="before")
    @classmethod
    def _episode(cls, value: Any) -> Any:
        if isinstance(value, FederatedParams):
            return value
        if not isinstance(value, dict):
            raise InputError(f"expected a federated workload (a mapping), got {value!r}")
        data = {k: v for k, v in value.items() if k != "kind"}
        if value.get("kind", "federated") != "federated":
            raise InputError(f"kind must be federated (or omitted), got {value.get('kind')!r}")
        for name in ("fraction", "clients_per_round", "compare", "selection"):
            if name in data:
                raise InputError(
                    f"{name} does not apply: the agents (or, for the baselines, everyone and "
                    "random dropping) choose the clients of every round"
                )
        if data.get("train", True) is not True:
            raise InputError(
                "train must be true: the reward needs the accuracy and the agents the probing "
                "losses"
            )
        if data.get("eval_every", 1) != 1:
            raise InputError("eval_every must be 1: the reward of a round needs its accuracy")
        return validate_nested(FederatedParams, data)
