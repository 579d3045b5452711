"""The ``workload`` of ``kind: ddnn``: end devices, aggregators, exits, model sizes, data.

Checks that need only the parameters live here (thresholds outside [0, 1], non-positive
filters); those that need the cluster (the devices and aggregators exist, a failed device is
one of the end devices, not all of them fail) are the kind's ``prepare`` step.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clustersim.errors import InputError
from clustersim.inference.early_exit.params import DataModel, TrainingModel
from clustersim.kinds.validation import positive, positive_int
from clustersim.units import Bytes

__all__ = ["Aggregation", "DdnnData", "DdnnParams", "DdnnTraining", "Thresholds", "Weights"]

Aggregation = Literal["max", "average", "concat"]
"""MP, AP and CC of DDNN §III-B."""


def _unit_interval(value: float) -> float:
    if not (0 <= value <= 1 and math.isfinite(value)):
        raise InputError(
            f"must be a normalized entropy threshold in [0, 1] (0: never exit here, 1: always), "
            f"got {value!r}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Thresholds(_Strict):
    """Normalized-entropy thresholds of the exits below the cloud (DDNN §III-D)."""

    local: float = 0.5
    edge: float = 0.5

    @field_validator("local", "edge")
    @classmethod
    def _check(cls, value: float) -> float:
        return _unit_interval(value)


class Weights(_Strict):
    """Loss weights of the exits in joint training."""

    local: float = 1.0
    edge: float = 1.0
    cloud: float = 1.0

    @field_validator("local", "edge", "cloud")
    @classmethod
    def _check(cls, value: float) -> float:
        return positive(value, "the loss weight")


class DdnnData(DataModel):
    """The multi-view synthetic task: every object seen by each end device's camera."""

    train_samples: int = 1000
    test_samples: int = 500


class DdnnTraining(TrainingModel):
    """Joint training of every device, aggregator and tier."""

    lr: float = 0.02


class DdnnParams(_Strict):
    """Parameters of ``kind: ddnn``."""

    kind: Literal["ddnn"] = "ddnn"
    devices: list[str] | None = Field(
        None, description="the end devices (default: the topology's device-tier nodes)"
    )
    aggregator: str | None = Field(
        None, description="local aggregator and edge tier (default: the first edge-tier node)"
    )
    cloud: str | None = Field(None, description="the cloud tier (default: the cloud-tier node)")
    local_aggregation: Aggregation = Field("max", description="of the devices' class scores")
    cloud_aggregation: Aggregation = Field(
        "concat", description="of the devices' feature maps, at the edge or in the cloud"
    )
    edge_exit: bool = Field(False, description="an exit at the aggregator between local and cloud")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    weights: Weights = Field(default_factory=Weights)
    device_filters: int = Field(4, description="filters of each device's ConvP block")
    edge_filters: int = Field(16, description="filters of the edge's ConvP block")
    cloud_filters: int = Field(16, description="filters of the cloud's ConvP block")
    binary: bool = Field(True, description="binary device feature maps (eBNN), 1 bit each")
    shared: bool = Field(False, description="every device runs the same weights")
    failed: list[str] = Field(default_factory=list, description="end devices that are down")
    request_bytes: Bytes = Field(1.0, description="the aggregator's request for feature maps")
    data: DdnnData = Field(default_factory=DdnnData)
    training: DdnnTraining = Field(default_factory=DdnnTraining)
    dtype: Literal["float32", "float64"] = "float32"
    sweep: list[float] = Field(
        default_factory=list, description="local-exit thresholds for the exit/bytes/accuracy curve"
    )

    @field_validator("device_filters", "edge_filters", "cloud_filters")
    @classmethod
    def _filters(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("request_bytes")
    @classmethod
    def _request(cls, value: float) -> float:
        return positive(value, "request_bytes", unit="bytes")

    @field_validator("sweep")
    @classmethod
    def _sweep(cls, value: list[float]) -> list[float]:
        return [_unit_interval(v) for v in value]
