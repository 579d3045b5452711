"""The ``workload`` of ``kind: tensor_parallel``: the block's shape and how it is split.

Divisibility is checked here (whole heads per rank, whole token slices); that the ranks exist
and match the degree is the kind's ``prepare`` step, which needs the cluster.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.collectives.params import AllreduceName
from clustersim.errors import InputError
from clustersim.kinds.validation import positive_int

__all__ = ["TensorParallelParams"]


class TensorParallelParams(BaseModel):
    """Parameters of ``kind: tensor_parallel``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tensor_parallel"] = "tensor_parallel"
    degree: int = Field(description="tensor-parallel degree t (ranks)")
    batch: int = Field(description="sequences b per step")
    seq_len: int = Field(description="tokens per sequence s (the notes' L)")
    hidden: int = Field(description="hidden size h (the notes' E)")
    heads: int = Field(description="attention heads a (the notes' M)")
    layers: int = Field(1, description="transformer blocks")
    dtype: Literal["float16", "bfloat16", "float32"] = "float16"
    part: Literal["mlp", "attention", "layer"] = "layer"
    partition: Literal["megatron", "sequence"] = Field(
        "megatron",
        description="megatron: MLP column/row split and attention by heads; "
        "sequence: split along L",
    )
    algorithm: AllreduceName = Field("ring", description="all-reduce algorithm")
    ranks: list[str] | None = Field(
        None, description="devices taking part (default: first degree devices)"
    )
    verify: bool = Field(True, description="replay the partitioned block in numpy")

    @field_validator("degree", "batch", "seq_len", "hidden", "heads", "layers")
    @classmethod
    def _positive(cls, value: int) -> int:
        return positive_int(value)

    @model_validator(mode="after")
    def _divisible(self) -> TensorParallelParams:
        t = self.degree
        if self.hidden % self.heads:
            raise InputError(f"hidden {self.hidden} must be divisible by heads {self.heads}")
        if self.partition == "megatron" and self.heads % t:
            raise InputError(
                f"heads {self.heads} must be divisible by degree {t}: the "
                "headwise split gives every rank whole heads"
            )
        if self.partition == "sequence" and self.seq_len % t:
            raise InputError(
                f"seq_len {self.seq_len} must be divisible by degree {t} for the sequence partition"
            )
        return self
