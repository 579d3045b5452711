"""Where the simulation departs from the bubble formula, and by how much theory says it must:
unbalanced stages, slow links, a straggler.
"""

from __future__ import annotations

import pytest

from clustersim.training.pipeline import costs
from tests.training.pipeline.helpers import GFLOP, PEAK, run


def test_unbalanced_stages_depart_upwards_as_a_flow_shop() -> None:
    """One stage twice as slow: GPipe's forward phase is a flow shop of M identical jobs,
    ``Σ f_k + (M-1)·max f``, and so is the backward phase: the bubble grows past
    (K-1)/(M+K-1) exactly by that much."""
    flops = [10, 10, 10, 10, 10, 10, 20, 20]  # stage 3 holds the two heavy layers
    layers = [{"flops": f"{f} GFLOP", "activation": "0 B"} for f in flops]
    k, m = 4, 8
    r = run({"schedule": "gpipe", "stages": k, "microbatches": m, "profile": {"layers": layers}})
    f = [(flops[2 * i] + flops[2 * i + 1]) * GFLOP / PEAK for i in range(k)]
    flow_shop = 3 * (sum(f) + (m - 1) * max(f))  # forward + backward (2x), flow-shop each
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(flow_shop, rel=1e-9)
    assert r.metrics["bubble_fraction"] > costs.gpipe_bubble_fraction(k, m) + 0.2
    per_stage = r.metrics["bubble_fraction_per_stage"]
    assert per_stage[3] < min(per_stage[:3])  # the slow stage idles least
    # the analytic time uses the slowest stage: (M+K-1)·t_max, an upper bound here
    assert r.metrics["time_per_minibatch_s"] < r.analytic["time_per_minibatch_s"]


def test_slow_links_add_the_transfer_time_on_the_critical_path() -> None:
    """Each hop costs c = route latency + size/bandwidth. While c < t_f the flow shop gains
    ``(K-1)·c`` forward and again backward; the bubble departs upwards by exactly that."""
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
    assert slow.metrics["time_per_minibatch_s"] == pytest.approx(
        slow.analytic["time_per_minibatch_s"] + 2 * (k - 1) * c, rel=1e-9
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
