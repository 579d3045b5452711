"""clustersim: a discrete-event simulator of machine-learning clusters with analytic cost models.

Public API::

    import clustersim
    result = clustersim.run("scenarios/ring_allreduce.yaml", overrides=["workload.size=1GiB"])
    result.metrics["time_s"], result.analytic["time_s"], result.checks

The names below are imported on first use, so ``import clustersim.collectives.kernels`` (or any
other low layer) does not pull in the scenario loader, YAML or pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Cluster", "Result", "Scenario", "__version__", "load_scenario", "run"]
__version__ = "0.1.0"

_LAZY = {
    "Cluster": "clustersim.hardware.cluster",
    "Result": "clustersim.result",
    "Scenario": "clustersim.scenario.loader",
    "load_scenario": "clustersim.scenario.loader",
    "run": "clustersim.scenario.runner",
}

if TYPE_CHECKING:
    from clustersim.hardware.cluster import Cluster
    from clustersim.result import Result
    from clustersim.scenario.loader import Scenario, load_scenario
    from clustersim.scenario.runner import run


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'clustersim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
