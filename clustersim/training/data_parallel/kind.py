"""The ``data_parallel`` workload kind: synchronous data-parallel SGD, timed and really trained.

``workers`` replicas of a model each take ``batch_size`` samples of a global batch, compute a
gradient, synchronise it (``sync: allreduce`` with any all-reduce ``algorithm``, or
``sync: parameter_server``), and apply the same update. With an MLP ``model`` (layer sizes) the
replicas are real numpy networks (:mod:`clustersim.nn`) trained on a synthetic dataset
(:mod:`clustersim.training.datasets`), and the gradients that cross the simulated network are
the real ones; with a profile ``model`` (bytes and FLOPs per layer, as in ``kind: pipeline``)
the run is timing-only.

Three views (DESIGN.md §1):

* **kernel**: each worker's gradient is ``(1/(N·b)) Σ ∇loss`` over its ``b`` samples (the
  lecture notes' Algorithm 1 normalisation), so the all-reduced *sum* is the gradient of the mean
  loss over the global batch of ``N·b`` samples. The sum is computed by the chosen algorithm's
  own kernel replayed in step with the simulated transfers
  (:func:`clustersim.collectives.allreduce.allreduce`), or by the parameter server's sharded
  aggregation (:func:`clustersim.training.parameter_server.kind.ps_aggregate`). The check
  ``data_parallel_equals_single_worker`` trains one more model on the concatenated global batch
  with the same learning-rate schedule and compares weights after every step.
* **process**: one SimPy process per worker runs forward, then backward layer by layer, then
  (after the gradients are synchronised) the optimizer update, each as a roofline kernel on its
  device; one coordinator process runs the gradient exchange. Without ``overlap`` the exchange
  starts when every worker has finished its backward pass. With ``overlap: true`` gradients are
  grouped into buckets of about ``bucket_size`` bytes in backward order (PyTorch DDP's gradient
  bucketing, Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel
  Training", VLDB 2020, §3.2.3; default 25 MiB as in DDP) and a bucket's all-reduce starts as soon
  as every worker has produced it, while the backward pass goes on; buckets are all-reduced one
  after another (one communication stream).
* **cost**: :func:`analytic`. Compute per iteration ``C = F + Σ_l B_l + U`` (forward, per-layer
  backward and update rooflines); without overlap ``T = C + Σ_b A(G_b)`` with ``A`` the
  algorithm's alpha-beta time (or the parameter server's push + pull); with overlap the
  bucket recurrence ``e_b = max(r_b, e_{b-1}) + A(G_b)``, ``T = e_last + U``, where ``r_b`` is
  the time the last worker finishes bucket ``b``'s backward. Exact on contention-free topologies.

Learning rate (Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour",
arXiv:1706.02677, 2017, §2.1-2.2): ``lr`` is the rate for a batch of ``base_batch`` samples
(default ``batch_size``, one worker's batch). ``lr_scaling: linear`` multiplies it by
``global_batch / base_batch`` (the linear scaling rule), and ``warmup`` (epochs) ramps it
linearly from ``lr`` to the scaled rate over the first epochs (gradual warm-up), one increment per
iteration. Momentum SGD (:class:`clustersim.nn.SGD`) updates every replica (plain SGD with DGC's
momentum correction, whose velocity lives in the compressor).

Gradient compression (``compression``, kernels in :mod:`clustersim.training.data_parallel.compression`):
``{method: dgc}`` (Deep Gradient Compression: top-k sparsification with residuals, momentum
correction and factor masking, local clipping, warm-up; a Linear layer's weight and bias form
the one vector its top-k is taken over, the lecture notes' loop over layers ``j = 0..M``) and
``{method: terngrad}`` (stochastic ternary gradients, one scale per weight or bias tensor).
Each worker *encodes* its gradient and the encoded bytes are what cross the network.
Compressed gradients cannot be summed inside an all-reduce (the workers' sparse indices differ;
ternary sums leave the ternary alphabet), so with ``sync: allreduce`` the workers all-gather
each other's payloads (an all-gather with one chunk per worker of that worker's size, by the same
algorithm family when it exists, else ring) and every worker decodes and adds them, as the DGC
authors' Horovod implementation does (``allgather`` of values and indices). With a parameter
server, workers push their payloads (split over the servers in proportion to their
shards), the servers decode and sum, and the workers pull the *encoded aggregate*: for DGC the
union of the sent entries, for TernGrad the integer sums in ``[-N, N]`` at ``⌈lg(2N+1)⌉`` bits.
TernGrad's shared scale (the maximum over workers, "scaler sharing") costs one extra small
exchange of 4 bytes per layer before the payloads. Compression kernels are charged on the
device as memory-bound passes over the gradient (DGC 7: read G, U, V, write U, V, select, mask;
TernGrad 3); decoding and summing on receipt are not charged. Timing-only (profile) runs use the
expected encoded sizes (:func:`expected_payload_bytes`).

Metrics: ``time_per_iteration_s`` = makespan / iterations; ``compute_s`` the compute of the
slowest worker per iteration (forward, backward, update); ``communication_s`` the time the
gradient exchange is in progress per iteration; ``exposed_communication_s`` = iteration time -
compute (the communication that no computation hides); ``scaling_efficiency`` = one worker's
iteration time (its compute alone) over the data-parallel iteration time: the weak-scaling
efficiency, the fraction of the ideal ``N``-fold throughput that is achieved. With an MLP also
``final_loss`` (mean cross-entropy on the training set), ``final_accuracy`` (test set), the
training-loss curve and test-accuracy curve. With compression: ``compression_ratio`` (the bytes
a dense run puts on the network over the bytes this run put there), ``gradient_compression_ratio``
(dense gradient bytes over the encoded payload a worker sends: the ratio the DGC paper reports),
``compression_ratio_after_warmup`` (DGC, the iterations after the sparsity warm-up),
``bytes_per_iteration``, and ``dense_final_accuracy`` / ``dense_final_loss`` /
``dense_time_per_iteration_s`` (and the dense curves) of a dense run on the same seed, data and
cluster (``compare_dense``).

Checks: ``data_parallel_equals_single_worker`` (dense), ``dgc_residual_conserved`` (for every
worker at every step, the entries the receivers decoded plus the residual kept equal the
accumulated gradient, up to the float32 rounding of the sent values), ``terngrad_unbiased`` (the
mean of ``UNBIASED_DRAWS`` independent ternarisations of worker 0's first clipped gradient is
within Hoeffding's bound for that many draws of it, element by element; and so is the sum of
ternary minus clipped gradient over every step and worker of the run), and
``compressed_exchange_exact`` (every rank received every payload byte-for-byte).
"""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
import simpy
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from clustersim.collectives.algorithms import ALGORITHMS, CollectiveAlgorithm
from clustersim.collectives.allreduce import allreduce, allreduce_algorithm, allreduce_time
from clustersim.collectives.kernels import chunk_lengths
from clustersim.collectives.schedule import Plan
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind, check
from clustersim.kinds.validation import validate_nested
from clustersim.nn import SGD, Sequential, mlp, softmax_cross_entropy
from clustersim.training.data_parallel.compression import (
    COUNT_BYTES,
    DGCCompressor,
    DGCStep,
    decode_sparse,
    dgc_keep_fraction,
    encode_sparse,
    hoeffding_bound,
    kept_entries,
    level_bits,
    pack_levels,
    pack_ternary,
    ternarize,
    terngrad_clip,
    unpack_levels,
    unpack_ternary,
    varint_sizes,
)
from clustersim.training.datasets import (
    DEFAULT_CLASSES,
    DEFAULT_FEATURES,
    DatasetParams,
    GlobalBatchSampler,
    make_dataset,
)
from clustersim.training.parameter_server.kind import (
    ParameterServerParams,
    _layout,
    ps_aggregate,
)
from clustersim.training.parameter_server.kind import _Run as _PSRun
from clustersim.training.parameter_server.kind import (
    analytic as ps_analytic,
)
from clustersim.training.profile_schema import ProfileModel, build_profile
from clustersim.units import Bytes

