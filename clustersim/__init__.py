"""clustersim: a discrete-event simulator of machine-learning clusters with analytic cost models.

Public API::

    import clustersim
    result = clustersim.run("scenarios/ring_allreduce.yaml", overrides=["workload.size=1GiB"])
    result.metrics["time_s"], result.analytic["time_s"], result.checks
"""

from __future__ import annotations

from clustersim.hardware.cluster import Cluster
from clustersim.result import Result
from clustersim.scenario.loader import Scenario, load_scenario
from clustersim.scenario.runner import run

__all__ = ["Cluster", "Result", "Scenario", "__version__", "load_scenario", "run"]
__version__ = "0.1.0"
