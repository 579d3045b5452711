"""FederatedPlan: what the kind's ``prepare`` resolves for ``simulate`` and ``analytic``.

Its own module because both :mod:`~clustersim.federated.kind` and
:mod:`~clustersim.federated.process` use it, and the process must not import the kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from clustersim.federated.heterofl import WidthPlan
from clustersim.federated.params import FederatedParams
from clustersim.hardware.cluster import Cluster

__all__ = ["FederatedPlan"]


@dataclass(frozen=True)
class FederatedPlan:
    """What :func:`simulate` and :func:`analytic` share.

    Attributes:
        cluster: where the run happens (a copy of the scenario's topology when per-client
            bandwidths or slowdowns apply).
        base: the scenario's cluster (baselines run on fresh copies of it).
        params: the workload.
        server: the aggregating node.
        clients: client device names; a client's index is its position here.
        m: clients selected per round.
        own_sizes, sizes: each client's samples of the partitioned data, and with its share
            of the shared data (what it trains on).
        parameters: the model's number of parameters.
        model_bytes: bytes of the model (and of an update) at the wire dtype.
        client_parameters: the parameters each client downloads, trains and uploads (its
            HeteroFL sub-model's; the whole model's otherwise).
        client_bytes: bytes of each client's model and update at the wire dtype.
        epoch_work: each client's (FLOP, bytes) of one local epoch (of its sub-model).
        epoch_kernels: each client's kernels of one local epoch
            (:func:`~clustersim.federated.costs.local_kernels`).
        packet_loss: each client's link loss rate.
        offline: each client's offline intervals ``(start, end)``.
        shadow: the run is in FedSGD's regime (``fedavg_equals_sgd`` compares every round).
        widths: HeteroFL's rates and sub-models (None for the other algorithms).
    """

    cluster: Cluster
    base: Cluster
    params: FederatedParams
    server: str
    clients: list[str]
    m: int
    own_sizes: np.ndarray
    sizes: np.ndarray
    parameters: int
    model_bytes: float
    client_parameters: np.ndarray
    client_bytes: np.ndarray
    epoch_work: list[tuple[float, float]]
    epoch_kernels: list[int]
    packet_loss: np.ndarray
    offline: list[list[tuple[float, float]]] = field(default_factory=list)
    shadow: bool = False
    widths: WidthPlan | None = None

    def offline_at(self, now: float) -> np.ndarray:
        """Which clients the schedule has offline at ``now``."""
        return np.array([any(a <= now < b for a, b in spans) for spans in self.offline])

    def next_offline(self, k: int, now: float) -> float:
        """When client ``k`` next goes offline at or after ``now`` (``now`` if it is; inf if
        never)."""
        starts = [now if a <= now < b else a for a, b in self.offline[k] if b > now]
        return min(starts, default=math.inf)
