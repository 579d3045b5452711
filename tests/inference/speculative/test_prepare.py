"""``prepare``: the checks that need the cluster, the placement, and nothing simulated.

``clustersim validate`` runs ``prepare``, so every error here is found without running.
"""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario, prepare_scenario
from tests.inference.speculative.helpers import scenario


def test_bad_devices_are_input_errors() -> None:
    with pytest.raises(InputError, match="workload.target_device: 'gpu9' is not a device"):
        clustersim.run(scenario(target_device="gpu9"))
    with pytest.raises(InputError, match="medusa drafts inside the target model"):
        clustersim.run(scenario(method="medusa", draft_device="n1"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"target_device": "gpu9"}, "workload.target_device: 'gpu9' is not a device"),
        ({"draft_device": "gpu9"}, "workload.draft_device: 'gpu9' is not a device"),
        ({"method": "self_speculative", "draft_device": "n1"}, "self_speculative drafts inside"),
        ({"vocab": 100, "order": 3}, "vocab \\*\\* order = 1000000 states is too many"),
    ],
)
def test_validate_finds_what_only_the_cluster_or_the_toy_model_rejects(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        check_scenario(scenario(**override))


@pytest.mark.parametrize(
    ("workload", "target", "draft"),
    [
        ({"method": "autoregressive"}, "n0", None),
        ({"method": "speculative"}, "n0", "n0"),
        ({"method": "speculative", "draft_device": "n1"}, "n0", "n1"),
        ({"method": "pearl"}, "n0", "n1"),  # PEARL's draft defaults to the next device
        ({"method": "pearl", "target_device": "n1"}, "n1", "n0"),
        ({"method": "medusa"}, "n0", "n0"),
        ({"method": "self_speculative", "target_device": "n1"}, "n1", "n1"),
    ],
)
def test_placement(workload: dict[str, Any], target: str, draft: str | None) -> None:
    loaded = load_scenario(scenario(**workload))
    cluster, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    assert (plan.placement.target, plan.placement.draft) == (target, draft)
    assert plan.cluster is cluster and plan.placement.cluster is cluster
    assert (plan.setup.draft is None) == (workload["method"] in ("autoregressive", "medusa"))


def test_prepare_simulates_nothing() -> None:
    loaded = load_scenario(scenario(verify=True))
    cluster, _ = prepare_scenario(loaded, Simulation(loaded.seed))
    assert cluster.sim.events_processed == 0 and cluster.sim.now == 0
    assert cluster.standard_metrics()["bytes_total"] == 0
