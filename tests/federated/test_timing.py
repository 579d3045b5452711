"""The simulated clock: contention-free rounds equal the straggler formula; shared links and a
shared Wi-Fi medium stretch them; the breakdown adds up to the round."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.hardware.presets import get_device, get_link
from tests.federated.helpers import run, scenario, star

MODEL_BYTES = (8 * 10 + 10) * 4  # logistic regression on 8 features, float32


def test_contention_free_round_is_the_slowest_clients_time() -> None:
    """Every client on its own 100 Mbps link, the server on 100 Gbps: each client's round is
    download + compute + upload alone on its path, and the round is the slowest one's."""
    slow = [1.0, 2.0, 8.0, 1.5, 3.0, 1.0, 1.0, 4.0, 1.0, 2.5]
    r = run({"slowdown": slow, "rounds": 2})
    rpi = get_device("RaspberryPi4")
    latency = 1e-3 + 1e-6
    flops_per_epoch = 3 * 2 * 60 * 8 * 10 + 6 * 2 * 90  # 60 samples: 6 steps of B = 10
    moved = 6 * (3 * 4 * (90 + 10 * 18) + 3 * 90 * 4)
    compute = np.array([rpi.roofline_time(flops_per_epoch, moved) * s for s in slow])
    transfer = latency + MODEL_BYTES / 12.5e6
    expected = compute + 2 * transfer
    assert r.analytic["client_round_time_s"] == pytest.approx(expected.tolist(), rel=1e-12)
    aggregate = get_device("RaspberryPi4").roofline_time(2.0 * 90 * 10, 11 * 90 * 4)
    assert r.metrics["round_time_s"] == pytest.approx([expected.max() + aggregate] * 2, rel=1e-9)
    assert r.analytic["round_time_mean_s"] == pytest.approx(
        r.metrics["round_time_mean_s"], rel=1e-9
    )
    # the straggler's colleagues wait for it: the mean wait is the mean gap to the slowest
    assert r.metrics["round_waiting_s"][0] == pytest.approx(
        float(np.mean(expected.max() - expected)), rel=1e-9
    )


def test_breakdown_adds_up_to_the_round_time() -> None:
    r = run(
        {
            "slowdown": {"dist": "lognormal", "sigma": 0.8},
            "clients_per_round": 4,
            "rounds": 5,
            "deadline": "60 ms",
        }
    )
    m = r.metrics
    total = (
        np.array(m["round_download_s"])
        + m["round_compute_s"]
        + m["round_upload_s"]
        + m["round_waiting_s"]
        + m["round_aggregate_s"]
    )
    assert total == pytest.approx(m["round_time_s"], rel=1e-12)
    assert np.diff([0.0, *m["time_curve_s"]]) == pytest.approx(m["round_time_s"], rel=1e-12)


def test_stations_of_one_access_point_share_its_airtime() -> None:
    """Two Wi-Fi 5 stations downloading at once each get half the access point's airtime."""
    cluster = {
        "topology": {
            "kind": "edge_cloud",
            "devices": 2,
            "edge_servers": 1,
            "device_link": "WiFi5",
            "edge_link": "10GbE",
        }
    }
    big = {"model": {"name": "mlp", "hidden": [512]}, "rounds": 1, "server": None}
    r = clustersim.run(scenario(big, cluster=cluster))
    size = r.metrics["model_bytes"]
    wifi_bw, wifi_lat = get_link("WiFi5")
    _, edge_lat = get_link("10GbE")
    alone = wifi_lat + edge_lat + size / wifi_bw
    shared = wifi_lat + edge_lat + 2 * size / wifi_bw
    assert r.metrics["round_download_s"][0] == pytest.approx(shared, rel=1e-9)
    assert r.analytic["client_round_time_s"][0] > 2 * alone  # the formula assumes no sharing
    assert r.metrics["round_time_mean_s"] > r.analytic["round_time_mean_s"]


