"""The ``workload`` of ``kind: early_exit`` (BranchyNet): the network, its exits, the data, the
training and how inference is timed.

Checks that need only the parameters live here (a negative threshold, a non-positive weight);
that an exit reads a layer the main network has is the kind's ``prepare`` step, which builds
the network.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clustersim.errors import InputError
from clustersim.kinds.validation import positive, positive_int

__all__ = [
    "DataModel",
    "EarlyExitParams",
    "ExitModel",
    "MainModel",
    "TrainingModel",
    "check_threshold",
]


def check_threshold(value: float, what: str = "threshold") -> float:
    """``value`` if it is a finite number >= 0 (an entropy in nats); else an InputError."""
    if not (value >= 0 and math.isfinite(value)):
        raise InputError(
            f"{what} must be a non-negative entropy in nats (0 never exits early; log(classes) "
            f"lets every sample out), got {value!r}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExitModel(_Strict):
    """One side exit (branch) of the main network."""

    after: int = Field(description="index of the main layer whose output the branch reads")
    threshold: float = Field(description="entropy threshold T_n in nats: leave if entropy < T_n")
    weight: float = Field(1.0, description="weight w_n of this exit's loss in joint training")
    conv: int = Field(0, description="filters of the branch's conv block (0: only the FC layer)")

    @field_validator("after", "conv")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        return positive_int(value, minimum=0)

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        return check_threshold(value)

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: float) -> float:
        return positive(value, "the loss weight")


class MainModel(_Strict):
    """The main network: conv blocks (3×3 conv, ReLU, 2×2 max-pool), Flatten, FC layers."""

    channels: list[int] = Field(
        default_factory=lambda: [8, 16, 16], description="filters of each conv block"
    )
    hidden: int | None = Field(None, description="width of a hidden FC layer (none by default)")
    final_weight: float = Field(1.0, description="loss weight of the main network's own exit")

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[int]) -> list[int]:
        if not value:
            raise InputError("needs at least one conv block")
        return [positive_int(v) for v in value]

    @field_validator("hidden")
    @classmethod
    def _hidden(cls, value: int | None) -> int | None:
        return None if value is None else positive_int(value)

    @field_validator("final_weight")
    @classmethod
    def _weight(cls, value: float) -> float:
        return positive(value, "the loss weight")


class DataModel(_Strict):
    """The synthetic image task (:class:`clustersim.datasets.SyntheticImages`), drawn from the
    scenario seed: difficulty uniform in [0, 1] per sample."""

    classes: int = 10
    image_size: int = 16
    channels: Literal[1, 3] = 1
    train_samples: int = 2000
    test_samples: int = 1000

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: int) -> int:
        return positive_int(value, minimum=2)

    @field_validator("image_size")
    @classmethod
    def _size(cls, value: int) -> int:
        return positive_int(value, minimum=4)

    @field_validator("train_samples", "test_samples")
    @classmethod
    def _samples(cls, value: int) -> int:
        return positive_int(value)


class TrainingModel(_Strict):
    """Joint training: SGD with momentum on ``Σ_n w_n · CE(exit_n)``."""

    epochs: int = 4
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9

    @field_validator("epochs", "batch_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("lr")
    @classmethod
    def _lr(cls, value: float) -> float:
        return positive(value, "the learning rate")

    @field_validator("momentum")
    @classmethod
    def _momentum(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise InputError(f"momentum must be in [0, 1), got {value!r}")
        return value


class EarlyExitParams(_Strict):
    """Parameters of ``kind: early_exit``."""

    kind: Literal["early_exit"] = "early_exit"
    device: str | None = Field(None, description="where inference runs (default: first device)")
    model: MainModel = Field(default_factory=MainModel)
    exits: list[ExitModel] = Field(description="the side exits, in the order samples meet them")
    data: DataModel = Field(default_factory=DataModel)
    training: TrainingModel = Field(default_factory=TrainingModel)
    batch: int = Field(1, description="samples per inference batch (1: one at a time)")
    dtype: Literal["float32", "float64"] = "float32"
    sweep: list[float | list[float]] = Field(
        default_factory=list,
        description="thresholds for the accuracy-latency curve: one value for every exit, or "
        "one list with a value per exit",
    )

    @field_validator("batch")
    @classmethod
    def _batch(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("exits")
    @classmethod
    def _exits(cls, value: list[ExitModel]) -> list[ExitModel]:
        if not value:
            raise InputError("needs at least one side exit")
        return value

    @field_validator("sweep")
    @classmethod
    def _sweep(cls, value: list[float | list[float]]) -> list[float | list[float]]:
        for i, point in enumerate(value):
            for t in point if isinstance(point, list) else [point]:
                check_threshold(t, f"point {i}: a threshold")
        return value
