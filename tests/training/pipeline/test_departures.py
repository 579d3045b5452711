"""Where the simulation departs from the balanced bubble formula, and how the analytic side
follows the stages given: unbalanced stages, slow links, a straggler.
"""

from __future__ import annotations

import pytest

from clustersim.training.pipeline import costs
from tests.training.pipeline.helpers import GFLOP, PEAK, run

UNBALANCED = [10, 10, 10, 10, 10, 10, 20, 20]
"""GFLOP per layer: with 4 stages of 2 layers, stage 3 holds the two heavy layers."""


def test_unbalanced_stages_are_a_flow_shop_and_the_analytic_says_so() -> None:
    """One stage twice as slow: GPipe's forward phase is a flow shop of M identical jobs,
    ``Σ f_k + (M-1)·max f``, and so is the backward phase. The analytic time and bubble are
    those of the stages given, so they equal the simulation; the balanced formula
    (K-1)/(M+K-1) is far below."""
    layers = [{"flops": f"{f} GFLOP", "activation": "0 B"} for f in UNBALANCED]
    k, m = 4, 8
    r = run({"schedule": "gpipe", "stages": k, "microbatches": m, "profile": {"layers": layers}})
    f = [(UNBALANCED[2 * i] + UNBALANCED[2 * i + 1]) * GFLOP / PEAK for i in range(k)]
    flow_shop = 3 * (sum(f) + (m - 1) * max(f))  # forward + backward (2x), flow-shop each
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(flow_shop, rel=1e-9)
    assert r.analytic["time_per_minibatch_s"] == pytest.approx(flow_shop, rel=1e-9)
    busy = 3 * m * sum(f)
    assert r.analytic["bubble_fraction"] == pytest.approx(1 - busy / (k * flow_shop), rel=1e-12)
    assert r.metrics["bubble_fraction"] == pytest.approx(r.analytic["bubble_fraction"], rel=1e-9)
    assert r.metrics["bubble_fraction"] > costs.gpipe_bubble_fraction(k, m) + 0.2
    per_stage = r.metrics["bubble_fraction_per_stage"]
    assert per_stage[3] < min(per_stage[:3])  # the slow stage idles least


def test_unbalanced_1f1b_equals_its_closed_form_when_the_slowest_stage_is_last() -> None:
    """1F1B with the slowest stage last: ``Σ_k t_k + (M-1)·max t``, that stage alternating
    forwards and backwards without idling once the first micro-batch reached it. With the
    slowest stage first the same expression is an upper bound: that stage's warm-up forwards
    overlap the downstream round trip of its first micro-batch."""
    k, m = 4, 8
    times = {}
    for heavy in (3, 0):
        flops = [10] * 8
        flops[2 * heavy] = flops[2 * heavy + 1] = 20
        layers = [{"flops": f"{f} GFLOP", "activation": "0 B"} for f in flops]
        r = run({"schedule": "1f1b", "stages": k, "microbatches": m, "profile": {"layers": layers}})
        t = [3 * (flops[2 * i] + flops[2 * i + 1]) * GFLOP / PEAK for i in range(k)]
        assert r.analytic["time_per_minibatch_s"] == pytest.approx(sum(t) + (m - 1) * max(t))
        times[heavy] = (r.metrics["time_per_minibatch_s"], r.analytic["time_per_minibatch_s"])
        if heavy == 3:
            assert r.metrics["bubble_fraction"] == pytest.approx(
                r.analytic["bubble_fraction"], rel=1e-9
            )
    assert times[3][0] == pytest.approx(times[3][1], rel=1e-9)
    assert times[0][0] < times[0][1]
    # the slowest stage first: its 4 warm-up forwards (1.6 ms) wait for the first micro-batch's
    # downstream round trip (0.4 + 1.8 ms), then it computes without idling: 2.2 + 9.6 - 1.6
    assert times[0][0] == pytest.approx(10.2e-3, rel=1e-9)


def test_slow_links_add_the_transfer_time_on_the_critical_path() -> None:
    """Each hop costs c = route latency + size/bandwidth. While c < t_f the flow shop gains
    ``(K-1)·c`` forward and again backward; the analytic flush prices every boundary as a
    machine of the flow shop, so it moves with the simulation, away from the communication-free
    closed form by exactly that."""
    k, m = 4, 8
    wl = {
        "schedule": "gpipe",
        "stages": k,
        "microbatches": m,
        "profile": {"count": 8, "flops": "10 GFLOP", "activation": "10 MB"},
    }
    fast = run(wl)
    slow = run(wl, link={"bandwidth": "100 GB/s", "latency": "5 us"})
    c = 2 * 5e-6 + 10e6 / 100e9  # two hops through the switch, then the bytes
    t_stage = 2 * 3 * 10 * GFLOP / PEAK  # 2 layers, forward + backward (2x) of 10 GFLOP
    free = costs.pipeline_flush_time("gpipe", k, m, t_stage)
    assert slow.metrics["time_per_minibatch_s"] == pytest.approx(free + 2 * (k - 1) * c, rel=1e-9)
    assert slow.analytic["time_per_minibatch_s"] == pytest.approx(
        slow.metrics["time_per_minibatch_s"], rel=1e-9
    )
    assert slow.analytic["bubble_fraction"] == pytest.approx(
        slow.metrics["bubble_fraction"], rel=1e-9
    )
    assert fast.metrics["bubble_fraction"] == pytest.approx(
        costs.gpipe_bubble_fraction(k, m), rel=1e-4
    )
    assert slow.metrics["bubble_fraction"] > fast.metrics["bubble_fraction"] + 0.01


def test_a_straggler_slows_its_stage() -> None:
    wl = {"schedule": "1f1b", "stages": 4, "microbatches": 8}
    r = run(wl, slowdown={"n1": 2.0})
    assert r.metrics["stage_compute_time_s"][1] == pytest.approx(
        2 * r.metrics["stage_compute_time_s"][0]
    )
    assert r.metrics["bubble_fraction"] > costs.bubble_fraction("1f1b", 4, 8) + 0.1
    assert r.metrics["bubble_fraction_per_stage"][1] == min(r.metrics["bubble_fraction_per_stage"])
    # the analytic side prices the straggler's stage: Σ t + (M-1)·max t bounds the run
    assert r.metrics["time_per_minibatch_s"] <= r.analytic["time_per_minibatch_s"] * (1 + 1e-9)