__all__ = [
    "DGCParams",
    "DataParallelParams",
    "LayerCost",
    "TernGradParams",
    "analytic",
    "buckets_of",
    "expected_payload_bytes",
    "layer_costs",
    "learning_rate",
    "simulate",
]

DEFAULT_HIDDEN = 64
DEFAULT_BUCKET = 25 * 2**20
"""PyTorch DDP's default ``bucket_cap_mb`` (25 MiB)."""
UPDATE_PASSES = 5.0
"""Memory passes of a momentum-SGD update per parameter: read p, g, v; write p, v."""
COMPRESS_PASSES = {"dgc": 7.0, "terngrad": 3.0}
"""Memory passes over the gradient of the compression kernels (see the module docstring)."""
UNBIASED_DELTA = 1e-6
"""Family-wise false-alarm probability of the ``terngrad_unbiased`` bound."""
UNBIASED_DRAWS = 200
"""Extra ternarisations of the first gradient that ``terngrad_unbiased`` averages."""
_ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2}


# ------------------------------------------------------------------------------------ params
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
    algorithm: str = Field("ring", description="all-reduce algorithm (sync: allreduce)")
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

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        allreduce_algorithm(value)
        return value

    @field_validator("bucket_size")
    @classmethod
    def _positive_bucket(cls, value: float) -> float:
        if not value > 0:
            raise InputError(f"bucket_size must be a positive number of bytes, got {value!r}")
        return value

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
    def itemsize(self) -> int:
        return _ITEMSIZE[self.dtype]


# ------------------------------------------------------------------------------ layer costs
@dataclass(frozen=True)
class LayerCost:
    """One layer as the timing model sees it, for one worker's batch.

    Attributes:
        name: label for traces.
        elements: gradient elements (parameters) of the layer.
        fwd_flops, fwd_bytes, bwd_flops, bwd_bytes: roofline work of its forward and backward.
        names: the numpy model's parameter names of this layer (empty when timing-only).
    """

    name: str
    elements: int
    fwd_flops: float
    fwd_bytes: float
    bwd_flops: float
    bwd_bytes: float
    names: tuple[str, ...] = ()


def layer_costs(params: DataParallelParams) -> list[LayerCost]:
    """Per-layer work of one worker's batch.

    An MLP layer ``Linear(a, b)`` costs ``2·B·a·b`` FLOP forward (a multiply-add is 2 FLOP) and
    twice that backward (the data and the weight gradient: two matrix products), and moves its
    parameters plus its input and output activations (``B·(a+b)`` elements) forward, twice that
    backward. A profile layer's FLOPs scale with the batch, its memory traffic is its parameters
    plus the batch's input and output activations (the ``pipeline`` kind's convention).
    """
    b = params.batch_size
    item = params.itemsize
    out: list[LayerCost] = []
    if isinstance(params.model, ProfileModel):
        profile = build_profile(params.model)
        previous = profile.input_bytes
        for layer in profile.layers:
            fwd_bytes = layer.params + b * (previous + layer.activation)
            out.append(
                LayerCost(
                    layer.name,
                    round(layer.params / item),
                    b * layer.flops,
                    fwd_bytes,
                    b * layer.bwd_flops,
                    2.0 * fwd_bytes,
                )
            )
            previous = layer.activation
        return out
    sizes = params.mlp_sizes()
    for i in range(len(sizes) - 1):
        a, c = sizes[i], sizes[i + 1]
        elements = a * c + c
        flops = 2.0 * b * a * c
        moved = float(item * (elements + b * (a + c)))
        out.append(
            LayerCost(
                f"linear{i}",
                elements,
                flops,
                moved,
                2 * flops,
                2 * moved,
                (f"{2 * i}.weight", f"{2 * i}.bias"),
            )
        )
    return out


def buckets_of(
    layers: list[LayerCost], bucket_bytes: float, itemsize: int, overlap: bool
) -> list[list[int]]:
    """Layer indices per gradient bucket, in backward order (last layer first).

    Without overlap there is one bucket holding every layer. With overlap consecutive layers (in
    backward order) join a bucket until it holds at least ``bucket_bytes``; a final partial
    bucket is kept.
    """
    order = list(reversed(range(len(layers))))
    if not overlap:
        return [order]
    buckets: list[list[int]] = [[]]
    filled = 0.0
    for i in order:
        buckets[-1].append(i)
        filled += layers[i].elements * itemsize
        if filled >= bucket_bytes:
            buckets.append([])
            filled = 0.0
    return [b for b in buckets if b]


def learning_rate(
    params: DataParallelParams, k: int, workers: int, iterations_per_epoch: float
) -> float:
    """Goyal et al.'s schedule: linear scaling with gradual warm-up (see the module docstring)."""
    base = params.lr
    if params.lr_scaling == "none":
        return base
    target = base * workers * params.batch_size / (params.base_batch or params.batch_size)
    ramp = params.warmup * iterations_per_epoch
    if ramp > 0 and k < ramp:
        return base + (target - base) * k / ramp
    return target


