"""The ``workload`` of ``kind: pipeline``: what to split, how, and which schedule runs it.

Checks that need only the parameters live here (a batch that micro-batches cannot divide, a
schedule that does not fit the partition); those that need the cluster or the built profile
(enough devices, enough layers) are the kind's ``prepare`` step (:mod:`.layout`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.collectives.params import AllreduceName
from clustersim.errors import InputError
from clustersim.kinds.validation import positive_int
from clustersim.training.profile_schema import ProfileModel

__all__ = ["PipelineParams"]


class PipelineParams(BaseModel):
    """Parameters of ``kind: pipeline``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["pipeline"] = "pipeline"
    profile: ProfileModel = Field(description="the layers: list, generator or builtin")
    stages: int | list[int] | None = Field(
        None,
        description="pipeline devices K, or with schedule pipedream the replicas of each stage "
        "([15, 1]: PipeDream's 15-1); not with partition: planner",
    )
    partition: Literal["even", "balanced", "planner"] | list[int] = Field(
        "even", description="even | balanced | planner | explicit layer counts per stage"
    )
    microbatches: int = Field(description="micro-batches M per minibatch")
    batch: int | dict[int | str, int] | None = Field(
        None,
        description="samples per minibatch per pipeline replica (default: M, one sample per "
        "micro-batch), or a batch per configuration: per depth K ({2: 64, 4: 128}) or per "
        "depth and micro-batches ('4x32': 512), as GPipe adjusted its batch to fit memory",
    )
    matrix_tile: int | None = Field(
        None,
        description="rows per tile of the devices' matrix unit (a TPU MXU: 128); a kernel "
        "reaches rows/(tile·ceil(rows/tile)) of peak (default: the plain roofline)",
    )
    schedule: Literal["naive", "gpipe", "1f1b", "interleaved_1f1b", "pipedream"] = "1f1b"
    chunks: int = Field(1, description="model chunks v per device (interleaved_1f1b)")
    recompute: bool = Field(False, description="keep only stage inputs, recompute before backward")
    replicas: int = Field(1, description="data-parallel pipeline replicas")
    tensor_parallel: int = Field(1, description="tensor-parallel degree t of every stage")
    tensor_parallel_allreduces: int = Field(
        2,
        description="all-reduces per layer in forward and again in backward when t > 1 "
        "(2 for a transformer block, Shoeybi et al. 2019)",
    )
    allreduce_algorithm: AllreduceName = Field(
        "ring", description="all-reduce for gradients and TP"
    )
    devices: list[str] | None = Field(None, description="placement order (default: ranks)")
    verify: bool = Field(False, description="replay a numpy MLP through the schedule")
    weight_stashing: bool = Field(
        True, description="PipeDream weight stashing (false: the negative control)"
    )
    compare: bool = Field(
        True,
        description="with partition planner or stages [r1, r2, ...]: also simulate data "
        "parallelism and an even split",
    )

    @field_validator("microbatches", "chunks", "replicas", "tensor_parallel")
    @classmethod
    def _positive(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("matrix_tile")
    @classmethod
    def _positive_or_none(cls, value: int | None) -> int | None:
        return None if value is None else positive_int(value)

    @field_validator("batch")
    @classmethod
    def _batch(cls, value: int | dict[int | str, int] | None) -> int | dict[int | str, int] | None:
        if isinstance(value, dict):
            if not value:
                raise InputError("a batch per configuration needs at least one entry, got {}")
            for key, batch in value.items():
                if isinstance(key, str):
                    depth, _, micro = key.partition("x")
                    if not (depth.isdigit() and micro.isdigit() and int(depth) and int(micro)):
                        raise InputError(
                            f"key {key!r}: expected a depth K (4) or 'KxM' (4x32) with positive "
                            "integers"
                        )
                else:
                    positive_int(key)
                positive_int(batch)
            return value
        return None if value is None else positive_int(value)

    @field_validator("stages")
    @classmethod
    def _stages(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, list):
            if not value:
                raise InputError("must list at least one stage's replica count, got []")
            for i, r in enumerate(value):
                if isinstance(r, bool) or not isinstance(r, int) or r < 1:
                    raise InputError(
                        f"item {i}: a stage's replica count must be a positive integer, got {r!r}"
                    )
            return value
        return None if value is None else positive_int(value)

    @field_validator("tensor_parallel_allreduces")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise InputError(f"must be a non-negative integer, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PipelineParams:
        m, sched = self.microbatches, self.schedule
        if isinstance(self.batch, dict):
            depth = self.depth
            if depth is None:
                raise InputError(
                    "batch per configuration needs the depth: give stages (or an explicit "
                    "partition), not partition planner"
                )
            if self._batch_key() is None:
                raise InputError(
                    f"batch gives no batch for {depth} stages and {m} micro-batches; it lists "
                    f"{', '.join(str(k) for k in self.batch)}"
                )
        if self.matrix_tile is not None and sched == "pipedream":
            raise InputError(
                "matrix_tile does not apply to schedule pipedream: its data-parallel baseline "
                "prices kernels with the plain roofline; leave it unset"
            )
        batch = self.minibatch
        if batch % m:
            raise InputError(
                f"batch {batch} must be a multiple of microbatches {m} (each "
                "micro-batch holds batch/microbatches samples)"
            )
        if self.partition == "planner":
            if sched != "pipedream":
                raise InputError(
                    f"partition planner needs schedule pipedream (PipeDream's "
                    f"planner plans its asynchronous runtime), got {sched!r}"
                )
            if self.stages is not None or self.replicas != 1 or self.tensor_parallel != 1:
                raise InputError(
                    "partition planner chooses the stages and their replication "
                    "itself; leave stages unset and replicas and tensor_parallel "
                    "at 1"
                )
        else:
            if isinstance(self.stages, list):
                if sched != "pipedream":
                    raise InputError(
                        f"stages {self.stages} lists replicas per stage, which only PipeDream "
                        f"replicates; use schedule pipedream, or stages: {len(self.stages)} "
                        f"with replicas for schedule {sched!r}"
                    )
                if self.replicas != 1:
                    raise InputError(
                        f"stages {self.stages} already gives every stage's replicas; leave "
                        f"replicas at 1 (got {self.replicas})"
                    )
                if isinstance(self.partition, list) and len(self.partition) != len(self.stages):
                    raise InputError(
                        f"partition lists {len(self.partition)} stages but stages gives replica "
                        f"counts for {len(self.stages)}"
                    )
            if isinstance(self.partition, list):
                if not self.partition or any(c < 1 for c in self.partition):
                    raise InputError(
                        f"partition must list a positive layer count per stage, "
                        f"got {self.partition}"
                    )
                if isinstance(self.stages, int) and self.stages * self.chunks != len(
                    self.partition
                ):
                    raise InputError(
                        f"partition lists {len(self.partition)} stages but stages "
                        f"x chunks is {self.stages * self.chunks}"
                    )
                if len(self.partition) % self.chunks:
                    raise InputError(
                        f"partition lists {len(self.partition)} stages, not a multiple of "
                        f"chunks {self.chunks}: each device holds {self.chunks} model chunks"
                    )
            elif self.stages is None:
                raise InputError(f"stages is required with partition {self.partition!r}")
        if sched != "interleaved_1f1b" and self.chunks != 1:
            raise InputError(f"chunks {self.chunks} needs schedule interleaved_1f1b, got {sched!r}")
        if sched == "pipedream" and self.tensor_parallel != 1:
            raise InputError(
                f"tensor_parallel {self.tensor_parallel} does not apply to schedule pipedream "
                "(PipeDream replicates stages, it does not split them); use 1"
            )
        if sched == "interleaved_1f1b":
            p = self.stages if isinstance(self.stages, int) else len(self.partition) // self.chunks
            if m % p:
                raise InputError(
                    f"interleaved_1f1b needs microbatches ({m}) to be a multiple "
                    f"of stages ({p}), as Megatron-LM requires"
                )
        if sched != "pipedream" and not self.weight_stashing:
            raise InputError("weight_stashing: false only applies to schedule pipedream")
        return self

    @property
    def stage_replicas(self) -> list[int]:
        """Replicas of each stage (not for partition ``planner``): ``stages`` when it is a list,
        else ``replicas`` for each of ``stages`` (or ``len(partition)``) stages."""
        if isinstance(self.stages, list):
            return list(self.stages)
        count = self.stages if self.stages is not None else len(self.partition)  # type: ignore[arg-type]
        return [self.replicas] * (count // self.chunks if self.stages is None else count)

    @property
    def depth(self) -> int | None:
        """Pipeline positions when the parameters fix them (None for partition ``planner``)."""
        if isinstance(self.stages, list):
            return len(self.stages)
        if isinstance(self.stages, int):
            return self.stages
        if isinstance(self.partition, list):
            return len(self.partition) // self.chunks
        return None

    def _batch_key(self) -> int | str | None:
        """The key of ``batch`` that applies: ``"KxM"`` first, then ``K``."""
        assert isinstance(self.batch, dict)
        for key in (f"{self.depth}x{self.microbatches}", self.depth):
            if key in self.batch:
                return key
        return None

    @property
    def minibatch(self) -> int:
        """Samples per minibatch per replica: ``batch``, the one for this configuration, or
        ``M``."""
        if isinstance(self.batch, dict):
            return self.batch[self._batch_key()]  # type: ignore[index]  # checked on load
        return self.batch if self.batch is not None else self.microbatches

    @property
    def microbatch_samples(self) -> int:
        """Samples per micro-batch: ``batch / microbatches`` (one when ``batch`` is unset)."""
        return self.minibatch // self.microbatches
