"""The ``workload`` of ``kind: federated``: clients, rounds, data, algorithm, system, errors.

Checks that need only the parameters live here (a Dirichlet α ≤ 0, shards that do not divide the
data, a deadline ≤ 0, a loss rate outside [0, 1), fields that do not apply to the chosen
dataset, partition or algorithm); those that need the cluster or the client count (more
clients per round than clients, a per-client table naming an unknown client, shards that
cannot be dealt to the clients) run in :func:`clustersim.federated.kind.prepare`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from clustersim.errors import InputError
from clustersim.kinds.validation import describe_error, positive, validate_nested
from clustersim.training.parameter_server.params import StragglerDistribution
from clustersim.units import Bytes, Rate, Seconds, parse_rate, parse_time

__all__ = [
    "AvailabilityParams",
    "CMFLParams",
    "DatasetParams",
    "ErrorParams",
    "FederatedParams",
    "HeteroFLParams",
    "ModelParams",
    "NetworkParams",
    "PartitionParams",
    "RateDistribution",
    "SharingParams",
]

_WIRE_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def _only(self, owner: str, value: str, allowed: dict[str, set[str]]) -> None:
        """Fields set that do not apply to ``owner`` ``value`` are an error naming them."""
        foreign = sorted((self.model_fields_set - {owner}) - allowed.get(value, set()))
        if foreign:
            raise InputError(
                f"{', '.join(foreign)} does not apply to {owner} {value!r}"
                + (
                    f"; its fields are {', '.join(sorted(allowed[value]))}"
                    if allowed[value]
                    else ""
                )
            )


class ModelParams(_Strict):
    """``model``: multinomial logistic regression, an MLP, or a small CNN on image data.

    ``name`` picks the architecture (:mod:`clustersim.federated.models`), so that more of them
    plug in beside these.
    """

    name: Literal["logistic", "mlp", "cnn"] = "logistic"
    hidden: list[int] = Field(
        default_factory=list, description="mlp: hidden widths; cnn: at most one FC width"
    )
    channels: list[int] = Field(
        default_factory=lambda: [8, 16], description="cnn: channels of each conv block"
    )
    kernel_size: int = Field(3, description="cnn: odd kernel size of the convolutions")

    @model_validator(mode="after")
    def _fields(self) -> ModelParams:
        self._only(
            "name",
            self.name,
            {"logistic": set(), "mlp": {"hidden"}, "cnn": {"hidden", "channels", "kernel_size"}},
        )
        if self.name == "mlp" and not self.hidden:
            raise InputError("model 'mlp' needs hidden widths, e.g. hidden: [64]")
        if self.name == "cnn" and len(self.hidden) > 1:
            raise InputError(f"model 'cnn' takes at most one hidden width, got {self.hidden}")
        for name in ("hidden", "channels"):
            if any(h < 1 for h in getattr(self, name)):
                raise InputError(f"{name} must be positive integers, got {getattr(self, name)}")
        if self.name == "cnn" and (
            not self.channels or self.kernel_size % 2 == 0 or self.kernel_size < 1
        ):
            raise InputError(
                f"model 'cnn' needs channels and an odd kernel_size, got {self.channels} and "
                f"{self.kernel_size}"
            )
        return self


class DatasetParams(_Strict):
    """``dataset``: what the clients' data is drawn from (nothing is downloaded)."""

    name: Literal["images", "strokes", "blobs", "synthetic"] = Field(
        "images",
        description="images (8x8 MNIST-like) | strokes (clustersim.datasets.SyntheticImages) | "
        "blobs | synthetic (FedProx's synthetic(alpha, beta))",
    )
    samples: int = Field(6000, ge=1, description="pooled training samples (images, blobs)")
    test_samples: int = Field(1000, ge=1, description="held-out samples (images, blobs)")
    classes: int = Field(10, ge=2)
    side: int = Field(8, ge=2, description="images: side x side pixels")
    noise: float = Field(0.3, ge=0, description="images: pixel noise std")
    shift: int = Field(1, ge=0, description="images: largest cyclic shift, pixels")
    size: int = Field(16, ge=4, description="strokes: size x size pixels")
    channels: Literal[1, 3] = Field(1, description="strokes: grey or colour")
    difficulty: float | None = Field(
        None, ge=0, le=1, description="strokes: every sample's difficulty (null: uniform)"
    )
    features: int = Field(32, ge=1, description="blobs: input dimension")
    separation: float = Field(0.5, gt=0, description="blobs: std of the class centres")
    alpha: float = Field(1.0, ge=0, description="synthetic: model heterogeneity alpha")
    beta: float = Field(1.0, ge=0, description="synthetic: data heterogeneity beta")
    iid: bool = Field(False, description="synthetic: the IID variant (one W, b; v = 0)")

    @model_validator(mode="after")
    def _applicable(self) -> DatasetParams:
        pooled = {"samples", "test_samples", "classes"}
        self._only(
            "name",
            self.name,
            {
                "images": pooled | {"side", "noise", "shift"},
                "strokes": pooled | {"size", "channels", "difficulty"},
                "blobs": pooled | {"features", "separation"},
                "synthetic": {"alpha", "beta", "iid"},
            },
        )
        if self.name == "synthetic" and self.iid and {"alpha", "beta"} & self.model_fields_set:
            raise InputError("alpha and beta do not apply to the IID synthetic variant")
        if self.name != "synthetic" and self.samples % self.classes:
            raise InputError(
                f"samples ({self.samples}) must be a multiple of classes ({self.classes}): the "
                "pooled data sets have exactly balanced classes"
            )
        return self

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample: (C, H, W) for the image data sets, (features,) else."""
        if self.name == "images":
            return (1, self.side, self.side)
        if self.name == "strokes":
            return (self.channels, self.size, self.size)
        return (self.features,) if self.name == "blobs" else (60,)

    @property
    def class_count(self) -> int:
        return 10 if self.name == "synthetic" else self.classes


class PartitionParams(_Strict):
    """``partition``: how the pooled training data is split over the clients."""

    kind: Literal["iid", "shards", "classes", "dirichlet", "quantity", "natural"] = Field(
        "iid",
        description="iid | shards (McMahan) | classes (Zhao) | dirichlet (Hsu) | quantity | "
        "natural (synthetic: one device per client)",
    )
    shards: int | None = Field(
        None, ge=1, description="shards: how many (default clients x shards_per_client)"
    )
    shards_per_client: int = Field(2, ge=1, description="shards: shards per client")
    classes_per_client: int = Field(2, ge=1, description="classes: classes per client")
    alpha: float = Field(0.5, description="dirichlet: concentration (> 0)")
    beta: float = Field(0.5, description="quantity: Dirichlet concentration of sizes (> 0)")

    @model_validator(mode="after")
    def _applicable(self) -> PartitionParams:
        self._only(
            "kind",
            self.kind,
            {
                "iid": set(),
                "natural": set(),
                "shards": {"shards", "shards_per_client"},
                "classes": {"classes_per_client"},
                "dirichlet": {"alpha"},
                "quantity": {"beta"},
            },
        )
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise InputError(
                    f"{name} must be a positive, finite Dirichlet concentration, got {value!r}"
                )
        return self


class SharingParams(_Strict):
    """``sharing``: Zhao et al.'s globally shared data (a subset G, a part of it on every client).

    ``fraction`` is β = |G| / |D| (G is drawn from the same distribution, balanced over the
    classes, besides the pooled data D that is partitioned); every client adds a random
    ``per_client`` (α) share of G to its own data. ``warmup_epochs`` of SGD on G in the cloud
    give the initial global model, as in Zhao et al. §4.
    """

    fraction: float = Field(description="beta: |G| / |D|")
    per_client: float = Field(1.0, description="alpha: share of G each client receives")
    warmup_epochs: int = Field(0, ge=0, description="SGD epochs on G before round 1")

    @model_validator(mode="after")
    def _ranges(self) -> SharingParams:
        if not 0 < self.fraction <= 1:
            raise InputError(f"fraction must be in (0, 1], got {self.fraction!r}")
        if not 0 <= self.per_client <= 1:
            raise InputError(f"per_client must be in [0, 1], got {self.per_client!r}")
        return self


class RateDistribution(_Strict):
    """A per-client bandwidth drawn once per client from the seed."""

    dist: Literal["lognormal", "uniform"]
    median: Rate | None = Field(None, description="lognormal: median rate")
    sigma: float = Field(0.5, description="lognormal: std-dev of the log")
    low: Rate | None = Field(None, description="uniform: lowest rate")
    high: Rate | None = Field(None, description="uniform: highest rate")

    @model_validator(mode="after")
    def _fields(self) -> RateDistribution:
        own = {"lognormal": {"median", "sigma"}, "uniform": {"low", "high"}}
        self._only("dist", self.dist, own)
        if self.dist == "lognormal":
            if self.median is None:
                raise InputError("a lognormal bandwidth needs median, e.g. median: 20 Mbps")
            positive(self.median, "median", unit="bytes/s")
            positive(self.sigma, "sigma")
        else:
            if self.low is None or self.high is None:
                raise InputError("a uniform bandwidth needs low and high")
            positive(self.low, "low", unit="bytes/s")
            if not self.high >= self.low:
                raise InputError(f"high ({self.high!r}) must be at least low ({self.low!r})")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` bandwidths, bytes/s."""
        if self.dist == "lognormal":
            assert self.median is not None
            return self.median * np.exp(self.sigma * rng.standard_normal(n))
        assert self.low is not None and self.high is not None
        return rng.uniform(self.low, self.high, size=n)


