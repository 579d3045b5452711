"""Every row carries the hash of its fully resolved scenario: the same in every process and
for every PYTHONHASHSEED, the same for equal values written differently, and different for
anything that changes the run."""

from __future__ import annotations

import os
import subprocess
import sys

from clustersim.scenario.loader import load_scenario
from clustersim.scenario.sweep_point import scenario_hash
from tests.paths import REPO, SCENARIOS

RING = SCENARIOS / "ring_allreduce.yaml"


def _hash(*overrides: str) -> str:
    return scenario_hash(load_scenario(RING, list(overrides)))


def test_the_hash_is_the_same_in_other_processes_and_hash_seeds() -> None:
    code = (
        "from clustersim.scenario.loader import load_scenario\n"
        "from clustersim.scenario.sweep_point import scenario_hash\n"
        f"print(scenario_hash(load_scenario({str(RING)!r}, ['workload.size=2MiB'])))\n"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("0", "4242")
    }
    assert hashes == {_hash("workload.size=2MiB")}


def test_equal_values_hash_equal_and_changes_hash_differently() -> None:
    base = _hash()
    assert _hash("workload.size=64MiB") == _hash("workload.size=67108864") == base
    assert _hash("workload.reduction=free") == base  # the default, written out
    assert _hash("description=another text") == base  # words, not the run
    changed = {
        _hash("workload.size=32MiB"),
        _hash("seed=2"),
        _hash("cluster.topology.nodes=4"),
        _hash("cluster.link.latency=1us"),
        _hash("expect.time_s.rtol=0.1"),
    }
    assert len(changed) == 5 and base not in changed
    assert len(base) == 64 and int(base, 16) >= 0
