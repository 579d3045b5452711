"""The simulated partitions against their closed forms: equal where no two flows share a link
(every node pair on its own 1 GbE link), slower where they do (one switch, Wi-Fi airtime)."""

from __future__ import annotations

import pytest

import clustersim
from tests.inference.partition.helpers import fully_connected, star

VGG64 = {"name": "vgg16", "image_size": 64}
VGG128 = {"name": "vgg16", "image_size": 128}
ATTENTION = {"name": "attention", "seq_len": 128, "embed": 192, "heads": 4}

CONTENTION_FREE = [
    {"model": VGG64, "partition": "spatial", "tiles": [2, 2]},
    {"model": VGG64, "partition": "spatial", "tiles": [2, 2], "fuse": 2},
    {"model": VGG128, "partition": "spatial", "tiles": [2, 2], "fuse": "all"},
    {"model": VGG128, "partition": "fdsp", "tiles": [2, 4], "prefetch": 1},
    {"model": VGG128, "partition": "fdsp", "tiles": [2, 4], "prefetch": 2},
    {"model": VGG64, "partition": "channel"},
    {"model": ATTENTION, "partition": "head"},
    {"model": ATTENTION, "partition": "sequence"},
    {"model": ATTENTION, "partition": "sequence", "input": "replicated"},
]


@pytest.mark.parametrize("workload", CONTENTION_FREE, ids=lambda w: f"{w['partition']}")
def test_simulation_equals_the_critical_path_on_links_of_their_own(workload) -> None:
    r = clustersim.run(fully_connected(verify=False, **workload))
    assert r.metrics["latency_s"] == pytest.approx(r.analytic["latency_s"], rel=1e-9)
    assert r.metrics["bytes_total"] == r.analytic["bytes_total"]
    assert r.metrics["single_device_latency_s"] == pytest.approx(
        r.analytic["single_device_latency_s"], rel=1e-12
    )


@pytest.mark.parametrize("link", ["1GbE", "WiFi5"])
def test_shared_links_only_slow_it_down(link: str) -> None:
    workload = {"model": VGG128, "partition": "spatial", "tiles": [4, 1], "verify": False}
    r = clustersim.run(star(link=link, **workload))
    assert r.metrics["latency_s"] > r.analytic["latency_s"]
    if link == "WiFi5":  # worker-to-worker halos cross the access point's airtime twice
        assert r.metrics["delivery_s"] > 0.5 * r.metrics["latency_s"]


def test_adaptive_tiles_are_bounded_by_the_fluid_model() -> None:
    workload = {"model": VGG128, "partition": "fdsp", "tiles": [4, 4], "schedule": "adaptive"}
    r = clustersim.run(fully_connected(verify=False, **workload))
    m, a = r.metrics, r.analytic
    one_tile = max(m["busy_s_per_worker"]) / min(m["tiles_per_worker"])
    assert a["latency_s"] <= m["latency_s"] <= a["latency_s"] + 2 * one_tile
