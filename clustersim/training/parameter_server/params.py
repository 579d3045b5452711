"""The ``workload`` of ``kind: parameter_server``: servers, workers, compute, mode and stragglers.

Checks that need only the parameters live here (a staleness bound without ``mode: ssp``, a
``model_size`` that is not whole elements); those that need the cluster (how many devices are
left to be workers, ``role: ps`` nodes) run in the kind's ``prepare``
(:mod:`~clustersim.training.parameter_server.layout`), through :func:`check_worker_counts` once
the worker count is known.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.errors import InputError
from clustersim.kinds.validation import positive, positive_int, validate_nested
from clustersim.units import Bytes, Flops, format_bytes, parse_flops, parse_time

__all__ = [
    "ComputeWork",
    "ParameterServerParams",
    "StragglerDistribution",
    "check_worker_counts",
]


class ComputeWork(BaseModel):
    """Per-iteration work of a worker, timed with its device's roofline plus ``kernels`` launch
    overheads (:meth:`clustersim.hardware.spec.DeviceSpec.kernel_time`)."""

    model_config = ConfigDict(extra="forbid")

    flops: Flops = Field(description="FLOP per iteration per worker, e.g. 2 TFLOP")
    bytes: Bytes = Field(0.0, description="bytes of device memory traffic per iteration")
    kernels: int = Field(
        1,
        description="kernels the iteration's compute launches; each pays the device's "
        "launch_overhead",
    )

    @field_validator("flops", "bytes")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if not value >= 0:
            raise InputError(f"must be non-negative, got {value!r}")
        return value

    @field_validator("kernels")
    @classmethod
    def _kernels(cls, value: int) -> int:
        return positive_int(value, 0)


class StragglerDistribution(BaseModel):
    """A random per-worker, per-iteration compute slowdown factor."""

    model_config = ConfigDict(extra="forbid")

    dist: Literal["lognormal", "exponential"]
    sigma: float = Field(0.5, description="lognormal: std-dev of log f")
    mu: float = Field(0.0, description="lognormal: mean of log f (median e^mu)")
    scale: float = Field(1.0, description="exponential: mean of f - 1")

    @model_validator(mode="after")
    def _fields_match_dist(self) -> StragglerDistribution:
        own = {"lognormal": {"sigma", "mu"}, "exponential": {"scale"}}[self.dist]
        foreign = sorted((self.model_fields_set - {"dist"}) - own)
        if foreign:
            raise InputError(
                f"{', '.join(foreign)} does not apply to dist {self.dist!r}; "
                f"its parameters are {', '.join(sorted(own))}"
            )
        # Bounds: a factor beyond about e^40 is a dead worker, not a straggler, and its compute
        # times overflow the clock; real straggler spreads are far inside them (Dean & Barroso,
        # "The tail at scale", CACM 56(2), 2013: tail latencies of a few times the median).
        for name in sorted(own):
            value = getattr(self, name)
            if name == "mu" and not (math.isfinite(value) and abs(value) <= 20):
                raise InputError(f"mu must be a finite number with |mu| <= 20, got {value!r}")
            if name == "sigma":
                positive(value, name, maximum=5.0)
            elif name == "scale":
                positive(value, name, maximum=1e6)
        return self

    def shape(self) -> dict[str, float]:
        """Keyword arguments of this distribution for
        :func:`~clustersim.training.parameter_server.costs.expected_order_statistic`."""
        if self.dist == "lognormal":
            return {"mu": self.mu, "sigma": self.sigma}
        return {"scale": self.scale}

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Slowdown factors of the given shape."""
        if self.dist == "lognormal":
            return rng.lognormal(self.mu, self.sigma, size=shape)
        return 1.0 + rng.exponential(self.scale, size=shape)


_FLOP_STRING = re.compile(r"FLOP\s*$")


