"""What a data-parallel run does where: the workers, each layer's work, the buckets, the steps.

A :class:`Layout` is resolved once, in the kind's ``prepare`` step, from the parameters and the
cluster, and both the simulation and the analytic prediction read it. With ``sync: allreduce``
the workers are the first ``workers`` devices (default: all); with ``sync: parameter_server``
the parameter-server kind's own
:func:`~clustersim.training.parameter_server.layout.server_layout` chooses the servers and the
workers. An epoch is the whole global batches in
``dataset.samples``; ``epochs`` sets the iterations from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clustersim.collectives.algorithms import ALGORITHMS, CollectiveAlgorithm
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.training.data_parallel.compression import dgc_keep_fraction
from clustersim.training.data_parallel.costs import (
    LayerCost,
    buckets_of,
    mlp_layer_costs,
    profile_layer_costs,
)
from clustersim.training.data_parallel.params import DataParallelParams, DGCParams
from clustersim.training.parameter_server.layout import ServerLayout, server_layout
from clustersim.training.parameter_server.params import ParameterServerParams
from clustersim.training.profile_schema import ProfileModel, build_profile

__all__ = ["DEFAULT_ITERATIONS", "Layout", "layer_costs", "resolve_layout", "server_params"]

DEFAULT_ITERATIONS = 100
"""SGD steps when neither ``iterations`` nor ``epochs`` is given."""


@dataclass(frozen=True)
class Layout:
    """The resolved run.

    Attributes:
        ranks: the workers, in rank order.
        layers: each layer's work for one worker's batch.
        buckets: layer indices per gradient bucket, in backward order.
        iterations: SGD steps.
        iterations_per_epoch: whole global batches in the training set.
        keep: per iteration, the fraction of each layer DGC sends (1 without DGC).
        allgather: the all-gather that carries compressed payloads (``sync: allreduce``): the
            all-reduce's family when it has one, else ring.
        servers: the parameter servers' layout (``sync: parameter_server``), else None.
    """

    ranks: list[str]
    layers: list[LayerCost]
    buckets: list[list[int]]
    iterations: int
    iterations_per_epoch: int
    keep: tuple[float, ...]
    allgather: CollectiveAlgorithm
    servers: ServerLayout | None

    @property
    def workers(self) -> int:
        return len(self.ranks)

    @property
    def elements(self) -> int:
        """Gradient elements of the whole model."""
        return sum(layer.elements for layer in self.layers)

    def bucket_elements(self, b: int) -> int:
        """Gradient elements of bucket ``b``."""
        return sum(self.layers[i].elements for i in self.buckets[b])

    def bucket_names(self, b: int) -> list[str]:
        """The numpy model's parameter names in bucket ``b`` (empty when timing-only)."""
        return [n for i in self.buckets[b] for n in self.layers[i].names]


def layer_costs(params: DataParallelParams) -> list[LayerCost]:
    """Per-layer work of one worker's batch: the MLP's, or the profile's (timing only)."""
    if isinstance(params.model, ProfileModel):
        return profile_layer_costs(build_profile(params.model), params.batch_size, params.itemsize)
    return mlp_layer_costs(params.mlp_sizes(), params.batch_size, params.itemsize)


def server_params(
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


def _keep(params: DataParallelParams, iterations: int, per_epoch: int) -> tuple[float, ...]:
    comp = params.compression
    if not isinstance(comp, DGCParams):
        return (1.0,) * iterations
    return tuple(
        dgc_keep_fraction(k / per_epoch, comp.sparsity, comp.warmup_epochs)
        for k in range(iterations)
    )


def resolve_layout(cluster: Cluster, params: DataParallelParams) -> Layout:
    """Resolve the run on ``cluster``; InputError for one the cluster or the data cannot hold."""
    layers = layer_costs(params)
    total = sum(layer.elements for layer in layers)
    if total < 1:
        raise InputError("the model has no parameters: nothing to synchronise")
    servers = None
    if params.sync == "parameter_server":
        servers = server_layout(
            cluster, server_params(params, total * params.itemsize, params.workers)
        )
        ranks = servers.workers
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
        iterations = params.iterations or DEFAULT_ITERATIONS
    return Layout(
        ranks=list(ranks),
        layers=layers,
        buckets=buckets_of(layers, params.bucket_size, params.itemsize, params.overlap),
        iterations=iterations,
        iterations_per_epoch=per_epoch,
        keep=_keep(params, iterations, per_epoch),
        allgather=ALGORITHMS.get(
            ("allgather", params.algorithm), ALGORITHMS[("allgather", "ring")]
        ),
        servers=servers,
    )
