"""Same scenario and seed, same JSON byte for byte: across runs and across hash seeds.

Python randomises the hash of strings per process (``PYTHONHASHSEED``), which changes the order
of sets; a result that depended on it would differ between two runs of the same command. Each
case runs twice in fresh interpreters with different hash seeds, and the outputs (``wall_s``
aside) must be identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.paths import SCENARIOS

CASES = {
    "ring_allreduce.yaml": ["workload.size=1MiB"],
    "ps_stragglers.yaml": ["workload.iterations=10"],
    "data_parallel_minimal.yaml": ["workload.iterations=20"],
    "speculative_methods.yaml": ["workload.tokens=64"],
}

CODE = """
import json, sys
import clustersim
result = clustersim.run(sys.argv[1], sys.argv[2:])
print(result.to_json(include_wall=False))
"""


def _run(name: str, overrides: list[str], hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", CODE, str(SCENARIOS / name), *overrides],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_is_identical_across_runs_and_hash_seeds(name: str) -> None:
    first = _run(name, CASES[name], "0")
    second = _run(name, CASES[name], "4242")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["metrics"]