class ParameterServerParams(BaseModel):
    """Parameters of ``kind: parameter_server``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["parameter_server"] = "parameter_server"
    workers: int | None = Field(
        None, ge=1, description="worker count (default: every device that is not a server)"
    )
    servers: int | None = Field(
        None,
        ge=1,
        description="server count, parameters sharded evenly (default: the role: ps nodes, else 1)",
    )
    model_size: Bytes = Field(description="G: bytes of gradients (= bytes of parameters)")
    dtype: Literal["float16", "float32", "float64"] = Field(
        "float32", description="gradient element type: shards are whole elements"
    )
    compute: float | ComputeWork = Field(
        0.0,
        description="per-iteration compute per worker: a time (20 ms, taken whole) or FLOPs "
        "(2 TFLOP, or {flops, bytes, kernels}) run on the device roofline plus its launch "
        "overhead per kernel",
    )
    iterations: int = Field(10, ge=1)
    mode: Literal["sync", "async", "ssp"] = "sync"
    staleness: int | None = Field(None, ge=0, description="ssp: the clock-gap bound")
    backup_workers: int = Field(
        0, ge=0, description="sync: proceed with the first workers - backup_workers gradients"
    )
    stragglers: StragglerDistribution | list[float] | None = Field(
        None,
        description="compute slowdown: {dist: lognormal, sigma: 0.5}, {dist: exponential, "
        "scale: 1}, or one factor per worker",
    )
    verify: bool = Field(False, description="replay the sharded aggregation on numpy gradients")

    @field_validator("compute", mode="before")
    @classmethod
    def _parse_compute(cls, value: Any) -> Any:
        if isinstance(value, ComputeWork):
            return value
        if isinstance(value, dict):
            return validate_nested(ComputeWork, value)
        if isinstance(value, str) and _FLOP_STRING.search(value):
            return {"flops": parse_flops(value)}
        try:
            seconds = parse_time(value)
        except InputError as exc:
            raise InputError(
                f"compute must be a time such as '20 ms', a FLOP count such as '2 TFLOP', or "
                f"{{flops: ..., bytes: ...}}; {exc}"
            ) from None
        if seconds < 0:
            raise InputError(f"compute must be a non-negative time, got {value!r}")
        return seconds

    @field_validator("model_size")
    @classmethod
    def _positive_size(cls, value: float) -> float:
        return positive(value, "model_size", unit="bytes")

    @field_validator("stragglers", mode="before")
    @classmethod
    def _parse_stragglers(cls, value: Any) -> Any:
        if value is None or isinstance(value, StragglerDistribution):
            return value
        if isinstance(value, dict):
            return validate_nested(StragglerDistribution, value)
        if (
            isinstance(value, list)
            and value
            and all(
                isinstance(f, (int, float))
                and not isinstance(f, bool)
                and math.isfinite(f)
                and f > 0
                for f in value
            )
        ):
            return [float(f) for f in value]
        raise InputError(
            "expected {dist: lognormal, sigma: 0.5}, {dist: exponential, scale: 1} or a list "
            f"with one positive finite factor per worker, got {value!r}"
        )

    @model_validator(mode="after")
    def _consistent(self) -> ParameterServerParams:
        if self.model_size % self.itemsize:
            raise InputError(
                f"model_size {format_bytes(self.model_size)} is not a whole number of "
                f"{self.dtype} elements ({self.itemsize} B each)"
            )
        if self.mode == "ssp" and self.staleness is None:
            raise InputError("mode ssp needs a staleness bound (staleness: 0, 1, 2, ...)")
        if self.mode != "ssp" and self.staleness is not None:
            raise InputError(
                f"staleness ({self.staleness}) applies only to mode ssp, got mode {self.mode!r}"
            )
        if self.backup_workers and self.mode != "sync":
            raise InputError(
                f"backup_workers ({self.backup_workers}) applies only to mode sync, "
                f"got mode {self.mode!r}"
            )
        if self.workers is not None:
            check_worker_counts(self, self.workers)
        return self

    @property
    def itemsize(self) -> int:
        """Bytes of one gradient element."""
        return np.dtype(self.dtype).itemsize


def check_worker_counts(params: ParameterServerParams, workers: int) -> None:
    """The checks that need the worker count: given, or resolved from the cluster."""
    if params.backup_workers >= workers:
        raise InputError(
            f"backup_workers ({params.backup_workers}) must be less than workers ({workers}): "
            "a step needs at least one gradient"
        )
    if isinstance(params.stragglers, list) and len(params.stragglers) != workers:
        raise InputError(
            f"stragglers: a fixed list needs one factor per worker ({workers}), got "
            f"{len(params.stragglers)} factors"
        )