# ------------------------------------------------------------------------------------ setup
@dataclass
class _Setup:
    """What both the simulation and the analytic model derive from the params."""

    params: DataParallelParams
    ranks: list[str]  # the workers, in rank order
    layers: list[LayerCost]
    buckets: list[list[int]]
    iterations: int
    iterations_per_epoch: int
    ps_params: ParameterServerParams | None = None
    ps_servers: list[str] = field(default_factory=list)

    @property
    def workers(self) -> int:
        return len(self.ranks)

    @property
    def method(self) -> str | None:
        return self.params.compression.method if self.params.compression else None

    def bucket_elements(self, b: int) -> int:
        return sum(self.layers[i].elements for i in self.buckets[b])

    def bucket_names(self, b: int) -> list[str]:
        return [n for i in self.buckets[b] for n in self.layers[i].names]

    def keep(self, k: int) -> float:
        """DGC's kept fraction in iteration ``k`` (1 without DGC)."""
        comp = self.params.compression
        if not isinstance(comp, DGCParams):
            return 1.0
        return dgc_keep_fraction(k / self.iterations_per_epoch, comp.sparsity, comp.warmup_epochs)

    def allgather(self) -> CollectiveAlgorithm:
        """The all-gather that carries compressed payloads: the all-reduce's family, else ring."""
        return ALGORITHMS.get(
            ("allgather", self.params.algorithm), ALGORITHMS[("allgather", "ring")]
        )


def _ps_params(
    params: DataParallelParams, model_bytes: float, workers: int | None, servers: int = 1
) -> ParameterServerParams:
    """The parameter-server kind's params for ``model_bytes`` of gradients, rounded up to whole
    elements, at least one per server (the PS formula for a payload of a few bytes)."""
    item = params.itemsize
    size = max(math.ceil(model_bytes / item), servers) * item
    return ParameterServerParams(
        workers=workers,
        servers=params.servers,
        model_size=size,
        dtype="float16" if item == 2 else "float32",
        iterations=1,
    )


def _setup(cluster: Cluster, params: DataParallelParams) -> _Setup:
    layers = layer_costs(params)
    total = sum(layer.elements for layer in layers)
    if total < 1:
        raise InputError("the model has no parameters: nothing to synchronise")
    ps_params = None
    servers: list[str] = []
    if params.sync == "parameter_server":
        ps_params = _ps_params(params, total * params.itemsize, params.workers)
        layout = _layout(cluster, ps_params)
        ranks, servers = layout.workers, layout.servers
    else:
        workers = params.workers if params.workers is not None else len(cluster.ranks)
        if workers > len(cluster.ranks):
            raise InputError(
                f"workers ({workers}) is more than the cluster's "
                f"{len(cluster.ranks)} devices; lower workers or add nodes to "
                "cluster.topology"
            )
        ranks = cluster.ranks[:workers]
    global_batch = len(ranks) * params.batch_size
    if global_batch > params.dataset.samples:
        raise InputError(
            f"the global batch (workers × batch_size = {len(ranks)} × {params.batch_size} = "
            f"{global_batch}) is larger than dataset.samples ({params.dataset.samples})"
        )
    per_epoch = params.dataset.samples // global_batch
    if params.epochs is not None:
        iterations = max(1, math.ceil(params.epochs * per_epoch))
    else:
        iterations = params.iterations or 100
    buckets = buckets_of(layers, params.bucket_size, params.itemsize, params.overlap)
    return _Setup(params, list(ranks), layers, buckets, iterations, per_epoch, ps_params, servers)


# ---------------------------------------------------------------------- expected payloads
def expected_payload_bytes(
    elements: int, keep: float, workers: int, method: str
) -> tuple[float, float]:
    """Expected encoded bytes of one layer of ``elements``: (one worker's push, the aggregate).

    DGC: ``k = ⌈keep·n⌉`` entries, each a float32 value and a varint gap of about ``n/k``, plus
    the count; the aggregate of ``N`` workers holds about ``n·(1-(1-keep)^N)`` distinct entries
    (independent uniform choices). TernGrad: ``⌈n/4⌉`` bytes (2 bits per element); the aggregate
    ``⌈n·⌈lg(2N+1)⌉/8⌉`` bytes. Used for timing-only runs and the analytic prediction.
    """
    n = max(int(elements), 1)
    if method == "terngrad":
        return float(math.ceil(n / 4)), float(math.ceil(n * level_bits(2 * workers + 1) / 8))

    def sparse(fraction: float) -> float:
        k = kept_entries(n, fraction)
        gap = max(round(n / k) - 1, 0)
        return float(COUNT_BYTES + k * (4 + int(varint_sizes(np.array([gap]))[0])))

    return sparse(keep), sparse(1.0 - (1.0 - keep) ** workers)


# -------------------------------------------------------------------------------- numerics
@functools.cache
def _openblas_threads() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """OpenBLAS's get/set thread-count functions, if numpy loaded OpenBLAS (Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(
                {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
            )
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", "64_"),
            ("openblas", ""),
        ):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                return get, put
    return None


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run the replay's matrix products on one OpenBLAS thread, then restore the setting.

    The replay multiplies small matrices (a batch of 32 by a 256-wide layer); threading them
    buys nothing and, on a machine whose cores are busy, makes each product wait for a
    second thread to be scheduled: 10-30x slower in our measurements. Without OpenBLAS (or off
    Linux) this does nothing. Results do not depend on the thread count (OpenBLAS splits the
    output matrix between threads, not the summation).
    """
    threads = _openblas_threads()
    if threads is None:
        yield
        return
    get, put = threads
    before = int(get())
    put(1)
    try:
        yield
    finally:
        put(before)