PerClient = float | list[float] | dict[str, float]
"""One value for every client, a list in client order, or a table by client name."""


def _per_client(value: Any, parse: Any, what: str, check: Any) -> Any:
    """A number, list or name -> number table, each value parsed and checked."""
    if isinstance(value, dict):
        return {str(k): check(parse(v), f"{what} of {k}") for k, v in value.items()}
    if isinstance(value, list):
        if not value:
            raise InputError(f"{what}: the list is empty; expected one value per client")
        return [check(parse(v), f"{what} [{i}]") for i, v in enumerate(value)]
    return check(parse(value), what)


def _fraction(value: float, what: str) -> float:
    if not (0 <= value < 1):
        raise InputError(f"{what} must be a rate in [0, 1), got {value!r}")
    return float(value)


def _number(value: Any) -> float:
    """A plain number, also from a numeric string (YAML reads ``1e-5`` as a string)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InputError(f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"expected a number, got {value!r}")
    return float(value)


class NetworkParams(_Strict):
    """``network``: per-client access links and their packet loss."""

    bandwidth: RateDistribution | float | list[float] | dict[str, float] | None = Field(
        None,
        description="per-client access-link bandwidth: a rate, a list, a table by client (the "
        "others keep the topology's), or {dist: lognormal, median, sigma} / {dist: uniform, "
        "low, high} (default: the topology's)",
    )
    packet_loss: float | list[float] | dict[str, float] = Field(
        0.0,
        description="per-client packet loss rate in [0, 1): a number, list or table (others 0)",
    )
    packet_size: Bytes = Field(1500, description="bytes per packet (the Ethernet/IP MTU)")

    @field_validator("bandwidth", mode="before")
    @classmethod
    def _parse_bandwidth(cls, value: Any) -> Any:
        if value is None or isinstance(value, RateDistribution):
            return value
        if isinstance(value, dict) and "dist" in value:
            return validate_nested(RateDistribution, value)
        return _per_client(
            value, parse_rate, "bandwidth", lambda v, w: positive(v, w, unit="bytes/s")
        )

    @field_validator("packet_loss", mode="before")
    @classmethod
    def _parse_loss(cls, value: Any) -> Any:
        return _per_client(value, _number, "packet_loss", _fraction)

    @field_validator("packet_size")
    @classmethod
    def _positive_packet(cls, value: float) -> float:
        return positive(value, "packet_size", unit="bytes")


class AvailabilityParams(_Strict):
    """``availability``: clients offline at selection time, and dropping out mid-round."""

    offline_probability: float = Field(
        0.0, description="each round, each client is unavailable with this probability"
    )
    dropout_probability: float = Field(
        0.0, description="a selected client goes offline during its local training"
    )
    offline: dict[str, list[list[float]]] = Field(
        default_factory=dict,
        description="schedule: client -> [[start, end], ...] intervals of simulated time offline",
    )

    @field_validator("offline_probability", "dropout_probability", mode="before")
    @classmethod
    def _probability(cls, value: Any) -> float:
        value = _number(value)
        if not 0 <= value < 1:
            raise InputError(f"must be a probability in [0, 1), got {value!r}")
        return value

    @field_validator("offline", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise InputError(f"expected client -> [[start, end], ...], got {value!r}")
        out = {}
        for client, spans in value.items():
            if not isinstance(spans, list) or not all(
                isinstance(s, list) and len(s) == 2 for s in spans
            ):
                raise InputError(f"{client}: expected a list of [start, end] pairs, got {spans!r}")
            parsed = [[parse_time(a), parse_time(b)] for a, b in spans]
            for a, b in parsed:
                if not 0 <= a < b:
                    raise InputError(
                        f"{client}: an offline interval must have 0 <= start < end, got "
                        f"[{a!r}, {b!r}] s"
                    )
            out[str(client)] = parsed
        return out


class ErrorParams(_Strict):
    """``errors``: updates lost in transit, or corrupted at a bit-error rate."""

    update_loss: float = Field(0.0, description="probability an upload never reaches the server")
    bit_error_rate: float = Field(0.0, description="probability each bit of an upload flips")
    detect: bool = Field(
        True, description="the server discards a corrupted update (checksum) instead of using it"
    )

    @field_validator("update_loss", "bit_error_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> float:
        value = _number(value)
        if not 0 <= value < 1:
            raise InputError(f"must be a rate in [0, 1), got {value!r}")
        return value


def _width_rate(value: float, what: str) -> float:
    if not (0 < value <= 1 and math.isfinite(value)):
        raise InputError(
            f"{what} must be a width rate in (0, 1] (the share of every hidden layer's units a "
            f"client trains), got {value!r}"
        )
    return float(value)


class HeteroFLParams(_Strict):
    """``heterofl``: the clients' width rates (Diao, Ding & Tarokh, ICLR 2021).

    ``rates`` is one rate for every client, a list in client order, a table by client name (the
    others at rate 1), or ``auto``: each client the largest of ``levels`` whose local training
    per round fits ``compute_budget`` on its device (default: the time the fastest client needs
    for the full model) and whose training footprint fits ``memory_fraction`` of its memory
    (:func:`clustersim.federated.heterofl.assign_rates`).
    """

    rates: Literal["auto"] | float | list[float] | dict[str, float] = Field(
        "auto", description="auto | a rate in (0, 1] | a list per client | a table by client"
    )
    levels: list[float] = Field(
        default_factory=lambda: [1.0, 0.5, 0.25, 0.125, 0.0625],
        description="the width levels auto chooses from and every one evaluated at the end "
        "(HeteroFL's a-e)",
    )
    compute_budget: Seconds | None = Field(
        None,
        description="auto: local-training seconds per round a client may take (default: the "
        "fastest client's time for the full model)",
    )
    memory_fraction: float = Field(
        1.0, description="auto: share of a device's memory local training may use"
    )
    masked: bool = Field(
        False,
        description="HeteroFL's masking trick for non-IID data: a client's loss covers only the "
        "classes it holds (the other logits are set to 0)",
    )

    @field_validator("rates", mode="before")
    @classmethod
    def _parse_rates(cls, value: Any) -> Any:
        if value == "auto":
            return value
        return _per_client(value, _number, "rates", _width_rate)

    @field_validator("levels", mode="before")
    @classmethod
    def _parse_levels(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise InputError(f"levels must be a non-empty list of width rates, got {value!r}")
        levels = [_width_rate(_number(v), f"levels [{i}]") for i, v in enumerate(value)]
        if len(set(levels)) != len(levels):
            raise InputError(f"levels must be distinct, got {levels}")
        return levels

    @field_validator("compute_budget")
    @classmethod
    def _budget(cls, value: float | None) -> float | None:
        return None if value is None else positive(value, "compute_budget", unit="seconds")

    @field_validator("memory_fraction")
    @classmethod
    def _memory(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise InputError(f"memory_fraction must be in (0, 1], got {value!r}")
        return value


class CMFLParams(_Strict):
    """``cmfl``: the relevance threshold (Wang, Wang & Li, ICDCS 2019).

    A client uploads when the relevance ``e(u, ū)`` of its update reaches ``threshold``;
    with ``end`` the threshold moves linearly from ``threshold`` in the first round to ``end``
    in the last.
    """

    threshold: float = Field(0.5, description="relevance a client's update needs, in [0, 1]")
    end: float | None = Field(None, description="the threshold of the last round (a schedule)")

    @field_validator("threshold", "end", mode="before")
    @classmethod
    def _unit(cls, value: Any) -> Any:
        if value is None:
            return value
        value = _number(value)
        if not 0 <= value <= 1:
            raise InputError(
                f"a relevance threshold is a share of parameters and must be in [0, 1], got "
                f"{value!r}"
            )
        return value


class FederatedParams(_Strict):
    """Parameters of ``kind: federated``."""

    kind: Literal["federated"] = "federated"
    server: str | None = Field(
        None,
        description="the aggregating node (default: 'cloud' if present, else the first device)",
    )
    clients: int | list[str] | None = Field(
        None,
        description="K: a count (the first K candidate devices) or device names (default: every "
        "edge_cloud tier-'device' node, else every device but the server)",
    )
    rounds: int = Field(20, ge=1)
    clients_per_round: int | None = Field(None, ge=1, description="m per round")
    fraction: float | None = Field(None, description="C: m = max(round(C·K), 1)")
    selection: Literal["uniform", "weighted"] = "uniform"
    algorithm: Literal["fedavg", "fedprox", "heterofl", "cmfl"] = Field(
        "fedavg",
        description="fedavg | fedprox (mu) | heterofl (width-sliced sub-models) | cmfl "
        "(relevance-filtered uploads)",
    )
    mu: float = Field(0.0, ge=0, description="fedprox: proximal coefficient")
    heterofl: HeteroFLParams | None = Field(
        None, description="heterofl: the width rates (default: auto from device capability)"
    )
    cmfl: CMFLParams | None = Field(None, description="cmfl: the relevance threshold")
    aggregation: Literal["weighted", "mean"] = Field(
        "weighted", description="weighted by samples (FedAvg) | mean (the notes, FedProx Alg. 2)"
    )
    local_epochs: int = Field(1, ge=1, description="E")
    batch_size: int | None = Field(10, ge=1, description="B (null: the full local data set)")
    lr: float = Field(0.05, gt=0, description="local SGD learning rate")
    stragglers: float = Field(
        0.0, description="share of the selected clients that do 1..E-1 epochs (FedProx §5.2)"
    )
    model: ModelParams = Field(default_factory=ModelParams)
    dtype: Literal["float16", "float32", "float64"] = Field(
        "float32", description="wire dtype: the bytes of a model or update on the network"
    )
    dataset: DatasetParams = Field(default_factory=DatasetParams)
    partition: PartitionParams | None = Field(
        None, description="default: natural for the synthetic data set, else iid"
    )
    sharing: SharingParams | None = None
    slowdown: StragglerDistribution | list[float] | dict[str, float] | None = Field(
        None,
        description="per-client compute slowdown, fixed per client: {dist: lognormal, sigma}, "
        "{dist: exponential, scale}, a list or a table (on top of cluster.slowdown)",
    )
    network: NetworkParams = Field(default_factory=NetworkParams)
    availability: AvailabilityParams = Field(default_factory=AvailabilityParams)
    errors: ErrorParams = Field(default_factory=ErrorParams)
    deadline: Seconds | None = Field(
        None, description="per-round deadline: the server aggregates what has arrived by then"
    )
    target_accuracy: float | None = Field(
        None, description="for rounds_to_target and time_to_target_s"
    )
    train: bool = Field(True, description="false: the same rounds for timing only")
    verify: bool = Field(True, description="run the checks")
    centralized: bool = Field(
        False, description="also train centralised SGD for weight_divergence (Zhao et al.)"
    )
    eval_every: int = Field(1, ge=1, description="rounds between evaluations of the global model")
    compare: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="label -> workload overrides: baselines run on a fresh copy of the cluster",
    )

    @field_validator("slowdown", mode="before")
    @classmethod
    def _parse_slowdown(cls, value: Any) -> Any:
        if value is None or isinstance(value, StragglerDistribution):
            return value
        if isinstance(value, dict) and "dist" in value:
            return validate_nested(StragglerDistribution, value)
        return _per_client(value, _number, "slowdown", lambda v, w: positive(v, w))

    @field_validator("deadline")
    @classmethod
    def _positive_deadline(cls, value: float | None) -> float | None:
        return None if value is None else positive(value, "deadline", unit="seconds")

    @field_validator("fraction")
    @classmethod
    def _fraction_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 1:
            raise InputError(f"fraction C must be in (0, 1], got {value!r}")
        return value

    @field_validator("stragglers")
    @classmethod
    def _straggler_share(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise InputError(f"stragglers must be a share in [0, 1], got {value!r}")
        return value

    @field_validator("target_accuracy")
    @classmethod
    def _target(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 1:
            raise InputError(f"target_accuracy must be in (0, 1], got {value!r}")
        return value

    @field_validator("clients")
    @classmethod
    def _clients(cls, value: int | list[str] | None) -> int | list[str] | None:
        if isinstance(value, int) and value < 1:
            raise InputError(f"clients must be a positive count, got {value!r}")
        if isinstance(value, list) and not value:
            raise InputError("clients: the list is empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FederatedParams:
        if self.clients_per_round is not None and self.fraction is not None:
            raise InputError("give clients_per_round or fraction, not both")
        if self.algorithm == "fedavg" and self.mu:
            raise InputError(
                f"mu ({self.mu}) applies only to algorithm fedprox (FedAvg has no proximal term)"
            )
        for name in ("heterofl", "cmfl"):
            if getattr(self, name) is not None and self.algorithm != name:
                raise InputError(
                    f"{name} applies only to algorithm {name}, got algorithm {self.algorithm!r}"
                )
        if self.algorithm == "heterofl" and self.model.name == "logistic":
            raise InputError(
                "algorithm heterofl slices the hidden layers of the model, and model 'logistic' "
                "has none; use model mlp (hidden widths) or cnn (channels)"
            )
        if self.algorithm == "cmfl" and not self.train:
            raise InputError(
                "algorithm cmfl decides from each update's numbers whether to upload it; it "
                "needs train: true"
            )
        natural = self.dataset.name == "synthetic"
        kind = self.partition_kind
        if natural and kind != "natural":
            raise InputError(
                f"partition {kind!r} does not apply to dataset 'synthetic', whose devices are "
                "the clients (partition: natural)"
            )
        if not natural and kind == "natural":
            raise InputError("partition 'natural' applies only to dataset 'synthetic'")
        if self.sharing is not None and natural:
            raise InputError("sharing applies to the pooled data sets (images, strokes, blobs)")
        if self.model.name == "cnn" and len(self.dataset.input_shape) != 3:
            raise InputError(
                f"model 'cnn' needs image data (dataset images or strokes), got dataset "
                f"{self.dataset.name!r}"
            )
        for label, override in self.compare.items():
            if not isinstance(override, dict):
                raise InputError(f"compare.{label}: expected a mapping of workload overrides")
            if "compare" in override:
                raise InputError(f"compare.{label}: a baseline cannot have baselines of its own")
            self.baseline(label)
        return self

    # resolved views ------------------------------------------------------------------
    @property
    def partition_kind(self) -> str:
        """The partition's kind with its default filled in."""
        if self.partition is not None:
            return self.partition.kind
        return "natural" if self.dataset.name == "synthetic" else "iid"

    @property
    def resolved_partition(self) -> PartitionParams:
        return self.partition or PartitionParams(kind=self.partition_kind)

    @property
    def wire_dtype(self) -> np.dtype:
        return np.dtype(_WIRE_DTYPES[self.dtype])

    @property
    def objective(self) -> str:
        """The local objective: ``proximal`` for FedProx, ``cross_entropy`` for FedAvg."""
        return "proximal" if self.algorithm == "fedprox" else "cross_entropy"

    @property
    def width(self) -> HeteroFLParams | None:
        """HeteroFL's rates (its defaults when the block is omitted), None for the others."""
        if self.algorithm != "heterofl":
            return None
        return self.heterofl or HeteroFLParams()

    @property
    def relevance(self) -> CMFLParams | None:
        """CMFL's threshold (its defaults when the block is omitted), None for the others."""
        if self.algorithm != "cmfl":
            return None
        return self.cmfl or CMFLParams()

    @property
    def keeps_partial_work(self) -> bool:
        """FedProx aggregates the stragglers' partial work; FedAvg drops it (Li et al. §5.2)."""
        return self.algorithm == "fedprox"

    def baseline(self, label: str) -> FederatedParams:
        """The workload of baseline ``label``: these parameters with its overrides, unverified."""
        data = self.model_dump(exclude={"compare"}, exclude_unset=True)
        override = self.compare[label]
        merged = _merge(data, override)
        merged["verify"] = override.get("verify", False)
        try:
            return FederatedParams.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise InputError(describe_error(error, FederatedParams, ("compare", label))) from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` applied, nested mappings merged key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
