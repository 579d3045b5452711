"""Which devices serve and which work: role ps nodes, and every other device by default."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.errors import InputError
from tests.training.parameter_server.helpers import BW, LAT, C, G, scenario


def test_role_ps_nodes_are_the_servers() -> None:
    spec = {
        "name": "ps-custom",
        "seed": 1,
        "cluster": {
            "topology": {
                "kind": "custom",
                "nodes": [
                    {"name": "w[0-2]"},
                    {"name": "sw", "kind": "switch"},
                    {"name": "ps0", "role": "ps"},
                ],
                "links": [{"a": "w[0-2]", "b": "sw"}, {"a": "ps0", "b": "sw"}],
            },
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": {"kind": "parameter_server", "model_size": G, "compute": C, "iterations": 2},
    }
    result = clustersim.run(spec)
    m = result.metrics
    assert m["servers"] == 1 and m["workers"] == 3
    assert m["bytes_per_link"]["sw->ps0"] == 2 * 3 * G
    assert m["time_per_iteration_s"] == pytest.approx(
        result.analytic["time_per_iteration_s"], rel=1e-9
    )
    spec["workload"]["servers"] = 2
    with pytest.raises(InputError, match="role: ps"):
        clustersim.run(spec)


def test_workers_default_to_every_other_device() -> None:
    spec = scenario(workers=4, nodes=6)
    del spec["workload"]["workers"]
    assert clustersim.run(spec).metrics["workers"] == 5
