"""The ``profile`` of a training workload (``pipeline``, ``data_parallel``): explicit layers, a
generator of identical layers or a built-in model (``transformer``, ``vgg16``, ``resnet50``,
``alexnet``, ``gnmt``, ``amoebanet``), validated and built into a ModelProfile."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.errors import InputError
from clustersim.kinds.validation import positive_int
from clustersim.training.profiles import (
    BUILTINS,
    LayerProfile,
    ModelProfile,
    alexnet_profile,
    amoebanet_profile,
    generated_profile,
    gnmt_profile,
    resnet50_profile,
    transformer_profile,
    vgg16_profile,
)
from clustersim.units import Bytes, Flops

__all__ = ["DTYPE_BYTES", "LayerModel", "ProfileModel", "build_profile"]

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4}
"""Bytes per element of the datatypes the training profiles accept."""


class LayerModel(BaseModel):
    """One explicit layer, per sample."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    flops: Flops = Field(description="forward FLOP per sample, e.g. 2 GFLOP")
    activation: Bytes = Field(description="bytes of the layer's output per sample")
    params: Bytes = Field(0.0, description="bytes of parameters")
    backward_flops: Flops | None = Field(None, description="default: 2 x flops")
    stash: Bytes | None = Field(
        None, description="bytes per sample kept for backward; default: activation"
    )
    rows: float = Field(0.0, description="matrix rows per sample of its kernels (tiling)")

    @model_validator(mode="after")
    def _non_negative(self) -> LayerModel:
        for name in ("flops", "activation", "params", "backward_flops", "stash", "rows"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise InputError(f"layer {name} must be non-negative, got {value!r}")
        return self


class ProfileModel(BaseModel):
    """Exactly one of ``layers`` (a list), ``count`` with per-layer values (a generator), or
    ``builtin`` (``transformer`` with ``count``, ``hidden``, ``seq_len``, ``heads``;
    ``vgg16``; ``resnet50``; ``alexnet``; ``gnmt`` with ``count`` LSTM layers (default 16),
    ``hidden``, ``seq_len``, ``vocab``; ``amoebanet`` with ``count`` normal cells (default 18)
    and ``filters``)."""

    model_config = ConfigDict(extra="forbid")

    layers: list[LayerModel] | None = None
    builtin: Literal["transformer", "vgg16", "resnet50", "alexnet", "gnmt", "amoebanet"] | None = (
        None
    )
    count: int | None = Field(
        None, description="generated layers, transformer blocks, GNMT LSTM layers or cells"
    )
    flops: Flops | None = None
    activation: Bytes | None = None
    params: Bytes | None = None
    backward_flops: Flops | None = None
    stash: Bytes | None = None
    input: Bytes | None = Field(None, description="bytes of one input sample")
    hidden: int | None = None
    seq_len: int | None = None
    heads: int | None = None
    image_size: int | None = None
    vocab: int | None = Field(None, description="gnmt: vocabulary size")
    filters: int | None = Field(None, description="amoebanet: filters of the first stack")
    rows: float = Field(0.0, description="generated layers: matrix rows per sample (tiling)")
    dtype: Literal["float16", "bfloat16", "float32"] | None = None

    @field_validator("count", "hidden", "seq_len", "heads", "image_size", "vocab", "filters")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        return None if value is None else positive_int(value)

    @model_validator(mode="after")
    def _one_source(self) -> ProfileModel:
        given = [
            name
            for name, on in (
                ("layers", self.layers is not None),
                ("builtin", self.builtin is not None),
                ("count", self.count is not None and self.builtin is None),
            )
            if on
        ]
        if len(given) != 1:
            raise InputError(
                "profile needs exactly one of layers (a list), count with flops/activation "
                f"(a generator) or builtin ({', '.join(BUILTINS)}); got "
                f"{', '.join(given) or 'none'}"
            )
        if self.layers is not None and not self.layers:
            raise InputError("profile.layers is empty; give at least one layer")
        if self.builtin is None and self.count is not None:
            missing = [k for k in ("flops", "activation") if getattr(self, k) is None]
            if missing:
                raise InputError(
                    f"a generated profile (count: {self.count}) needs "
                    f"{' and '.join(missing)} per layer"
                )
        if self.builtin == "transformer":
            missing = [
                k for k in ("count", "hidden", "seq_len", "heads") if getattr(self, k) is None
            ]
            if missing:
                raise InputError(f"profile builtin transformer needs {', '.join(missing)}")
            if self.hidden % self.heads:  # type: ignore[operator]
                raise InputError(
                    f"profile.hidden {self.hidden} must be divisible by profile.heads {self.heads}"
                )
        if self.image_size is not None and self.image_size % 32:
            raise InputError(f"profile.image_size must be a multiple of 32, got {self.image_size}")
        if self.builtin == "gnmt" and self.count is not None and self.count % 2:
            raise InputError(
                f"profile.count: GNMT splits its LSTM layers evenly between encoder and decoder; "
                f"expected an even number, got {self.count}"
            )
        if self.builtin == "amoebanet" and self.count is not None and self.count % 3:
            raise InputError(
                f"profile.count: AmoebaNet stacks its normal cells in 3 equal stacks; expected "
                f"a multiple of 3, got {self.count}"
            )
        foreign = {
            "vocab": ("gnmt",),
            "filters": ("amoebanet",),
            "heads": ("transformer",),
        }
        for name, kinds in foreign.items():
            if getattr(self, name) is not None and self.builtin not in kinds:
                raise InputError(
                    f"profile.{name} applies only to builtin {' or '.join(kinds)}, got "
                    f"{self.builtin or 'a layer list or generator'}"
                )
        return self


def build_profile(model: ProfileModel) -> ModelProfile:
    """The :class:`ModelProfile` a validated ``profile`` mapping describes."""
    if model.builtin == "transformer":
        prof = transformer_profile(
            model.count,
            model.hidden,
            model.seq_len,  # type: ignore[arg-type]
            model.heads,
            DTYPE_BYTES[model.dtype or "float16"],
        )
    elif model.builtin == "vgg16":
        prof = vgg16_profile(model.image_size or 224, DTYPE_BYTES[model.dtype or "float32"])
    elif model.builtin == "resnet50":
        prof = resnet50_profile(model.image_size or 224, DTYPE_BYTES[model.dtype or "float32"])
    elif model.builtin == "alexnet":
        prof = alexnet_profile(model.image_size or 224, DTYPE_BYTES[model.dtype or "float32"])
    elif model.builtin == "gnmt":
        prof = gnmt_profile(
            model.count or 16,
            model.hidden or 1024,
            model.vocab or 32320,
            model.seq_len or 50,
            DTYPE_BYTES[model.dtype or "float32"],
        )
    elif model.builtin == "amoebanet":
        prof = amoebanet_profile(
            model.count or 18,
            model.filters or 256,
            model.image_size or 224,
            DTYPE_BYTES[model.dtype or "float32"],
        )
    elif model.layers is not None:
        layers = tuple(
            LayerProfile(
                layer.name or f"layer{i}",
                layer.flops,
                layer.activation,
                layer.params,
                layer.backward_flops,
                layer.stash,
                layer.rows,
            )
            for i, layer in enumerate(model.layers)
        )
        prof = ModelProfile("explicit", layers, layers[0].activation, "explicit layer list")
    else:
        prof = generated_profile(
            model.count,
            model.flops,
            model.activation,  # type: ignore[arg-type]
            model.params or 0.0,
            model.backward_flops,
            model.stash,
            rows=model.rows,
        )
    if model.input is not None:
        prof = ModelProfile(prof.name, prof.layers, model.input, prof.source, prof.meta)
    return prof
