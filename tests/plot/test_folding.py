"""More lanes than fit: the busiest are kept in their order and the summary counts the rest; a
whole run too big for its lanes is drawn aggregated instead."""

from __future__ import annotations

from clustersim.core.trace import Tracer
from clustersim.plot import plot_timeline
from tests.plot.helpers import cluster_trace, labels


def _tracer() -> Tracer:
    t = Tracer(enabled=True)
    for i in range(10):  # lane n{i} is busy for i+1 ms; n3's two spans overlap (union 3.5 ms)
        t.declare_lane((f"n{i}", "compute"))
        t.span((f"n{i}", "compute"), "x", "compute", 0.0, (i + 1) * 1e-3)
    t.span(("n3", "compute"), "y", "compute", 1e-3, 3.5e-3)
    return t


def test_the_busiest_lanes_are_kept_and_the_rest_counted() -> None:
    fig = plot_timeline(_tracer(), view="lanes", max_lanes=4)
    assert labels(fig) == ["n6/compute", "n7/compute", "n8/compute", "n9/compute"]
    assert "the 4 busiest shown, 6 folded" in fig.axes[0].get_title()


def test_busy_time_is_the_union_of_a_lanes_spans() -> None:
    # n3: 4 ms and 2.5 ms overlapping = 4 ms busy, less than n4's 5 ms, more than n2's 3 ms
    fig = plot_timeline(_tracer(), view="lanes", max_lanes=7)
    assert labels(fig)[0] == "n3/compute"


def test_a_whole_run_that_does_not_fit_is_aggregated() -> None:
    trace = cluster_trace([f"n{i}" for i in range(30)])  # 120 busy lanes
    title = plot_timeline(trace, max_lanes=80).axes[0].get_title()
    assert "aggregated into" in title
    # a selection is always drawn lane by lane, folded when it does not fit
    fig = plot_timeline(trace, lanes="*/compute", max_lanes=10)
    assert len(labels(fig)) == 10
    assert "20 folded" in fig.axes[0].get_title()
