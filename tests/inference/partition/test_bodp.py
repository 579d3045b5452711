"""MoDNN's biased one-dimensional partition: strips in proportion to the workers' speeds,
against equal strips and against a 2-D grid on the same workers."""

from __future__ import annotations

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.inference.partition.helpers import star

VGG = {"name": "vgg16", "image_size": 128}


def _scenario(link: str = "1GbE", slow: bool = True, **workload):
    scenario = star(pis=4, link=link, model=VGG, partition="spatial", verify=False, **workload)
    if slow:
        scenario["cluster"]["slowdown"] = {"pi1": 2.0}
    return scenario


def test_strip_heights_follow_the_speeds() -> None:
    loaded = load_scenario(_scenario(sizing="speed"))
    _, plan = prepare_scenario(loaded, Simulation(1))
    rows = [rect.rows for rect in plan.geometry[0].owned]
    assert rows == [18, 37, 36, 37]  # 128 rows at 1/2 : 1 : 1 : 1, cut at 18.3, 54.9, 91.4


def test_bodp_balances_a_slow_worker_on_a_wired_switch() -> None:
    bodp = clustersim.run(_scenario(sizing="speed")).metrics
    equal = clustersim.run(_scenario()).metrics
    assert bodp["latency_s"] < 0.75 * equal["latency_s"]
    busy = bodp["busy_s_per_worker"]
    assert max(busy) < 1.1 * min(busy)


def test_the_grid_moves_fewer_halo_bytes_than_strips() -> None:
    strips = clustersim.run(_scenario(link="WiFi5", slow=False)).metrics
    grid = clustersim.run(_scenario(link="WiFi5", slow=False, tiles=[2, 2])).metrics
    # per 3x3 layer: 3 boundaries of W for strips, W + H + corners for the 2x2 grid
    assert grid["bytes_halo"] < 0.72 * strips["bytes_halo"]
    assert grid["delivery_s"] < strips["delivery_s"]
