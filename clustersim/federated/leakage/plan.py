"""LeakagePlan: what the kind's ``prepare`` resolves for ``simulate`` and ``analytic``.

Its own module because both :mod:`~clustersim.federated.leakage.kind` and
:mod:`~clustersim.federated.leakage.process` use it, and the process must not import the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from clustersim.federated.leakage.kernels import SmoothMLP
from clustersim.federated.leakage.params import LeakageParams
from clustersim.hardware.cluster import Cluster

__all__ = ["LeakagePlan"]


@dataclass(frozen=True)
class LeakagePlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the workload.
        client: the victim device; server: the attacker.
        model: the client's MLP.
        labels: a label per defence (``prune 0.3``), distinct.
        batch_sizes: the victim's batch under each defence.
        tensors: ``(elements, is_weight)`` of every tensor of the gradient, in wire order.
    """

    cluster: Cluster
    params: LeakageParams
    client: str
    server: str
    model: SmoothMLP
    labels: list[str]
    batch_sizes: list[int]
    tensors: list[tuple[int, bool]]

    @property
    def block(self) -> int:
        """Private samples per target: the largest batch of any defence."""
        return max(self.batch_sizes)
