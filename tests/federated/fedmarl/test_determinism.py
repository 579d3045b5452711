"""Same scenario and seed, same agents and comparison."""

from __future__ import annotations

import clustersim
from tests.federated.fedmarl.helpers import scenario


def test_a_rerun_is_identical_and_another_seed_is_not() -> None:
    small = {"episodes": 2, "verify": False}
    a = clustersim.run(scenario(small)).metrics
    b = clustersim.run(scenario(small)).metrics
    c = clustersim.run(scenario(small, seed=5)).metrics
    assert a == b
    assert a["learning_reward_curve"] != c["learning_reward_curve"]
