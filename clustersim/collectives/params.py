"""The parameters of ``kind: collective``.

``size`` is the full vector one rank holds at the end, as in nccl-tests and in Thakur et al.:
the all-reduce buffer, the all-gather output, the reduce-scatter input before scattering, the
broadcast or reduce buffer, each rank's whole all-to-all send buffer (docs/architecture.md §4).

``algorithm: auto`` runs what NCCL's tuner would pick (:mod:`clustersim.collectives.tuning`).
``verify`` is ``true`` (replay the kernel on the whole buffers and check them), ``sampled``
(replay the same schedule on the first ``sample_elements`` elements of every chunk) or ``false``
(timing only); see :mod:`clustersim.collectives.verify`.

Every check here needs the parameters alone; the checks that need the cluster (the ranks exist,
the root is one of them, a hierarchical all-reduce runs on machines, a verified run fits in
memory) are the kind's ``prepare`` step (:mod:`~clustersim.collectives.kind`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from clustersim.collectives.algorithms import (
    ALGORITHMS,
    AUTO,
    DEFAULT_ALGORITHM,
    PIPELINED,
    ROOTED_OPS,
    algorithms_for,
)
from clustersim.collectives.allreduce import allreduce_algorithm
from clustersim.collectives.verify import DEFAULT_SAMPLE_ELEMENTS
from clustersim.errors import InputError
from clustersim.kinds.validation import positive, positive_int
from clustersim.units import Bytes, format_bytes

__all__ = ["AllreduceName", "CollectiveParams"]


def _allreduce_name(value: str) -> str:
    allreduce_algorithm(value)  # an InputError listing the known ones
    return value


AllreduceName = Annotated[str, AfterValidator(_allreduce_name)]
"""A field naming an all-reduce algorithm, for kinds that embed one (data, pipeline and
tensor parallelism): an unknown name is an error with a did-you-mean and the known names."""


class CollectiveParams(BaseModel):
    """Parameters of ``kind: collective``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["collective"] = "collective"
    op: Literal["allreduce", "reduce_scatter", "allgather", "broadcast", "reduce", "alltoall"] = (
        Field(description="the collective operation")
    )
    algorithm: str | None = Field(
        None,
        validate_default=True,
        description="algorithm name, or auto for NCCL's choice; see `clustersim list` (default: "
        "ring for allreduce, reduce_scatter, allgather, broadcast and reduce; pairwise for "
        "alltoall)",
    )
    dtype: Literal["float16", "float32", "float64", "int32", "int64"] = "float32"
    size: Bytes = Field(description="bytes of the full vector one rank holds at the end")
    verify: bool | Literal["sampled"] = Field(
        True,
        description="true: replay the numpy kernel on the whole buffers and check the result; "
        "sampled: replay the same schedule on sample_elements elements per chunk; false: "
        "timing only",
    )
    sample_elements: int | None = Field(
        None,
        description=f"elements per chunk a verify: sampled run replays (default "
        f"{DEFAULT_SAMPLE_ELEMENTS})",
    )
    verify_memory: Bytes | None = Field(
        None,
        description="this run's own limit on the verified replay's memory (default: the run "
        "limit, --max-memory or $CLUSTERSIM_MAX_MEMORY, else half the available memory)",
    )
    ranks: list[str] | None = Field(
        None, description="node names taking part, in rank order (default: every device)"
    )
    root: int | None = Field(
        None, description="root rank position of broadcast and reduce (default 0)"
    )
    reduction: Literal["free", "device"] = Field(
        "free",
        description="free: pure alpha-beta; device: charge gamma = 3 / mem_bandwidth "
        "per byte reduced",
    )
    pipeline_chunk: Bytes | None = Field(
        None,
        description="pipeline chunk of double_binary_tree and of the ring broadcast and reduce "
        "(default 512 KiB)",
    )

    @property
    def itemsize(self) -> int:
        """Bytes per element of ``dtype``."""
        return np.dtype(self.dtype).itemsize

    @field_validator("size")
    @classmethod
    def _positive_whole_elements(cls, value: float, info: ValidationInfo) -> float:
        positive(value, "size", unit="bytes")
        dtype = info.data.get("dtype", "float32")
        itemsize = np.dtype(dtype).itemsize
        if value % itemsize:
            raise InputError(
                f"size {format_bytes(value)} is not a whole number of {dtype} "
                f"elements ({itemsize} B each)"
            )
        return value

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str | None, info: ValidationInfo) -> str | None:
        op = info.data.get("op")
        if op is None:
            return value
        if value is None:
            return DEFAULT_ALGORITHM[op]
        if value != AUTO and (op, value) not in ALGORITHMS:
            known = ", ".join([*algorithms_for(op), AUTO])
            raise InputError(f"unknown algorithm {value!r} for op {op!r}; known: {known}")
        return value

    @field_validator("sample_elements")
    @classmethod
    def _sampled_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if info.data.get("verify", True) != "sampled":
            raise InputError("sample_elements only applies to verify: sampled; remove it")
        return positive_int(value)

    @field_validator("verify_memory")
    @classmethod
    def _positive_memory(cls, value: float | None) -> float | None:
        if value is not None:
            positive(value, "verify_memory", unit="bytes")
        return value

    @field_validator("root")
    @classmethod
    def _rooted_op(cls, value: int | None, info: ValidationInfo) -> int | None:
        op = info.data.get("op")
        if value is not None and op is not None and op not in ROOTED_OPS:
            raise InputError(f"root only applies to op broadcast or reduce, not {op!r}; remove it")
        if value is not None and value < 0:
            raise InputError(f"root must be a rank position >= 0, got {value}")
        return value

    @field_validator("pipeline_chunk")
    @classmethod
    def _tree_pipeline(cls, value: float | None, info: ValidationInfo) -> float | None:
        algorithm, op = info.data.get("algorithm"), info.data.get("op")
        pipelined = algorithm == AUTO or (op, algorithm) in PIPELINED
        if value is not None and algorithm is not None and not pipelined:
            raise InputError(
                f"pipeline_chunk only applies to the pipelined algorithms (allreduce "
                f"double_binary_tree, broadcast and reduce ring, auto), not {op} {algorithm!r}; "
                "remove it"
            )
        if value is not None:
            positive(value, "pipeline_chunk", unit="bytes")
        return value
