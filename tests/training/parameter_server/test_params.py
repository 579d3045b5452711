"""Bad parameters are clear input errors, found by ``validate`` as well as ``run``."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.training.parameter_server.helpers import MB, run, scenario


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backup_workers": 4}, r"backup_workers \(4\) must be less than workers \(4\)"),
        ({"workers": 9}, r"servers \+ workers \(1 \+ 9\) is more than the cluster's 5 devices"),
        ({"servers": 5}, r"servers \(5\) leaves no worker"),
        ({"mode": "ssp"}, "mode ssp needs a staleness bound"),
        ({"staleness": 2}, "staleness .* applies only to mode ssp"),
        ({"mode": "async", "backup_workers": 1}, "backup_workers .* applies only to mode sync"),
        ({"stragglers": [1.0, 2.0]}, r"one factor per worker \(4\), got 2"),
        ({"stragglers": [1.0, 0.0, 1.0, 1.0]}, "positive finite factor"),
        ({"stragglers": {"dist": "lognormal", "scale": 2}}, "scale does not apply to dist"),
        ({"stragglers": {"dist": "exponential", "scale": -1}}, "scale must be a positive"),
        ({"model_size": 4003}, "not a whole number of float32 elements"),
        ({"model_size": 0}, "model_size must be a positive"),
        ({"compute": "fast"}, "compute must be a time such as '20 ms'"),
        ({"compute": "-1 s"}, "compute must be a non-negative time"),
        ({"iteration": 3}, "unknown key 'iteration'"),
        ({"servers": 2, "workers": 3, "model_size": 4}, "fewer than the 2 servers"),
    ],
)
def test_bad_params_are_input_errors(changes: dict, message: str) -> None:
    spec = scenario(workers=4, nodes=5)
    spec["workload"].update(changes)
    with pytest.raises(InputError, match=message):
        clustersim.run(spec)


def test_verify_refuses_large_replays() -> None:
    with pytest.raises(InputError, match="verify: false"):
        run(workers=4, model_size=200 * MB, verify=True)


def test_validate_finds_what_only_the_cluster_rejects() -> None:
    with pytest.raises(InputError, match="verify: false"):
        check_scenario(scenario(workers=4, model_size=200 * MB, verify=True))
    with pytest.raises(InputError, match="leaves no worker"):
        check_scenario(scenario(workers=4, nodes=5, servers=5))
