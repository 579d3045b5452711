"""two_level with ``nic: shared``: the GPUs of a server reach the network through one NIC
(PipeDream's Cluster-A servers), so their traffic off the server shares its bandwidth."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.hardware.topology import two_level

GB = 1e9


def _graph(nic: str) -> object:
    return two_level(
        nodes=2,
        gpus_per_node=2,
        intra_bandwidth=16 * GB,
        intra_latency=1e-6,
        inter_bandwidth=1.25 * GB,
        inter_latency=5e-6,
        nic=nic,
    )


def test_the_shared_nic_is_a_switch_between_the_gpus_and_the_network() -> None:
    g = _graph("shared")
    assert g.graph["nic"] == "shared"
    assert g.nodes["n0nic"]["kind"] == "switch" and g.nodes["n0nic"]["group"] == 0
    assert set(g.neighbors("n0nic")) == {"n0g0", "n0g1", "net"}
    assert g.has_edge("n0g0", "n0g1")  # traffic inside the server keeps its direct link
    assert not g.has_edge("n0g0", "net")
    assert set(_graph("per_gpu").neighbors("n0g0")) == {"n0g1", "net"}
    with pytest.raises(InputError, match="nic must be 'per_gpu'"):
        _graph("two")


@pytest.mark.parametrize(("nic", "factor"), [("per_gpu", 1), ("shared", 2)])
def test_two_gpus_sending_off_the_server_share_its_nic(nic: str, factor: int) -> None:
    """Both GPUs of server 0 send 125 MB to server 1 at once: 0.1 s each through their own
    NICs, 0.2 s through a shared one (5 us per hop aside)."""
    spec = {
        "name": "nic",
        "cluster": {
            "topology": {
                "kind": "two_level",
                "nodes": 2,
                "gpus_per_node": 2,
                "intra_link": {"bandwidth": "16 GB/s", "latency": "1 us"},
                "inter_link": {"bandwidth": "1.25 GB/s", "latency": "5 us"},
                "nic": nic,
            },
            "device": "V100",
        },
        "workload": {
            "kind": "collective",
            "op": "allgather",
            "algorithm": "ring",
            "size": "500 MB",
            "ranks": ["n0g0", "n1g0", "n0g1", "n1g1"],
        },
    }
    r = clustersim.run(spec)
    # a ring over n0g0 -> n1g0 -> n0g1 -> n1g1 -> n0g0: every hop leaves a server, two per NIC
    per_step = 125e6 / 1.25e9
    assert r.metrics["time_s"] == pytest.approx(3 * factor * per_step, rel=1e-3)
