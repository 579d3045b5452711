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
    stages: int | None = Field(None, description="pipeline devices K (not with partition: planner)")
    partition: Literal["even", "balanced", "planner"] | list[int] = Field(
        "even", description="even | balanced | planner | explicit layer counts per stage"
    )
    microbatches: int = Field(description="micro-batches M per minibatch")
    batch: int | None = Field(
        None,
        description="samples per minibatch per pipeline replica "
        "(default: M, one sample per micro-batch)",
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
        True, description="with partition planner: also simulate data parallelism and an even split"
    )

    @field_validator("microbatches", "chunks", "replicas", "tensor_parallel")
    @classmethod
    def _positive(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("stages", "batch")
    @classmethod
    def _positive_or_none(cls, value: int | None) -> int | None:
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
        batch = self.batch if self.batch is not None else m
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
            if isinstance(self.partition, list):
                if not self.partition or any(c < 1 for c in self.partition):
                    raise InputError(
                        f"partition must list a positive layer count per stage, "
                        f"got {self.partition}"
                    )
                if self.stages is not None and self.stages * self.chunks != len(self.partition):
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
        if sched == "interleaved_1f1b":
            p = self.stages if self.stages is not None else len(self.partition) // self.chunks
            if m % p:
                raise InputError(
                    f"interleaved_1f1b needs microbatches ({m}) to be a multiple "
                    f"of stages ({p}), as Megatron-LM requires"
                )
        if sched != "pipedream" and not self.weight_stashing:
            raise InputError("weight_stashing: false only applies to schedule pipedream")
        return self

    @property
    def microbatch_samples(self) -> int:
        """Samples per micro-batch: ``batch / microbatches`` (one when ``batch`` is unset)."""
        m = self.microbatches
        return (self.batch if self.batch is not None else m) // m