def _flatten(grads: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    return np.concatenate([grads[n].ravel() for n in names])


def _float32_ceil(x: float) -> float:
    """The smallest float32 >= ``x`` (a shared TernGrad scale must not shrink on the wire)."""
    y = np.float32(x)
    if float(y) < x:
        y = np.nextafter(y, np.float32(np.inf))
    return float(y)


class _Trainer:
    """The numpy side: replicas, data, gradients, compression, updates, and the checks."""

    def __init__(self, sim: Simulation, setup: _Setup) -> None:
        params = setup.params
        sizes = params.mlp_sizes()
        workers = setup.workers
        self.setup = setup
        self.params = params
        self.workers = workers
        self.dataset = make_dataset(
            params.dataset, sim.rng("data_parallel.dataset"), sizes[0], sizes[-1]
        )
        self.sampler = GlobalBatchSampler(
            params.dataset.samples, workers, params.batch_size, sim.rng("data_parallel.sampler")
        )
        self.model: Sequential = mlp(sizes, rng=sim.rng("data_parallel.init"))
        initial = self.model.parameters()
        self.shapes = {k: v.shape for k, v in initial.items()}
        self.sizes = {k: int(v.size) for k, v in initial.items()}
        self.replicas = [{k: v.copy() for k, v in initial.items()} for _ in range(workers)]
        self.optimizers = [SGD(r, params.lr, params.momentum) for r in self.replicas]
        self.global_batch = workers * params.batch_size
        self.method = setup.method
        self.names = [setup.bucket_names(b) for b in range(len(setup.buckets))]
        # the single-worker reference (dense runs)
        self.reference: dict[str, np.ndarray] | None = None
        self.reference_opt: SGD | None = None
        if params.verify and self.method is None:
            self.reference = {k: v.copy() for k, v in initial.items()}
            self.reference_opt = SGD(self.reference, params.lr, params.momentum)
        self.max_abs_err = 0.0
        self.max_weight = 0.0
        # compression state. DGC selects per layer: a Linear's weight and bias form one vector
        comp = params.compression
        self.layers = {layer.name: list(layer.names) for layer in setup.layers}
        self.layer_names = [[setup.layers[i].name for i in bucket] for bucket in setup.buckets]
        self.layer_sizes = {
            name: sum(self.sizes[n] for n in members) for name, members in self.layers.items()
        }
        self.compressors: list[DGCCompressor] = []
        if isinstance(comp, DGCParams):
            shapes = {name: (size,) for name, size in self.layer_sizes.items()}
            self.compressors = [
                DGCCompressor(
                    shapes,
                    frozenset(shapes),
                    workers,
                    params.momentum,
                    comp.sparsity,
                    comp.momentum_correction,
                    comp.momentum_masking,
                    comp.clip_norm if comp.clipping else None,
                    comp.warmup_epochs,
                )
                for _ in range(workers)
            ]
            if comp.momentum_correction:  # the velocity lives in U: the update is plain SGD
                self.optimizers = [SGD(r, params.lr, 0.0) for r in self.replicas]
        self.tern_rng = sim.rng("data_parallel.terngrad")
        self.check_rng = sim.rng("data_parallel.terngrad_check")
        self.sample_fraction = 0.0
        self.sample_err = 0.0
        self.tern_clip = comp.clip if isinstance(comp, TernGradParams) else None
        self.steps: list[DGCStep] = []
        self.clipped: list[dict[str, np.ndarray]] = []
        self.scales: dict[str, float] = {}
        self.payloads: list[list[np.ndarray]] = []  # [worker][bucket]
        self.pushed_bytes = 0.0
        self.clipped_steps = 0
        self.conservation_err = 0.0
        self.conservation_tol = 0.0
        self.conserved = True
        self.bias_sum = {n: np.zeros(s) for n, s in self.shapes.items()}
        self.range_sq = dict.fromkeys(self.shapes, 0.0)
        self.draws = 0
        self.delivered = True
        # curves, and per iteration: local gradients, then what each worker received
        self.losses: list[float] = []
        self.accuracy_points: list[tuple[int, float]] = []
        self.grads: list[dict[str, np.ndarray]] = []
        self.received: list[dict[str, np.ndarray]] = [{} for _ in range(workers)]
        self._batch: np.ndarray | None = None

    # gradients --------------------------------------------------------------------
    def _loss_grad(
        self, weights: dict[str, np.ndarray], idx: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        x = self.dataset.x_train[idx]
        y = self.dataset.y_train[idx]
        logits, cache = self.model.forward(x, weights)
        loss, grad = softmax_cross_entropy(logits, y, normalizer=self.global_batch)
        _, grads = self.model.backward(grad, cache, weights)
        return loss, grads

    def local_gradients(self, k: int) -> None:
        """Every worker's gradient contribution ``(1/(N·b)) Σ ∇loss`` on its batch, compressed
        and encoded when compression is on."""
        batch = self.sampler.batch(k)
        self._batch = batch
        self.grads = []
        total = 0.0
        for w in range(self.workers):
            loss, grads = self._loss_grad(self.replicas[w], batch[w])
            self.grads.append(grads)
            total += loss
        self.losses.append(total)
        self.received = [{} for _ in range(self.workers)]
        if self.method == "dgc":
            self._encode_dgc(k)
        elif self.method == "terngrad":
            self._encode_terngrad()

    def _layer_vectors(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: _flatten(grads, members) for name, members in self.layers.items()}

    def _split(self, layer: str, flat: np.ndarray) -> dict[str, np.ndarray]:
        return self._unflatten(self.layers[layer], flat)

    def _encode_dgc(self, k: int) -> None:
        epoch = k / self.setup.iterations_per_epoch
        self.steps = [
            c.step(self._layer_vectors(g), epoch)
            for c, g in zip(self.compressors, self.grads, strict=True)
        ]
        self.clipped_steps += sum(step.clip_factor < 1.0 for step in self.steps)
        self.payloads = [
            [encode_sparse([step.sparse[name] for name in names]) for names in self.layer_names]
            for step in self.steps
        ]
        self.pushed_bytes += sum(p.size for row in self.payloads for p in row)

    def _encode_terngrad(self) -> None:
        self.clipped = [
            {n: terngrad_clip(g, self.tern_clip) for n, g in grads.items()} for grads in self.grads
        ]
        self.scales = {
            n: _float32_ceil(max(float(np.abs(c[n]).max()) for c in self.clipped))
            for n in self.shapes
        }
        codes = [
            {n: ternarize(c[n], self.tern_rng, self.scales[n])[1] for n in self.shapes}
            for c in self.clipped
        ]
        self.payloads = [
            [np.concatenate([pack_ternary(code[n]) for n in names]) for names in self.names]
            for code in codes
        ]
        self.pushed_bytes += sum(p.size for row in self.payloads for p in row)
        if self.params.verify and not self.losses[:-1]:  # the first step: sample its estimator
            self._sample_unbiased(self.clipped[0])

    def _sample_unbiased(self, clipped: dict[str, np.ndarray]) -> None:
        """Average ``UNBIASED_DRAWS`` ternarisations of one gradient; compare with the bound."""
        elements = sum(self.sizes.values())
        for g in clipped.values():
            s = float(np.abs(g).max())
            if s <= 0:
                continue
            total = np.zeros(g.shape)
            for _ in range(UNBIASED_DRAWS):
                scale, t = ternarize(g, self.check_rng, s)
                total += scale * t - g
            bound = float(hoeffding_bound(UNBIASED_DRAWS * s * s, elements, UNBIASED_DELTA))
            worst = float(np.abs(total).max())
            self.sample_fraction = max(self.sample_fraction, worst / bound)
            self.sample_err = max(self.sample_err, worst / UNBIASED_DRAWS)

    # dense exchange ---------------------------------------------------------------
    def buffers(self, names: list[str]) -> np.ndarray:
        """(workers, elements) gradients of the named parameters, one row per worker."""
        return np.stack([_flatten(g, names) for g in self.grads])

    def _unflatten(self, names: list[str], flat: np.ndarray) -> dict[str, np.ndarray]:
        out, start = {}, 0
        for n in names:
            out[n] = flat[start : start + self.sizes[n]].reshape(self.shapes[n])
            start += self.sizes[n]
        return out

    def receive(self, w: int, names: list[str], flat: np.ndarray) -> None:
        self.received[w].update(self._unflatten(names, flat))

    # compressed exchange ----------------------------------------------------------
    def _decode(self, b: int, w: int, payload: np.ndarray) -> dict[str, np.ndarray]:
        """Worker ``w``'s contribution to bucket ``b`` as dense arrays, checking it on the way."""
        names = self.names[b]
        out: dict[str, np.ndarray] = {}
        if self.method == "dgc":
            layers = self.layer_names[b]
            sent: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for layer, part in zip(layers, self._decode_layers(b, payload), strict=True):
                assert isinstance(part, tuple)
                sent[layer] = part
                dense = np.zeros(self.layer_sizes[layer])
                dense[part[0]] = part[1]
                out.update(self._split(layer, dense))
            step = self.steps[w]
            err = self.compressors[w].conservation_error(step, sent)
            scale = max(
                (float(np.abs(step.accumulated[n]).max()) for n in sent if self.layer_sizes[n]),
                default=0.0,
            )
            tol = 2.0**-23 * scale  # float32 rounding of the sent values, with a factor 2
            self.conservation_err = max(self.conservation_err, err)
            self.conservation_tol = max(self.conservation_tol, tol)
            self.conserved &= err <= tol
            return out
        at = 0
        for n in names:
            size = self.sizes[n]
            width = math.ceil(size / 4)
            codes = unpack_ternary(payload[at : at + width], size)
            at += width
            value = (self.scales[n] * codes).reshape(self.shapes[n])
            self.bias_sum[n] += value - self.clipped[w][n]
            self.range_sq[n] += self.scales[n] ** 2
            out[n] = value
        return out

    def receive_gathered(self, b: int, payloads: list[np.ndarray]) -> None:
        """Every worker decodes every gathered payload and adds them up."""
        total: dict[str, np.ndarray] = {}
        for w, payload in enumerate(payloads):
            for n, value in self._decode(b, w, payload).items():
                total[n] = total[n] + value if n in total else value
        if self.method == "terngrad" and b == 0:
            self.draws += self.workers
        for w in range(self.workers):
            self.received[w].update(total)

    def _decode_layers(
        self, b: int, payload: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray] | np.ndarray]:
        return decode_sparse(
            payload, [(self.layer_sizes[layer], True) for layer in self.layer_names[b]]
        )

    def server_aggregate(self, b: int, payloads: list[np.ndarray]) -> np.ndarray:
        """The servers decode the pushed payloads, add them, and encode the sum for the pull."""
        names = self.names[b]
        if self.method == "terngrad":
            levels = {n: np.zeros(self.sizes[n], dtype=np.int64) for n in names}
            for w, payload in enumerate(payloads):
                for n, value in self._decode(b, w, payload).items():
                    levels[n] += np.rint(value.ravel() / self.scales[n]).astype(np.int64)
            if b == 0:
                self.draws += self.workers
            bits = level_bits(2 * self.workers + 1)
            return np.concatenate([pack_levels(levels[n], bits) for n in names])
        total = {n: np.zeros(self.shapes[n]) for n in names}
        for w, payload in enumerate(payloads):
            for n, value in self._decode(b, w, payload).items():
                total[n] += value
        layers: list[tuple[np.ndarray, np.ndarray] | np.ndarray] = []
        for layer in self.layer_names[b]:
            flat = _flatten(total, self.layers[layer])
            idx = np.flatnonzero(flat)
            layers.append((idx, flat[idx]))
        return encode_sparse(layers)

    def receive_pulled(self, b: int, pulled: np.ndarray) -> None:
        """Every worker decodes the aggregate it pulled."""
        names = self.names[b]
        out: dict[str, np.ndarray] = {}
        if self.method == "terngrad":
            bits = level_bits(2 * self.workers + 1)
            at = 0
            for n in names:
                width = math.ceil(self.sizes[n] * bits / 8)
                levels = unpack_levels(pulled[at : at + width], self.sizes[n], bits)
                at += width
                out[n] = (self.scales[n] * levels).reshape(self.shapes[n])
        else:
            for layer, part in zip(
                self.layer_names[b], self._decode_layers(b, pulled), strict=True
            ):
                assert isinstance(part, tuple)
                dense = np.zeros(self.layer_sizes[layer])
                dense[part[0]] = part[1]
                out.update(self._split(layer, dense))
        for w in range(self.workers):
            self.received[w].update(out)

    # update -----------------------------------------------------------------------
    def apply(self, k: int, lr: float) -> None:
        """Every replica applies what it received; the reference takes its own step."""
        for w in range(self.workers):
            self.optimizers[w].lr = lr
            self.optimizers[w].step(self.received[w])
        if self.reference is not None and self.reference_opt is not None:
            assert self._batch is not None
            _, grads = self._loss_grad(self.reference, self._batch.ravel())
            self.reference_opt.lr = lr
            self.reference_opt.step(grads)
            for replica in self.replicas:
                for name, ref in self.reference.items():
                    err = float(np.abs(replica[name] - ref).max())
                    self.max_abs_err = max(self.max_abs_err, err)
                    self.max_weight = max(self.max_weight, float(np.abs(ref).max()))

    # evaluation and checks --------------------------------------------------------
    def evaluate(self, k: int) -> None:
        self.accuracy_points.append((k, self.accuracy(self.replicas[0])))

    def accuracy(self, weights: dict[str, np.ndarray]) -> float:
        logits = self.model.forward(self.dataset.x_test, weights)[0]
        return float(np.mean(np.argmax(logits, axis=1) == self.dataset.y_test))

    def train_loss(self, weights: dict[str, np.ndarray]) -> float:
        logits = self.model.forward(self.dataset.x_train, weights)[0]
        return softmax_cross_entropy(logits, self.dataset.y_train)[0]

    def checks(self, steps: int) -> dict[str, dict[str, Any]]:
        if not self.params.verify:
            return {}
        if self.method is None:
            # Tolerance: the all-reduce sums N terms in another order than the single worker's
            # matrix product, a few units in the last place per step that training can amplify;
            # 1e-9·max(1, max|w|) is far above that and far below any real difference (a dropped
            # or doubled worker changes the weights by about lr·|g|).
            tolerance = 1e-9 * max(1.0, self.max_weight)
            return {
                "data_parallel_equals_single_worker": check(
                    self.max_abs_err <= tolerance,
                    max_abs_err=self.max_abs_err,
                    tolerance=tolerance,
                    steps=steps,
                    workers=self.workers,
                )
            }
        out = {
            "compressed_exchange_exact": check(self.delivered, steps=steps, workers=self.workers)
        }
        if self.method == "dgc":
            out["dgc_residual_conserved"] = check(
                self.conserved,
                max_abs_err=self.conservation_err,
                tolerance=self.conservation_tol,
                steps=steps,
                workers=self.workers,
            )
        else:
            elements = sum(self.sizes.values())
            ratio = 0.0
            worst = 0.0
            for n, total in self.bias_sum.items():
                if self.range_sq[n] > 0 and total.size:
                    bound = float(hoeffding_bound(self.range_sq[n], elements, UNBIASED_DELTA))
                    ratio = max(ratio, float(np.abs(total).max()) / bound)
                    worst = max(worst, float(np.abs(total).max()) / max(self.draws, 1))
            out["terngrad_unbiased"] = check(
                ratio <= 1.0 and self.sample_fraction <= 1.0,
                delta=UNBIASED_DELTA,
                sample_draws=UNBIASED_DRAWS,
                sample_max_mean_abs_err=self.sample_err,
                sample_bound_fraction=self.sample_fraction,
                run_draws=self.draws,
                run_max_mean_abs_err=worst,
                run_bound_fraction=ratio,
            )
        return out


# ---------------------------------------------------------------------------------- process
class _DataParallelRun:
    """One simulated run: worker processes, the exchange coordinator, and the numbers."""

    def __init__(self, cluster: Cluster, setup: _Setup, trainer: _Trainer | None) -> None:
        self.cluster = cluster
        self.setup = setup
        self.params = setup.params
        self.trainer = trainer
        self.env = cluster.sim.env
        self._events: dict[tuple[Any, ...], simpy.Event] = {}
        self._arrived: dict[tuple[int, int], int] = {}
        self.compute_per_worker = np.zeros((setup.iterations, setup.workers))
        self.comm_total = 0.0
        self.payload_bytes = 0.0
        self.bytes_per_iteration = np.zeros(setup.iterations)
        self.ps: _PSRun | None = None
        if setup.ps_params is not None:
            layout = _layout(cluster, setup.ps_params)
            self.ps = _PSRun(
                cluster,
                setup.ps_params,
                layout,
                np.zeros(setup.workers),
                np.ones((1, setup.workers)),
                None,
            )
        self.eval_every = self.params.eval_every or max(1, setup.iterations // 20)

    # events -------------------------------------------------------------------------
    def event(self, *key: Any) -> simpy.Event:
        ev = self._events.get(key)
        if ev is None:
            ev = self._events[key] = self.env.event()
        return ev

    def _arrive(self, k: int, b: int) -> None:
        count = self._arrived.get((k, b), 0) + 1
        self._arrived[(k, b)] = count
        if count == self.setup.workers:
            del self._arrived[(k, b)]
            self.event("ready", k, b).succeed()

    # processes ----------------------------------------------------------------------
    def worker(self, w: int) -> Generator[Any, Any, None]:
        setup = self.setup
        device = self.cluster.devices[setup.ranks[w]]
        layers = setup.layers
        item = self.params.itemsize
        fwd_flops = sum(layer.fwd_flops for layer in layers)
        fwd_bytes = sum(layer.fwd_bytes for layer in layers)
        elements = sum(layer.elements for layer in layers)
        update_bytes = UPDATE_PASSES * item * elements
        passes = COMPRESS_PASSES.get(setup.method or "", 0.0)
        for k in range(setup.iterations):
            start = self.env.now
            busy = 0.0
            end = yield from device.compute(fwd_flops, fwd_bytes, label="forward")
            busy += end - start
            for b, bucket in enumerate(setup.buckets):
                for i in bucket:
                    t = self.env.now
                    end = yield from device.compute(
                        layers[i].bwd_flops, layers[i].bwd_bytes, label=f"backward {layers[i].name}"
                    )
                    busy += end - t
                if passes:
                    t = self.env.now
                    end = yield from device.compute(
                        0.0, passes * item * setup.bucket_elements(b), label="compress"
                    )
                    busy += end - t
                self._arrive(k, b)
            yield self.event("synced", k)
            t = self.env.now
            end = yield from device.compute(2.0 * elements, update_bytes, label="update")
            busy += end - t
            self.compute_per_worker[k, w] = busy

    def coordinator(self) -> Generator[Any, Any, None]:
        setup = self.setup
        sent = self.cluster.network.node_bytes_sent
        for k in range(setup.iterations):
            before = float(sent.sum())
            for b in range(len(setup.buckets)):
                yield self.event("ready", k, b)
                if b == 0 and self.trainer is not None:
                    self.trainer.local_gradients(k)
                t = self.env.now
                if setup.method is None:
                    yield from self.exchange(k, b)
                else:
                    yield from self.compressed_exchange(k, b)
                self.comm_total += self.env.now - t
                self.cluster.sim.tracer.span(
                    ("gradients", "exchange"),
                    f"bucket {b}",
                    "exchange",
                    t,
                    self.env.now,
                    {"iteration": k},
                )
                self._events.pop(("ready", k, b), None)
            self.bytes_per_iteration[k] = float(sent.sum()) - before
            if self.trainer is not None:
                self.trainer.apply(
                    k, learning_rate(self.params, k, setup.workers, setup.iterations_per_epoch)
                )
                if (k + 1) % self.eval_every == 0 or k + 1 == setup.iterations:
                    self.trainer.evaluate(k + 1)
            self.event("synced", k).succeed()
            self._events.pop(("synced", k), None)

    # the gradient exchange -----------------------------------------------------------
    def exchange(self, k: int, b: int) -> Generator[Any, Any, None]:
        """Dense: all-reduce the bucket, or push it to the servers and pull the sum."""
        setup = self.setup
        elements = setup.bucket_elements(b)
        size = float(elements * self.params.itemsize)
        names = setup.bucket_names(b)
        trainer = self.trainer
        buffers = trainer.buffers(names) if trainer is not None else None
        if self.ps is None:
            yield from allreduce(self.cluster, setup.ranks, size, self.params.algorithm, buffers)
            if buffers is not None and trainer is not None:
                for w in range(setup.workers):
                    trainer.receive(w, names, buffers[w])
            return
        lengths = chunk_lengths(elements, len(setup.ps_servers))
        shard = lengths.astype(float) * self.params.itemsize
        yield from self._ps_phase("push", np.tile(shard, setup.workers), f"push {k}.{b}")
        total = ps_aggregate(buffers, lengths) if buffers is not None else None
        yield from self._ps_phase("pull", np.tile(shard, setup.workers), f"pull {k}.{b}")
        if total is not None and trainer is not None:
            for w in range(setup.workers):
                trainer.receive(w, names, total)

    def compressed_exchange(self, k: int, b: int) -> Generator[Any, Any, None]:
        """Compressed: all-gather the encoded payloads, or push them and pull the aggregate."""
        setup = self.setup
        trainer = self.trainer
        workers = setup.workers
        elements = setup.bucket_elements(b)
        if trainer is not None:
            payloads = [trainer.payloads[w][b] for w in range(workers)]
            sizes = np.array([p.size for p in payloads], dtype=float)
        else:
            push, pull = self._expected(k, b)
            payloads = []
            sizes = np.full(workers, push)
        self.payload_bytes += float(sizes.sum())
        if setup.method == "terngrad":  # scaler sharing: the max of 4-byte scales per layer
            scale_bytes = 4.0 * len(setup.buckets[b])
            if self.ps is None:
                yield from allreduce(self.cluster, setup.ranks, scale_bytes, self.params.algorithm)
            else:
                share = self._shares(elements) * scale_bytes
                yield from self._ps_phase("push", np.tile(share, workers), f"scales {k}.{b}")
                yield from self._ps_phase("pull", np.tile(share, workers), f"scales {k}.{b}")
        if self.ps is None:
            algorithm = setup.allgather()
            plan = Plan(workers, sizes)
            padded = None
            if payloads:
                width = int(sizes.max())
                padded = np.zeros((workers, workers, width), dtype=np.uint8)
                for w, p in enumerate(payloads):
                    padded[w, w, : p.size] = p
                expected = padded[np.arange(workers), np.arange(workers)].copy()
            if workers > 1:
                yield from algorithm.process(self.cluster, setup.ranks, plan, padded)
            if padded is not None and trainer is not None:
                trainer.delivered &= bool((padded == expected[np.newaxis]).all())
                trainer.receive_gathered(
                    b, [padded[0, w, : p.size] for w, p in enumerate(payloads)]
                )
            return
        share = self._shares(elements)
        yield from self._ps_phase("push", np.outer(sizes, share).ravel(), f"push {k}.{b}")
        if trainer is not None:
            pulled = trainer.server_aggregate(b, payloads)
            pull = float(pulled.size)
        yield from self._ps_phase("pull", np.tile(pull * share, workers), f"pull {k}.{b}")
        if trainer is not None:
            trainer.receive_pulled(b, pulled)

    def _expected(self, k: int, b: int) -> tuple[float, float]:
        setup = self.setup
        keep = setup.keep(k)
        push = pull = 0.0
        for i in setup.buckets[b]:
            if setup.layers[i].elements:
                a, c = expected_payload_bytes(
                    setup.layers[i].elements, keep, setup.workers, setup.method or "dgc"
                )
                push, pull = push + a, pull + c
        return push, pull

    def _shares(self, elements: int) -> np.ndarray:
        """Each server's fraction of a bucket (its shard of the elements)."""
        lengths = chunk_lengths(max(elements, 1), len(self.setup.ps_servers)).astype(float)
        return lengths / lengths.sum()

    def _ps_phase(self, direction: str, sizes: np.ndarray, label: str) -> Generator[Any, Any, None]:
        """One push or pull batch, flows worker-major and server-minor with ``sizes`` bytes."""
        assert self.ps is not None
        pattern = self.ps.pattern(direction, tuple(range(self.setup.workers)))
        if sizes.sum() > 0:
            yield self.cluster.network.transfer_all(pattern, sizes, label)


def _fresh_cluster(cluster: Cluster) -> Cluster:
    """A new cluster on the same topology, devices and seed, with tracing off."""
    specs = {name: d.spec for name, d in cluster.devices.items()}
    slowdowns = {name: d.slowdown for name, d in cluster.devices.items()}
    default = next(iter(specs.values()))
    return Cluster(
        Simulation(cluster.sim.seed), cluster.graph, default, specs=specs, slowdowns=slowdowns
    )


# ------------------------------------------------------------------------------- simulate
def _dense_bytes_total(setup: _Setup) -> float:
    """Bytes a dense run of this setup puts on the network (every iteration, all ranks)."""
    return setup.iterations * sum(_bucket_bytes_total(setup, b) for b in range(len(setup.buckets)))


def _train(cluster: Cluster, params: DataParallelParams) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the workload on ``cluster`` from t=0; return (metrics, checks)."""
    setup = _setup(cluster, params)
    trainer = _Trainer(cluster.sim, setup) if params.trains else None
    run = _DataParallelRun(cluster, setup, trainer)
    sim = cluster.sim
    for w, name in enumerate(setup.ranks):
        sim.process(run.worker(w), name=f"data-parallel worker {name}")
    sim.process(run.coordinator(), name="data-parallel gradient exchange")
    with _single_threaded_blas():
        sim.run()
        if trainer is not None:
            final_loss = trainer.train_loss(trainer.replicas[0])
            final_accuracy = trainer.accuracy(trainer.replicas[0])
    iters = setup.iterations
    makespan = sim.now
    per_iteration = makespan / iters
    compute = float(run.compute_per_worker.max(axis=1).mean())
    gradient_bytes = float(sum(layer.elements for layer in setup.layers) * params.itemsize)
    metrics: dict[str, Any] = {
        "time_per_iteration_s": per_iteration,
        "time_s": makespan,
        "compute_s": compute,
        "communication_s": run.comm_total / iters,
        "exposed_communication_s": per_iteration - compute,
        "scaling_efficiency": compute / per_iteration if per_iteration > 0 else 1.0,
        "throughput_samples_per_s": (
            setup.workers * params.batch_size / per_iteration if per_iteration > 0 else math.inf
        ),
        "iterations": iters,
        "workers": setup.workers,
        "global_batch": setup.workers * params.batch_size,
        "gradient_bytes": gradient_bytes,
        "buckets": len(setup.buckets),
        **cluster.standard_metrics(),
    }
    if setup.method is not None:
        sent = metrics["bytes_total"]
        dense = _dense_bytes_total(setup)
        metrics.update(
            {
                "dense_bytes_total": dense,
                "compression_ratio": dense / sent if sent > 0 else math.inf,
                "payload_bytes_per_worker": run.payload_bytes / (setup.workers * iters),
                "gradient_compression_ratio": (
                    gradient_bytes * setup.workers * iters / run.payload_bytes
                ),
            }
        )
        if isinstance(params.compression, DGCParams):
            metrics["final_sparsity"] = 1.0 - setup.keep(iters - 1)
            if trainer is not None:
                metrics["clipped_fraction"] = trainer.clipped_steps / (iters * setup.workers)
            start = min(
                math.ceil(params.compression.warmup_epochs * setup.iterations_per_epoch), iters
            )
            steady = run.bytes_per_iteration[start:]
            if steady.size and steady.sum() > 0:
                metrics["compression_ratio_after_warmup"] = (dense / iters) / float(steady.mean())
    metrics["bytes_per_iteration"] = run.bytes_per_iteration
    checks: dict[str, Any] = {}
    if trainer is not None:
        metrics.update(
            {
                "final_loss": final_loss,
                "final_accuracy": final_accuracy,
                "epochs": iters / setup.iterations_per_epoch,
                "train_loss_curve": trainer.losses,
                "test_accuracy_curve": [a for _, a in trainer.accuracy_points],
                "test_accuracy_iterations": [k for k, _ in trainer.accuracy_points],
            }
        )
        checks = trainer.checks(iters)
    metrics["sim_events"] = sim.events_processed
    return metrics, checks


def simulate(cluster: Cluster, params: DataParallelParams) -> Outcome:
    """Train (or, with a profile model, time) ``iterations`` synchronous SGD steps.

    With compression and ``compare_dense``, a dense run on a fresh copy of the cluster (same
    seed, so the same data, initial weights and batches) gives the ``dense_*`` metrics.
    """
    metrics, checks = _train(cluster, params)
    if params.compression is not None and params.compare_dense:
        dense_params = params.model_copy(update={"compression": None, "verify": False})
        dense, _ = _train(_fresh_cluster(cluster), dense_params)
        metrics["dense_time_per_iteration_s"] = dense["time_per_iteration_s"]
        metrics["dense_measured_bytes_total"] = dense["bytes_total"]
        if "final_accuracy" in dense:
            metrics["dense_final_accuracy"] = dense["final_accuracy"]
            metrics["dense_final_loss"] = dense["final_loss"]
            metrics["dense_train_loss_curve"] = dense["train_loss_curve"]
            metrics["dense_test_accuracy_curve"] = dense["test_accuracy_curve"]
        metrics["sim_events"] += dense["sim_events"]
    return Outcome(metrics=metrics, checks=checks)


# ------------------------------------------------------------------------------- analytic
def _bucket_comm_time(cluster: Cluster, setup: _Setup, b: int, keep: float) -> float:
    """Contention-free time of bucket ``b``'s exchange (compressed: expected payloads)."""
    params = setup.params
    workers = setup.workers
    size = float(setup.bucket_elements(b) * params.itemsize)
    if size <= 0:
        return 0.0
    if setup.method is None:
        if setup.ps_params is None:
            return allreduce_time(cluster, setup.ranks, size, params.algorithm)
        ps = _ps_params(params, size, workers, len(setup.ps_servers))
        return float(ps_analytic(cluster, ps)["communication_s"])
    push = pull = 0.0
    for i in setup.buckets[b]:
        if setup.layers[i].elements:
            a, c = expected_payload_bytes(setup.layers[i].elements, keep, workers, setup.method)
            push, pull = push + a, pull + c
    scales = 4.0 * len(setup.buckets[b]) if setup.method == "terngrad" else 0.0
    if setup.ps_params is None:
        out = allreduce_time(cluster, setup.ranks, scales, params.algorithm) if scales else 0.0
        if workers > 1:
            algorithm = setup.allgather()
            out += float(
                algorithm.analytic(cluster, setup.ranks, Plan(workers, np.full(workers, push)))[
                    "time_s"
                ]
            )
        return out
    servers = len(setup.ps_servers)
    out = float(ps_analytic(cluster, _ps_params(params, push, workers, servers))["push_s"])
    out += float(ps_analytic(cluster, _ps_params(params, pull, workers, servers))["pull_s"])
    if scales:
        scale_params = _ps_params(params, scales, workers, servers)
        out += float(ps_analytic(cluster, scale_params)["communication_s"])
    return out


def _bucket_bytes_total(setup: _Setup, b: int) -> float:
    """Bytes bucket ``b``'s dense exchange puts on the wire (all ranks, one iteration)."""
    params = setup.params
    size = float(setup.bucket_elements(b) * params.itemsize)
    if setup.ps_params is None:
        if setup.workers < 2:
            return 0.0
        return allreduce_algorithm(params.algorithm).traffic(size, setup.workers)
    return 2.0 * setup.workers * size


def _iteration_time(cluster: Cluster, setup: _Setup, keep: float) -> tuple[float, float, float]:
    """(iteration time, compute, communication) of one contention-free iteration."""
    params = setup.params
    layers = setup.layers
    item = params.itemsize
    elements = sum(layer.elements for layer in layers)
    devices = [cluster.devices[name] for name in setup.ranks]
    passes = COMPRESS_PASSES.get(setup.method or "", 0.0)
    fwd = np.array(
        [
            d.compute_time(sum(x.fwd_flops for x in layers), sum(x.fwd_bytes for x in layers))
            for d in devices
        ]
    )
    update = np.array(
        [d.compute_time(2.0 * elements, UPDATE_PASSES * item * elements) for d in devices]
    )
    ready = fwd.copy()
    comm_end = 0.0
    comm_total = 0.0
    for b, bucket in enumerate(setup.buckets):
        for i in bucket:
            ready += np.array(
                [d.compute_time(layers[i].bwd_flops, layers[i].bwd_bytes) for d in devices]
            )
        if passes:
            ready += np.array(
                [d.compute_time(0.0, passes * item * setup.bucket_elements(b)) for d in devices]
            )
        comm = _bucket_comm_time(cluster, setup, b, keep)
        comm_end = max(float(ready.max()), comm_end) + comm
        comm_total += comm
    return float((comm_end + update).max()), float((ready + update).max()), comm_total


def analytic(cluster: Cluster, params: DataParallelParams) -> dict[str, Any]:
    """The contention-free iteration (see the module docstring for the formulas).

    With DGC's warm-up the kept fraction changes per epoch; the prediction averages the
    iteration over the schedule.
    """
    setup = _setup(cluster, params)
    keeps = [setup.keep(k) for k in range(setup.iterations)]
    times = {keep: _iteration_time(cluster, setup, keep) for keep in set(keeps)}
    per_iteration = float(np.mean([times[keep][0] for keep in keeps]))
    compute = float(np.mean([times[keep][1] for keep in keeps]))
    comm = float(np.mean([times[keep][2] for keep in keeps]))
    out: dict[str, Any] = {
        "time_per_iteration_s": per_iteration,
        "time_s": per_iteration * setup.iterations,
        "compute_s": compute,
        "communication_s": comm,
        "exposed_communication_s": per_iteration - compute,
        "scaling_efficiency": compute / per_iteration if per_iteration > 0 else 1.0,
    }
    if setup.method is None:
        out["bytes_total"] = _dense_bytes_total(setup)
    else:
        out["dense_bytes_total"] = _dense_bytes_total(setup)
    return out


def _details() -> list[str]:
    return [
        "T = F + ΣB_l + Σ_b A(G_b) + U; overlap: e_b = max(r_b, e_(b-1)) + A(G_b), T = e_last + U "
        "[bucketing: Li et al. VLDB 2020 §3.2.3]",
        "lr_scaling linear: lr·Nb/base_batch, warmup ramps from lr [Goyal et al. "
        "arXiv:1706.02677 §2]",
        "compression dgc: top-k + residuals, momentum correction/masking, local clipping, "
        "warm-up; payloads all-gathered [Lin et al. ICLR 2018]; terngrad: s·sign(g)∘Bernoulli"
        "(|g|/s), clip c·σ [Wen et al. NeurIPS 2017]",
    ]


def _prepare(cluster: Cluster, params: Any) -> tuple[Cluster, Any]:  # TRANSITION
    return cluster, params


KIND = WorkloadKind(
    name="data_parallel",
    description="synchronous data-parallel SGD of a real numpy MLP (or a timing-only profile): "
    "all-reduce or parameter server, overlap, lr scaling, DGC and TernGrad",
    params=DataParallelParams,
    prepare=_prepare,  # TRANSITION: replaced by the real prepare step
    simulate=lambda plan: simulate(*plan),
    analytic=lambda plan: analytic(*plan),
    details=_details,
)
