"""The numerics of the collectives stay light: the kernels, the schedule data and every
algorithm module load without SimPy, pydantic or the scenario layer (docs/architecture.md §2),
so a kernel-level import of the ring costs numpy and nothing else."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    "clustersim.collectives.kernels",
    "clustersim.collectives.schedule",
    "clustersim.collectives.costs",
    "clustersim.collectives.ring",
    "clustersim.collectives.recursive",
    "clustersim.collectives.trees",
    "clustersim.collectives.direct",
    "clustersim.collectives.chain",
    "clustersim.collectives.tuning",
]
FORBIDDEN = ("simpy", "yaml", "pydantic", "clustersim.scenario", "matplotlib", "networkx")


@pytest.mark.parametrize("module", LIGHT)
def test_module_loads_only_numpy_and_lower_layers(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"import {module} loads {done.stdout.strip()}"
