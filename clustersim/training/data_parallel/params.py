"""The ``workload`` of ``kind: data_parallel``: model, data, optimiser, sync and compression.

Checks that need only the parameters live here (``warmup`` without ``lr_scaling``, a model
whose ends disagree with the dataset, ``servers`` without a parameter server); those that need
the cluster (more workers than devices, a global batch larger than the dataset, the parameter
server's layout) run in :func:`clustersim.training.data_parallel.kind.prepare`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.collectives.params import AllreduceName
from clustersim.errors import InputError
from clustersim.kinds.validation import positive, validate_nested
from clustersim.training.datasets import DEFAULT_CLASSES, DEFAULT_FEATURES, DatasetParams
from clustersim.training.profile_schema import DTYPE_BYTES, ProfileModel
from clustersim.units import Bytes

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_HIDDEN",
    "Compression",
    "DGCParams",
    "DataParallelParams",
    "TernGradParams",
]

DEFAULT_HIDDEN = 64
"""Hidden width of the default MLP ``[features, 64, classes]``."""
DEFAULT_BUCKET = 25 * 2**20
"""PyTorch DDP's default ``bucket_cap_mb`` (25 MiB)."""


class DGCParams(BaseModel):
    """``compression: {method: dgc, ...}``: Deep Gradient Compression (Lin et al. 2018)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["dgc"]
    sparsity: float = Field(0.999, ge=0, lt=1, description="fraction of each layer NOT sent")
    momentum_correction: bool = Field(
        True, description="accumulate the velocity, not the gradient (§3.2)"
    )
    momentum_masking: bool = Field(True, description="zero the velocity of sent entries (§3.3)")
    clipping: bool = Field(True, description="local gradient clipping at clip_norm/sqrt(N)")
    clip_norm: float = Field(5.0, gt=0, description="global gradient-norm threshold c")
    warmup_epochs: float = Field(
        4, ge=0, description="epochs of exponentially rising sparsity (§3.4)"
    )


class TernGradParams(BaseModel):
    """``compression: {method: terngrad, ...}``: ternary gradients (Wen et al. 2017)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["terngrad"]
    clip: float | None = Field(
        2.5, gt=0, description="clip each layer at clip·sigma (null: no clipping)"
    )


Compression = Annotated[DGCParams | TernGradParams, Field(discriminator="method")]


