"""ADCNN's adaptive hand-out: a conv node twice as slow gets fewer tiles, and the inference
ends sooner than with a static equal split of the same tiles."""

from __future__ import annotations

import clustersim
from tests.inference.partition.helpers import star

WORKLOAD = {"model": {"name": "vgg16", "image_size": 128}, "partition": "fdsp", "tiles": [4, 4]}


def _run(schedule: str, straggler: bool):
    scenario = star(pis=4, schedule=schedule, verify=False, **WORKLOAD)
    if straggler:
        scenario["cluster"]["slowdown"] = {"pi2": 2.0}
    return clustersim.run(scenario).metrics


def test_a_straggler_gets_fewer_tiles_and_the_adaptive_split_wins() -> None:
    static, adaptive = _run("static", True), _run("adaptive", True)
    assert static["tiles_per_worker"] == [4, 4, 4, 4]
    tiles = adaptive["tiles_per_worker"]
    assert sum(tiles) == 16 and tiles[1] < min(tiles[0], tiles[2], tiles[3])
    assert adaptive["latency_s"] < 0.85 * static["latency_s"]
    # the static split waits for the straggler: twice the others' compute
    busy = static["busy_s_per_worker"]
    assert busy[1] > 1.9 * max(busy[0], busy[2], busy[3])


def test_without_a_straggler_both_schedules_split_evenly() -> None:
    static, adaptive = _run("static", False), _run("adaptive", False)
    assert adaptive["tiles_per_worker"] == [4, 4, 4, 4]
    assert abs(adaptive["latency_s"] - static["latency_s"]) < 0.02 * static["latency_s"]
