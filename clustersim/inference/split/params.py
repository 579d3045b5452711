"""The ``workload`` of ``kind: split`` (Neurosurgeon): the model, where it may run, the
objective, and optional measured per-layer tables and power models.

Checks that need only the parameters live here (a negative power or layer time); those that
need the model or the cluster (a split point out of range, a table whose length is not the
model's layer count, devices that do not exist) are the kind's ``prepare`` step.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clustersim.errors import InputError
from clustersim.kinds.validation import positive_int
from clustersim.units import Seconds

__all__ = ["PowerModel", "SplitParams"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PowerModel(_Strict):
    """A device's power in watts while computing, idle (waiting) and transmitting."""

    compute_w: float
    idle_w: float
    transmit_w: float

    @field_validator("compute_w", "idle_w", "transmit_w")
    @classmethod
    def _watts(cls, value: float) -> float:
        if not (value >= 0 and math.isfinite(value)):
            raise InputError(f"must be a non-negative power in watts, got {value!r}")
        return value


class SplitParams(_Strict):
    """Parameters of ``kind: split``."""

    kind: Literal["split"] = "split"
    model: Literal["vgg16", "alexnet", "small_cnn"] = "vgg16"
    image_size: int = Field(224, description="input height and width")
    channels: int = Field(3, description="input channels")
    classes: int = 1000
    dtype: Literal["float32", "float16"] = Field(
        "float32", description="of weights, activations and what is sent"
    )
    mobile: str | None = Field(None, description="the mobile device (default: the first device)")
    cloud: str | None = Field(None, description="the cloud device (default: the cloud-tier node)")
    objective: Literal["latency", "energy"] = "latency"
    split: Literal["auto"] | int = Field(
        "auto", description="layers run on the mobile (0: all in the cloud), or auto: the best"
    )
    layer_times: dict[str, list[Seconds]] = Field(
        default_factory=dict,
        description="measured per-layer times by device name, one per layer of the model",
    )
    power: dict[str, PowerModel] = Field(
        default_factory=dict, description="power models by device name (default: presets)"
    )
    verify: bool = Field(True, description="run the split and the whole model in numpy")
    verify_image_size: int | None = Field(
        None, description="image size of the numeric check (default: small, per model)"
    )

    @field_validator("image_size", "channels")
    @classmethod
    def _positive(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: int) -> int:
        return positive_int(value, minimum=2)

    @field_validator("verify_image_size")
    @classmethod
    def _verify_size(cls, value: int | None) -> int | None:
        return None if value is None else positive_int(value)

    @field_validator("layer_times")
    @classmethod
    def _times(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, times in value.items():
            for i, t in enumerate(times):
                if not (t >= 0 and math.isfinite(t)):
                    raise InputError(
                        f"{name}.{i}: a layer time must be a non-negative duration, got {t!r}"
                    )
        return value
