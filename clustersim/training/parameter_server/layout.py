"""Which devices serve and which work, and how the parameters are sharded over the servers.

The servers are the devices with ``role: ps`` in a custom topology, otherwise the first
``servers`` devices in rank order; the workers are the next ``workers`` devices (default: all
the others). The parameters are split into one shard per server, as evenly as whole elements
allow (:func:`clustersim.collectives.kernels.chunk_lengths`). Every check here needs the cluster,
so :func:`server_layout` runs in the kind's ``prepare`` step (and in ``clustersim validate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clustersim.collectives.kernels import chunk_lengths
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.training.parameter_server.params import ParameterServerParams, check_worker_counts
from clustersim.units import format_bytes

__all__ = ["ServerLayout", "server_layout"]


@dataclass(frozen=True)
class ServerLayout:
    """The servers and workers of a run (device names, rank order) and the shard sizes.

    Attributes:
        servers: the server devices; server ``s`` holds shard ``s``.
        workers: the worker devices.
        shard_bytes: bytes of each server's shard.
        lengths: elements of each server's shard.
    """

    servers: list[str]
    workers: list[str]
    shard_bytes: np.ndarray
    lengths: np.ndarray


def server_layout(cluster: Cluster, params: ParameterServerParams) -> ServerLayout:
    """Choose the servers and workers on ``cluster`` and shard ``params.model_size`` over them.

    Raises InputError for a switch with ``role: ps``, a ``servers`` count that disagrees with the
    ``role: ps`` nodes, no device left to work, more workers than devices, or fewer elements than
    servers.
    """
    devices = cluster.ranks
    ps_nodes = [n for n in devices if cluster.graph.nodes[n].get("role") == "ps"]
    switches_ps = [
        n
        for n, d in cluster.graph.nodes(data=True)
        if d.get("role") == "ps" and d.get("kind") != "device"
    ]
    if switches_ps:
        raise InputError(
            f"node {switches_ps[0]!r} has role ps but is a switch; a parameter "
            "server must be a device node"
        )
    if ps_nodes:
        if params.servers is not None and params.servers != len(ps_nodes):
            raise InputError(
                f"workload.servers is {params.servers} but the topology has {len(ps_nodes)} "
                f"nodes with role: ps ({', '.join(ps_nodes[:6])}); drop servers or make them "
                "agree"
            )
        servers = ps_nodes
    else:
        count = params.servers or 1
        if count >= len(devices):
            raise InputError(
                f"workload.servers ({count}) leaves no worker: the cluster has {len(devices)} "
                "devices"
            )
        servers = devices[:count]
    others = [n for n in devices if n not in set(servers)]
    workers = params.workers if params.workers is not None else len(others)
    if workers > len(others):
        raise InputError(
            f"servers + workers ({len(servers)} + {workers}) is more than the cluster's "
            f"{len(devices)} devices; lower workers or add nodes to cluster.topology"
        )
    if workers < 1:
        raise InputError("the cluster has no device left to be a worker")
    check_worker_counts(params, workers)
    elements = int(params.model_size) // params.itemsize
    if elements < len(servers):
        raise InputError(
            f"model_size {format_bytes(params.model_size)} has {elements} {params.dtype} "
            f"elements, fewer than the {len(servers)} servers it is sharded across"
        )
    lengths = chunk_lengths(elements, len(servers))
    return ServerLayout(
        servers, others[:workers], (lengths * params.itemsize).astype(float), lengths
    )
