"""The ``workload`` of ``kind: partition``: the model, how it is split, and over which devices.

Checks that need only the parameters live here (a field that does not apply to the chosen
partition or model, a grid that is not two positive counts, heads that do not divide the
embedding); those that need the cluster or the model's shapes (devices that exist, a tile
count that matches the workers, more tiles than rows, a kernel larger than a tile, heads or
tokens that do not divide among the workers) run in
:func:`clustersim.inference.partition.kind.prepare`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.errors import InputError
from clustersim.kinds.validation import positive, positive_int

__all__ = ["CNN_MODELS", "ModelParams", "PartitionParams", "TrainParams"]

CNN_MODELS = ("vgg16", "alexnet", "small_cnn")
"""Models a spatial, FDSP or channel-wise partition splits (:mod:`clustersim.nn`)."""

_SPATIAL = ("spatial", "fdsp")
_ATTENTION = ("head", "sequence")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def _only(self, what: str, allowed: set[str], fields: set[str]) -> None:
        """The fields of ``fields`` that were set but are not in ``allowed`` are an error."""
        foreign = sorted((self.model_fields_set & fields) - allowed)
        if foreign:
            raise InputError(f"{', '.join(foreign)} does not apply to {what}")


class ModelParams(_Strict):
    """``model``: a CNN of :mod:`clustersim.nn` (``vgg16``, ``alexnet``, ``small_cnn``) or one
    self-attention layer (``attention``)."""

    name: Literal["vgg16", "alexnet", "small_cnn", "attention"] = "vgg16"
    image_size: int | None = Field(None, description="CNN input side (224; small_cnn: 16)")
    classes: int | None = Field(None, description="CNN classes (1000; small_cnn: 10)")
    channels: list[int] | None = Field(None, description="small_cnn: conv widths ([8, 16])")
    batch: int = Field(1, description="attention: sequences B")
    seq_len: int = Field(512, description="attention: tokens per sequence L")
    embed: int = Field(768, description="attention: embedding E")
    heads: int = Field(12, description="attention: heads")

    @field_validator("image_size", "classes", "batch", "seq_len", "embed", "heads")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        return None if value is None else positive_int(value)

    @model_validator(mode="after")
    def _applicable(self) -> ModelParams:
        cnn = {"image_size", "classes", "channels"}
        attention = {"batch", "seq_len", "embed", "heads"}
        if self.name == "attention":
            self._only("model 'attention' (it takes batch, seq_len, embed, heads)", attention, cnn)
            if self.embed % self.heads:
                raise InputError(f"embed {self.embed} must be divisible by heads {self.heads}")
        else:
            allowed = cnn if self.name == "small_cnn" else {"image_size", "classes"}
            self._only(f"model {self.name!r}", allowed, cnn | attention)
            if self.channels is not None and (not self.channels or min(self.channels) < 1):
                raise InputError(f"channels must be positive conv widths, got {self.channels}")
        return self

    @property
    def is_cnn(self) -> bool:
        return self.name != "attention"

    @property
    def side(self) -> int:
        """The CNN input side."""
        return self.image_size or (16 if self.name == "small_cnn" else 224)

    @property
    def class_count(self) -> int:
        return self.classes or (10 if self.name == "small_cnn" else 1000)


class TrainParams(_Strict):
    """``train``: train the small CNN on synthetic images and measure its accuracy whole,
    under FDSP, and fine-tuned under FDSP (ADCNN retrains with the tiles' padding)."""

    samples: int = Field(3000, description="training images")
    test_samples: int = Field(1000, description="held-out images")
    epochs: int = Field(5, description="SGD epochs of the whole model")
    finetune_epochs: int = Field(2, description="SGD epochs under FDSP padding")
    batch_size: int = 32
    lr: float = 0.05

    @field_validator("samples", "test_samples", "epochs", "finetune_epochs", "batch_size")
    @classmethod
    def _counts(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("lr")
    @classmethod
    def _lr(cls, value: float) -> float:
        return positive(value, "lr")


class PartitionParams(BaseModel):
    """Parameters of ``kind: partition``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["partition"] = "partition"
    model: ModelParams = Field(default_factory=ModelParams)
    partition: Literal["spatial", "fdsp", "channel", "head", "sequence"] = Field(
        description="spatial: tiles with halo exchange (fused groups: DeepThings; sizing "
        "speed: MoDNN's BODP); fdsp: ADCNN's zero-padded tiles; channel: input channels and "
        "partial sums; head / sequence: attention split by heads or along L"
    )
    tiles: list[int] | None = Field(
        None, description="[rows, columns] of the tile grid (default: one strip per worker)"
    )
    sizing: Literal["equal", "speed"] = Field(
        "equal", description="speed: strips proportional to each worker's FLOP rate (BODP)"
    )
    fuse: int | Literal["all"] = Field(
        1, description="spatial: conv/pool layers per fused group (all: one group, no exchange)"
    )
    schedule: Literal["static", "adaptive"] = Field(
        "static", description="independent tiles: split in advance, or handed out as workers finish"
    )
    prefetch: int = Field(2, description="independent tiles: tiles in flight per worker")
    central: str | None = Field(None, description="the node holding input and output (first)")
    workers: list[str] | int | None = Field(
        None, description="the conv nodes, or how many (default: every other device)"
    )
    cloud: str | None = Field(None, description="remote-cloud baseline device (none: skipped)")
    input: Literal["central", "replicated"] = Field(
        "central",
        description="attention: the layer input is on the central node, or already on every worker",
    )
    dtype: Literal["float32", "float16"] = "float32"
    verify: bool = Field(True, description="replay the numerics through the simulated flows")
    replay_channels: int = Field(
        4, description="channels per layer of the numeric twin of a CNN (its windows unchanged)"
    )
    train: TrainParams | None = Field(
        None, description="small_cnn with fdsp: train it and measure FDSP's accuracy"
    )

    @field_validator("prefetch", "replay_channels")
    @classmethod
    def _positive(cls, value: int) -> int:
        return positive_int(value)

    @field_validator("fuse")
    @classmethod
    def _fuse(cls, value: int | str) -> int | str:
        return value if value == "all" else positive_int(int(value))

    @field_validator("tiles")
    @classmethod
    def _grid(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) != 2 or min(value) < 1):
            raise InputError(f"expected [rows, columns] of positive counts, got {value}")
        return value

    @field_validator("workers")
    @classmethod
    def _count(cls, value: list[str] | int | None) -> list[str] | int | None:
        if isinstance(value, int):
            return positive_int(value)
        return value

    @model_validator(mode="after")
    def _applicable(self) -> PartitionParams:
        p = self.partition
        # a field counts as given when it holds something other than its default
        set_ = {
            name
            for name in self.model_fields_set
            if getattr(self, name) != type(self).model_fields[name].default
        }
        where = f"partition {p!r}"

        def only(names: set[str], partitions: tuple[str, ...], what: str) -> None:
            wrong = sorted(names & set_) if p not in partitions else []
            if wrong:
                raise InputError(f"{', '.join(wrong)} does not apply to {where}; {what}")

        only({"tiles", "sizing"}, _SPATIAL, "it is for spatial and fdsp")
        only({"fuse"}, ("spatial",), "it is for spatial")
        only({"input"}, _ATTENTION, "it is for head and sequence")
        if p in _ATTENTION and self.model.is_cnn:
            raise InputError(
                f"{where} splits an attention layer; expected model: {{name: attention}}"
            )
        if p not in _ATTENTION and not self.model.is_cnn:
            raise InputError(
                f"{where} splits a CNN; expected a model among {', '.join(CNN_MODELS)}"
            )
        if self.sizing == "speed" and self.tiles is not None and min(self.tiles) > 1:
            raise InputError(
                f"sizing: speed cuts strips in proportion to the workers' speeds; expected tiles "
                f"[n, 1] or [1, n], got {self.tiles}"
            )
        if not self.independent_tiles:
            only(
                {"schedule", "prefetch"},
                (),
                "it is for independent tiles (fdsp, or spatial with fuse: all)",
            )
        if self.train is not None and (p != "fdsp" or self.model.name != "small_cnn"):
            raise InputError(
                "train applies to partition 'fdsp' with model 'small_cnn' (the exact partitions "
                "give the whole model's predictions)"
            )
        return self

    @property
    def independent_tiles(self) -> bool:
        """Whether tiles need nothing from each other (FDSP, or the whole stack fused)."""
        return self.partition == "fdsp" or (self.partition == "spatial" and self.fuse == "all")