def test_uploads_contend_at_the_servers_link() -> None:
    """Ten clients on 100 Mbps links behind a 100 Mbps server link: the downloads share it."""
    cluster = star(10)
    cluster["topology"]["links"][0]["bandwidth"] = "100 Mbps"
    r = clustersim.run(
        scenario({"model": {"name": "mlp", "hidden": [256]}, "rounds": 1}, cluster=cluster)
    )
    size = r.metrics["model_bytes"]
    assert r.metrics["round_download_s"][0] == pytest.approx(
        1e-3 + 1e-6 + 10 * size / 12.5e6, rel=1e-9
    )


def test_per_client_bandwidth_replaces_each_access_link() -> None:
    rates = [f"{10 * (k + 1)} Mbps" for k in range(10)]
    r = run(
        {"network": {"bandwidth": rates}, "rounds": 1, "model": {"name": "mlp", "hidden": [64]}}
    )
    size = r.metrics["model_bytes"]
    times = np.array(r.analytic["client_round_time_s"])
    rates_bps = np.array([10e6 * (k + 1) / 8 for k in range(10)])
    # the slowest link is the 10 Mbps one: its two transfers dominate the round
    assert np.argmax(times) == 0
    assert r.metrics["round_download_s"][0] == pytest.approx(
        float(np.mean(1e-3 + 1e-6 + size / rates_bps)), rel=1e-9
    )


def test_timing_only_gives_the_same_clock() -> None:
    work = {
        "clients_per_round": 4,
        "rounds": 4,
        "slowdown": {"dist": "lognormal", "sigma": 0.5},
        "network": {"packet_loss": 0.05},
        "availability": {"dropout_probability": 0.2},
    }
    trained = run(work).metrics
    timed = run({**work, "train": False}).metrics
    for key in (
        "time_curve_s",
        "bytes_up_total",
        "bytes_down_total",
        "selected_per_client",
        "participation_per_client",
        "updates_dropped",
    ):
        assert trained[key] == timed[key], key
    assert "final_accuracy" not in timed


def test_events_grow_with_clients_per_round_not_with_clients() -> None:
    def events(clients: int, per_round: int) -> int:
        cluster = {"topology": {"kind": "edge_cloud", "devices": clients, "edge_servers": 2}}
        wl = {
            "server": None,
            "clients_per_round": per_round,
            "rounds": 5,
            "train": False,
            "dataset": {"name": "blobs", "samples": 10 * clients, "features": 8},
        }
        return clustersim.run(scenario(wl, cluster=cluster)).metrics["sim_events"]

    few, many = events(50, 10), events(500, 10)
    assert many <= 1.1 * few
    assert events(500, 40) > 3 * few


def test_clients_on_lte_5g_and_wifi_presets_get_their_links_times() -> None:
    """A custom topology: one phone on LTE, one on 5G, one Pi on Wi-Fi 6, all to the cloud."""
    cluster = {
        "topology": {
            "kind": "custom",
            "nodes": [
                {"name": "cloud", "preset": "A100"},
                {"name": "phone4g"},
                {"name": "phone5g"},
                {"name": "pi", "preset": "RaspberryPi4"},
            ],
            "links": [
                {"a": "phone4g", "b": "cloud", "preset": "LTE-uplink"},
                {"a": "phone5g", "b": "cloud", "preset": "5G-uplink"},
                {"a": "pi", "b": "cloud", "preset": "WiFi6"},
            ],
        },
        "device": "JetsonOrinNano",
    }
    r = clustersim.run(scenario({"server": "cloud", "rounds": 1}, cluster=cluster))
    size = r.metrics["model_bytes"]
    times = r.analytic["client_round_time_s"]
    for t, link in zip(times, ("LTE-uplink", "5G-uplink", "WiFi6"), strict=True):
        bandwidth, latency = get_link(link)
        assert t > 2 * (latency + size / bandwidth)
        assert t < 2 * (latency + size / bandwidth) + 1e-3  # plus the local epoch
    # then the A100 server aggregates: one kernel, its 5 us launch and a few ns of roofline
    aggregate = r.metrics["round_aggregate_s"][0]
    assert 5e-6 < aggregate < 5.1e-6
    assert r.metrics["round_time_s"][0] == pytest.approx(max(times) + aggregate, rel=1e-6)
