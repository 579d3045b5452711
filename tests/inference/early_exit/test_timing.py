"""The process times each sample by the stages it ran, on its device: equal to the closed form,
batch 1 and batched, and the device's FLOP counter gets only the work that ran."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.inference.early_exit import costs
from clustersim.inference.early_exit.kind import KIND
from clustersim.inference.early_exit.process import run_exits
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.inference.early_exit.helpers import scenario


def _plan(**workload):
    loaded = load_scenario(scenario(**workload))
    _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    return plan


@pytest.mark.parametrize("batch", [1, 3])
def test_simulated_latency_equals_the_closed_form(batch: int) -> None:
    plan = _plan(batch=batch)
    exit_of = np.random.default_rng(0).integers(0, 2, 10)
    device = plan.cluster.devices[plan.device]
    latency = np.full(10, np.nan)
    device.sim.process(
        run_exits(device, plan.segments, plan.branches, exit_of, batch, latency), name="test"
    )
    device.sim.run()
    segment, branch = plan.tables()
    np.testing.assert_allclose(
        latency, costs.batch_latencies(exit_of, batch, segment, branch), rtol=1e-12
    )
    ran = sum(
        plan.segments[0].flops(1) + plan.branches[0].flops(1) + (e == 1) * plan.segments[1].flops(1)
        for e in exit_of
    )
    assert device.flops_done == pytest.approx(ran, rel=1e-12)


def test_an_early_exit_is_cheaper_than_the_main_network_alone() -> None:
    plan = _plan()
    path = np.array(KIND.analytic(plan)["latency_exit_s"])
    assert path[0] < path[1]
    assert KIND.analytic(plan)["latency_main_s"] < path[1]  # the last exit pays every branch


def test_a_slower_device_scales_every_latency() -> None:
    fast = clustersim.run(scenario(), ["workload.sweep=[]"])
    slow = clustersim.run(scenario(), ["cluster.slowdown.dev0=2.0"])
    assert slow.metrics["latency_s"] == pytest.approx(2 * fast.metrics["latency_s"], rel=1e-12)
    assert slow.metrics["exit_fraction"] == fast.metrics["exit_fraction"]
