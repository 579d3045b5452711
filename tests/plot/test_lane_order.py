"""Which lanes a timeline shows and in which order: busy ones only, by node in rank order, each
node's streams then its links, links between switches last by tier."""

from __future__ import annotations

import clustersim
from clustersim.core.trace import Tracer
from clustersim.plot import plot_timeline
from clustersim.plot.timeline import ordered_lanes
from tests.paths import SCENARIOS
from tests.plot.helpers import cluster_trace, labels


def test_idle_lanes_are_left_out_and_counted() -> None:
    t = cluster_trace(["n0", "n1"])
    t.declare_lane(("n2", "compute"))
    t.declare_lane(("n2", "comm"))
    fig = plot_timeline(t)
    assert not any(label.startswith("n2/") for label in labels(fig))
    assert "2 idle left out" in fig.axes[0].get_title()


def test_nodes_in_rank_order_each_followed_by_its_links() -> None:
    t = Tracer(enabled=True)
    for name in ("n0", "n1", "n2", "n10"):  # the cluster's rank order
        t.declare_lane((name, "compute"))
        t.declare_lane((name, "comm"))
    # first use in another order: the switch's links and n10 first
    t.span(("links", "sw->n1"), "x", "network", 0.0, 1.0)
    t.span(("links", "n10->sw"), "x", "network", 0.0, 1.0)
    t.span(("n10", "comm"), "x", "comm", 0.0, 1.0)
    t.span(("links", "n1->sw"), "x", "network", 0.0, 1.0)
    t.span(("n1", "compute"), "x", "compute", 0.0, 1.0)
    t.span(("n0", "comm"), "x", "comm", 0.0, 1.0)
    t.span(("n0", "compute"), "x", "compute", 0.0, 1.0)
    t.span(("links", "n1->n0"), "x", "network", 0.0, 1.0)
    t.span(("links", "agg0->core1"), "x", "network", 0.0, 1.0)
    t.span(("links", "core1->agg0"), "x", "network", 0.0, 1.0)
    t.span(("links", "agg1->core1"), "x", "network", 0.0, 1.0)
    t.span(("gradients", "exchange"), "x", "exchange", 0.0, 1.0)
    assert [f"{g}/{n}" for g, n in ordered_lanes(t)] == [
        "n0/compute",
        "n0/comm",
        "n1/compute",
        "links/n1->n0",  # both ends are devices: it belongs to its sender
        "links/n1->sw",  # leaving n1
        "links/sw->n1",  # entering n1
        "n10/comm",
        "links/n10->sw",
        "gradients/exchange",
        "links/agg0->core1",  # between switches: last, by tier (agg->core, core->agg)
        "links/agg1->core1",
        "links/core1->agg0",
    ]


def test_a_straggler_keeps_its_links_beside_its_streams() -> None:
    """The issue's ps_stragglers case: sixteen workers, whose links used to come after
    sw->n16 and be cut; here every worker is followed by its own two link directions."""
    result = clustersim.run(
        SCENARIOS / "ps_vs_ring.yaml",
        ["workload.workers=16", "workload.iterations=1"],
        trace=True,
    )
    order = [f"{g}/{n}" for g, n in ordered_lanes(result.trace)]
    assert order[:3] == ["n0/comm", "links/n0->sw", "links/sw->n0"]  # the server first
    for w in range(1, 17):
        at = order.index(f"n{w}/compute")
        assert order[at : at + 4] == [
            f"n{w}/compute",
            f"n{w}/comm",
            f"links/n{w}->sw",
            f"links/sw->n{w}",
        ]
    assert len(order) == 3 + 16 * 4  # the 16 idle devices of the 33-node switch left out