class DataParallelParams(BaseModel):
    """Parameters of ``kind: data_parallel``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["data_parallel"] = "data_parallel"
    workers: int | None = Field(
        None,
        ge=1,
        description="replicas (default: every device; with a parameter server, every "
        "device that is not a server)",
    )
    model: list[int] | ProfileModel | None = Field(
        None,
        description="MLP layer sizes [in, hidden..., classes] (trained for real), or a "
        "profile {builtin: resnet50} / {count, flops, activation, params} for a "
        "timing-only run (default: [features, 64, classes])",
    )
    dataset: DatasetParams = Field(default_factory=DatasetParams)
    batch_size: int = Field(32, ge=1, description="samples per worker per iteration")
    iterations: int | None = Field(None, ge=1, description="SGD steps (default 100)")
    epochs: float | None = Field(
        None, gt=0, description="instead of iterations: passes over dataset.samples"
    )
    lr: float = Field(0.05, gt=0, description="learning rate for a batch of base_batch samples")
    momentum: float = Field(0.9, ge=0, lt=1)
    lr_scaling: Literal["none", "linear"] = Field(
        "none", description="linear: lr × global_batch / base_batch (Goyal et al. 2017)"
    )
    base_batch: int | None = Field(
        None, ge=1, description="batch size lr is tuned for (default: batch_size)"
    )
    warmup: float = Field(
        0.0,
        ge=0,
        description="epochs of gradual warm-up from lr to the scaled lr (Goyal et al. 2017)",
    )
    sync: Literal["allreduce", "parameter_server"] = "allreduce"
    algorithm: AllreduceName = Field("ring", description="all-reduce algorithm (sync: allreduce)")
    servers: int | None = Field(
        None, ge=1, description="parameter servers (sync: parameter_server; default 1)"
    )
    overlap: bool = Field(False, description="all-reduce gradient buckets during backward")
    bucket_size: Bytes = Field(
        DEFAULT_BUCKET, description="bytes per gradient bucket with overlap (DDP's 25 MiB)"
    )
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        "float32", description="bytes per gradient element on the wire and in memory"
    )
    compression: Compression | None = Field(
        None,
        description="{method: dgc, sparsity, momentum_correction, momentum_masking, "
        "clipping, clip_norm, warmup_epochs} or {method: terngrad, clip}",
    )
    compare_dense: bool = Field(
        True, description="with compression: also train a dense run for dense_final_accuracy"
    )
    verify: bool = Field(
        True,
        description="run the checks (MLP models): data parallel == one "
        "worker on the concatenated batch, or the "
        "compression checks",
    )
    eval_every: int | None = Field(
        None, ge=1, description="iterations between test-accuracy points (default: iterations/20)"
    )

    @field_validator("model", mode="before")
    @classmethod
    def _parse_model(cls, value: Any) -> Any:
        if value is None or isinstance(value, ProfileModel):
            return value
        if isinstance(value, dict):
            return validate_nested(ProfileModel, value)
        if (
            isinstance(value, (list, tuple))
            and len(value) >= 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
        ):
            return list(value)
        raise InputError(
            "model must be MLP layer sizes such as [32, 64, 10] (at least input and output, "
            "positive integers) or a profile mapping such as {builtin: resnet50}; got "
            f"{value!r}"
        )

    @field_validator("bucket_size")
    @classmethod
    def _positive_bucket(cls, value: float) -> float:
        return positive(value, "bucket_size", unit="bytes")

    @model_validator(mode="after")
    def _consistent(self) -> DataParallelParams:
        if self.iterations is not None and self.epochs is not None:
            raise InputError("give iterations or epochs, not both")
        if self.servers is not None and self.sync != "parameter_server":
            raise InputError(
                f"servers applies only to sync: parameter_server, got sync {self.sync!r}"
            )
        if "algorithm" in self.model_fields_set and self.sync != "allreduce":
            raise InputError("algorithm applies only to sync: allreduce")
        if self.warmup and self.lr_scaling == "none":
            raise InputError(
                "warmup ramps the learning rate from lr to the linearly scaled lr (Goyal et al. "
                "2017); with lr_scaling: none there is nothing to ramp to. Set lr_scaling: linear "
                "or remove warmup"
            )
        if isinstance(self.model, list):
            ds = self.dataset
            for name, given, own in (
                ("features", ds.features, self.model[0]),
                ("classes", ds.classes, self.model[-1]),
            ):
                if given is not None and given != own:
                    raise InputError(
                        f"dataset.{name} is {given} but the model's "
                        f"{'first' if name == 'features' else 'last'} size is {own}"
                    )
            if self.model[-1] < 2:
                raise InputError(
                    f"the model's last size is the number of classes, at least 2; "
                    f"got {self.model[-1]}"
                )
        return self

    # resolved views ------------------------------------------------------------------
    @property
    def trains(self) -> bool:
        """True when the model is an MLP that is really trained."""
        return not isinstance(self.model, ProfileModel)

    def mlp_sizes(self) -> list[int]:
        """The MLP's layer sizes (defaults filled in from the dataset)."""
        if isinstance(self.model, list):
            return list(self.model)
        features = self.dataset.features or DEFAULT_FEATURES
        classes = self.dataset.classes or DEFAULT_CLASSES
        return [features, DEFAULT_HIDDEN, classes]

    @property
    def compression_method(self) -> str | None:
        """``"dgc"``, ``"terngrad"``, or None for a dense run."""
        return self.compression.method if self.compression else None

    @property
    def itemsize(self) -> int:
        """Bytes of one gradient element."""
        return DTYPE_BYTES[self.dtype]
