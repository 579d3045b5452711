"""The ``workload`` of ``kind: leakage``: the victim's model and data, the attack, the defences.

Checks that need only the parameters live here (a sparsity outside [0, 1), a noise variance
≤ 0, fields that do not apply to a defence); those that need the cluster (the victim and the
attacker are devices) or that tie the attack to the model (the analytic attack needs a first
layer with a bias, DLG a twice-differentiable activation) run in
:func:`clustersim.federated.leakage.kind.prepare`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.errors import InputError
from clustersim.federated.params import DatasetParams

__all__ = ["AttackParams", "DefenceParams", "LeakageModelParams", "LeakageParams", "UtilityParams"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeakageModelParams(_Strict):
    """``model``: the client's MLP (hidden widths, activation, biases)."""

    hidden: list[int] = Field(default_factory=lambda: [32], description="hidden widths")
    activation: Literal["sigmoid", "tanh", "relu"] = Field(
        "sigmoid", description="DLG needs a twice-differentiable one (sigmoid, tanh)"
    )
    bias: bool = Field(True, description="biases on every layer (the analytic attack needs one)")

    @field_validator("hidden")
    @classmethod
    def _widths(cls, value: list[int]) -> list[int]:
        if any(h < 1 for h in value):
            raise InputError(f"hidden widths must be positive integers, got {value}")
        return value


class AttackParams(_Strict):
    """``attack``: which attacks the server runs, and DLG's optimiser."""

    method: Literal["dlg", "analytic", "both"] = "both"
    iterations: int = Field(300, ge=1, description="DLG: L-BFGS iterations at most")
    memory: int = Field(10, ge=1, description="DLG: L-BFGS pairs kept")
    tolerance: float = Field(
        1e-20, ge=0, description="DLG: stop when the matching loss is at most this"
    )
    leak_psnr_db: float = Field(
        20.0, description="a reconstruction at least this PSNR counts as leaked"
    )

    @property
    def dlg(self) -> bool:
        return self.method in ("dlg", "both")

    @property
    def analytic(self) -> bool:
        return self.method in ("analytic", "both")


_DEFENCE_FIELDS = {
    "none": set(),
    "prune": {"sparsity"},
    "noise": {"variance"},
    "fp16": set(),
    "int8": set(),
    "batch": {"size"},
    "dgc": {"sparsity", "momentum"},
    "terngrad": set(),
}


class DefenceParams(_Strict):
    """One defence (:mod:`clustersim.federated.leakage.defences`)."""

    kind: Literal["none", "prune", "noise", "fp16", "int8", "batch", "dgc", "terngrad"]
    sparsity: float = Field(0.2, description="prune, dgc: share of each tensor's entries zeroed")
    variance: float = Field(1e-3, description="noise: variance of the Gaussian noise")
    size: int = Field(4, description="batch: the victim's batch size")
    momentum: float = Field(0.0, description="dgc: momentum of the momentum correction")

    @model_validator(mode="after")
    def _fields(self) -> DefenceParams:
        foreign = sorted((self.model_fields_set - {"kind"}) - _DEFENCE_FIELDS[self.kind])
        if foreign:
            own = sorted(_DEFENCE_FIELDS[self.kind])
            raise InputError(
                f"{', '.join(foreign)} does not apply to defence {self.kind!r}"
                + (f"; its fields are {', '.join(own)}" if own else "")
            )
        if not 0 <= self.sparsity < 1:
            raise InputError(f"sparsity must be a share in [0, 1), got {self.sparsity!r}")
        if not self.variance > 0:
            raise InputError(f"variance must be positive, got {self.variance!r}")
        if self.size < 1:
            raise InputError(f"size must be a positive batch size, got {self.size!r}")
        if not 0 <= self.momentum < 1:
            raise InputError(f"momentum must be in [0, 1), got {self.momentum!r}")
        return self


class UtilityParams(_Strict):
    """``utility``: the FedSGD run that prices each defence in accuracy."""

    clients: int = Field(8, ge=1)
    rounds: int = Field(150, ge=1)
    lr: float = Field(0.5, gt=0)
    batch_size: int | None = Field(
        None, ge=1, description="each client's minibatch (default: the victim's batch_size)"
    )


class LeakageParams(_Strict):
    """Parameters of ``kind: leakage``."""

    kind: Literal["leakage"] = "leakage"
    client: str | None = Field(None, description="the victim (default: the first client device)")
    server: str | None = Field(
        None, description="the attacker, an honest-but-curious server (default: 'cloud' or the "
        "last device)",
    )  # fmt: skip
    model: LeakageModelParams = Field(default_factory=LeakageModelParams)
    dataset: DatasetParams = Field(
        default_factory=lambda: DatasetParams(name="images", samples=2000, test_samples=500)
    )
    batch_size: int = Field(1, ge=1, description="the victim's batch (a batch defence raises it)")
    targets: int = Field(2, ge=1, description="private batches attacked under every defence")
    attack: AttackParams = Field(default_factory=AttackParams)
    defences: list[DefenceParams] = Field(
        default_factory=lambda: [DefenceParams(kind="none")],
        description="the defences compared, each attacked on the same private batches",
    )
    utility: UtilityParams | None = Field(
        default_factory=UtilityParams, description="null: do not price the defences"
    )
    verify: bool = True
    images: bool = Field(
        False,
        description="also report the first private sample, its reconstructions and DLG's loss "
        "per iteration (for plots)",
    )

    @field_validator("defences")
    @classmethod
    def _some(cls, value: list[DefenceParams]) -> list[DefenceParams]:
        if not value:
            raise InputError("defences: the list is empty; give at least {kind: none}")
        return value
