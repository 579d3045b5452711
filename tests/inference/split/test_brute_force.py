"""Every split of VGG-16 simulated on the cluster: each equals its closed form on a
contention-free link, and the one Neurosurgeon chooses is the fastest (or the most frugal)."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from tests.inference.split.helpers import scenario


@pytest.mark.parametrize(
    ("link", "mobile", "objective"),
    [("WiFi5", "dev0", "latency"), ("LTE-uplink", "dev1", "latency"), ("WiFi5", "dev1", "energy")],
)
def test_the_chosen_split_is_the_argmin_over_simulated_runs(
    link: str, mobile: str, objective: str
) -> None:
    chosen = clustersim.run(scenario(link, mobile=mobile, objective=objective))
    layers = chosen.metrics["layers"]
    key = "latency_s" if objective == "latency" else "mobile_energy_j"
    simulated = []
    for k in range(layers + 1):
        run = clustersim.run(scenario(link, mobile=mobile, objective=objective, split=k))
        assert run.checks["latency_equals_prediction"]["passed"], k
        assert run.metrics["latency_s"] == pytest.approx(
            run.analytic["split_latency_s"][k], rel=1e-12
        )
        simulated.append(run.metrics[key])
    assert chosen.metrics["split"] == int(np.argmin(simulated))
    assert chosen.metrics[key] == min(simulated)
