"""Shared media: the stations of one Wi-Fi access point share its airtime in both directions."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware import topology as topo
from clustersim.hardware.network import FlowNetwork

BW = 1e8
LAT = 2e-3
SIZE = 5e7


def wifi_cell(stations: int = 3, wired: bool = False) -> FlowNetwork:
    """``stations`` devices on access point ``ap`` (a switch), on one medium unless ``wired``."""
    graph = topo.custom(
        nodes=[{"name": f"s[0-{stations - 1}]"}, {"name": "ap", "kind": "switch"}],
        links=[
            {"a": f"s{i}", "b": "ap", "bandwidth": BW, "latency": LAT}
            | ({} if wired else {"medium": True})
            for i in range(stations)
        ],
    )
    return FlowNetwork(Simulation(), graph)


def finish_times(net: FlowNetwork, flows: list[tuple[str, str]]) -> list[float]:
    pattern = net.pattern([net.index[a] for a, _ in flows], [net.index[b] for _, b in flows])
    got: list[float] = []

    def proc():
        value = yield net.transfer_all(pattern, SIZE)
        got.extend(value.tolist())

    net.sim.process(proc(), "flows")
    net.sim.run()
    return got


def test_a_station_alone_gets_latency_plus_size_over_bandwidth():
    assert finish_times(wifi_cell(), [("s0", "ap")]) == [LAT + SIZE / BW]


def test_two_stations_sending_at_once_get_half_each():
    times = finish_times(wifi_cell(), [("s0", "ap"), ("s1", "ap")])
    assert times == pytest.approx([LAT + 2 * SIZE / BW] * 2, rel=1e-12)


def test_upload_and_download_of_one_station_share_its_airtime():
    times = finish_times(wifi_cell(), [("s0", "ap"), ("ap", "s0")])
    assert times == pytest.approx([LAT + 2 * SIZE / BW] * 2, rel=1e-12)


def test_station_to_station_crosses_the_medium_twice():
    net = wifi_cell()
    pattern = net.pattern([net.index["s0"]], [net.index["s1"]])
    assert pattern.bottleneck.tolist() == [BW / 2]
    assert finish_times(net, [("s0", "s1")]) == pytest.approx([2 * LAT + 2 * SIZE / BW], rel=1e-12)


def test_wired_ports_do_not_share():
    times = finish_times(wifi_cell(wired=True), [("s0", "ap"), ("s1", "ap"), ("ap", "s2")])
    assert times == [LAT + SIZE / BW] * 3


def test_the_medium_carries_no_bytes_of_its_own():
    net = wifi_cell()
    finish_times(net, [("s0", "ap"), ("s1", "ap")])
    assert net.link_bytes.sum() == 2 * SIZE
    assert net.media == ["ap"]


def _scenario(topology: dict, link: str | None = "WiFi5") -> clustersim.Cluster:
    from clustersim.scenario.build import build_cluster

    raw = {
        "name": "media",
        "cluster": {"topology": topology} | ({"link": link} if link else {}),
        "workload": {"kind": "collective", "op": "allreduce", "size": "1 MiB"},
    }
    scenario = clustersim.load_scenario(raw)
    return build_cluster(scenario, Simulation())


def test_wifi_preset_on_a_switch_puts_every_port_on_the_switch_medium():
    cluster = _scenario({"kind": "switch", "nodes": 4})
    assert cluster.network.media == ["sw"]
    assert {m for _, _, m in cluster.graph.edges(data="medium")} == {"sw"}


def test_wired_preset_and_explicit_shared_false_stay_full_duplex():
    assert _scenario({"kind": "switch", "nodes": 4}, "1GbE").network.media == []
    cluster = _scenario({"kind": "switch", "nodes": 4}, {"preset": "WiFi5", "shared": False})
    assert cluster.network.media == []


def test_edge_cloud_devices_share_their_edge_servers_airtime():
    cluster = _scenario({"kind": "edge_cloud", "devices": 4, "edge_servers": 2}, link=None)
    assert cluster.network.media == ["edge0", "edge1"]
    on = {(a, b): m for a, b, m in cluster.graph.edges(data="medium")}
    assert on[("dev0", "edge0")] == "edge0" and on[("dev3", "edge1")] == "edge1"
    assert on[("edge0", "cloud")] is None  # the 1GbE uplink is a wire


def test_a_shared_medium_on_two_level_is_refused():
    with pytest.raises(InputError, match="two_level"):
        _scenario(
            {"kind": "two_level", "nodes": 2, "gpus_per_node": 2, "inter_link": "WiFi6"}, None
        )
