"""The aggregated view: one row per stream of a group of ranks and one per tier of links, each
drawn as the share of its lanes busy over time, with the mean utilisation in its label."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.core.trace import Tracer
from clustersim.plot import plot_timeline
from clustersim.plot.timeline import _aggregate_rows, _gather, _utilisation
from tests.paths import SCENARIOS
from tests.plot.helpers import labels


def _machines() -> Tracer:
    """Two machines of two GPUs: m0g0 busy 0-5 ms, m0g1 0-10 ms (with an overlapping second
    span that must not count twice), m1g* 0-2 ms; links up and down through one switch."""
    t = Tracer(enabled=True)
    for name in ("m0g0", "m0g1", "m1g0", "m1g1"):
        t.declare_lane((name, "compute"))
        t.declare_lane((name, "comm"))
    t.span(("m0g0", "compute"), "a", "compute", 0.0, 5e-3)
    t.span(("m0g1", "compute"), "a", "compute", 0.0, 10e-3)
    t.span(("m0g1", "compute"), "b", "compute", 2e-3, 4e-3)
    t.span(("m1g0", "compute"), "a", "compute", 0.0, 2e-3)
    t.span(("m1g1", "compute"), "a", "compute", 0.0, 2e-3)
    for name in ("m0g0", "m1g0"):
        t.span(("links", f"{name}->sw"), "x", "network", 0.0, 1e-3)
        t.span(("links", f"sw->{name}"), "x", "network", 1e-3, 2e-3)
    return t


def test_rows_per_machine_stream_and_per_link_tier() -> None:
    fig = plot_timeline(_machines(), view="aggregate")
    assert labels(fig) == [
        "m0g0..m0g1/compute (2) 75%",  # (5 + 10) / (2 × 10 ms)
        "m1g0..m1g1/compute (2) 20%",
        "links device->sw (2) 10%",
        "links sw->device (2) 10%",
    ]


def test_utilisation_is_the_share_of_lanes_busy() -> None:
    lanes = _gather(_machines())
    row = _aggregate_rows(lanes, lanes.order)[0]
    t, share = _utilisation(lanes, row, ["compute"])
    assert t.tolist() == pytest.approx([0.0, 5e-3, 10e-3])
    assert share[0].tolist() == pytest.approx([1.0, 0.5])  # never above 1: overlaps once


def test_ranks_that_do_different_things_are_not_lumped_together() -> None:
    """A parameter server (comm only) is not grouped with the workers (compute and comm)."""
    result = clustersim.run(
        SCENARIOS / "ps_vs_ring.yaml",
        ["workload.workers=32", "workload.iterations=1"],
        trace=True,
    )
    rows = labels(plot_timeline(result.trace))
    assert rows[0].startswith("n0/comm (1)")
    assert [r.split(" ")[0] for r in rows[1:3]] == ["n1..n4/compute", "n1..n4/comm"]
    assert rows[-2:][0].startswith("links device->sw (33)")


def test_the_three_phases_of_a_hierarchical_all_reduce_show() -> None:
    """The issue's case: 4 machines x 8 GPUs, whose 96 link lanes used to be cut. Aggregated,
    the NVLink tier is busy in the intra-machine reduce-scatter and all-gather, the network
    tier in between, and never both at once."""
    result = clustersim.run(
        SCENARIOS / "hierarchical_allreduce.yaml", ["workload.verify=false"], trace=True
    )
    lanes = _gather(result.trace)
    rows = {r.label.split(" (")[0]: r for r in _aggregate_rows(lanes, lanes.order)}
    assert {"n0g0..n0g7/comm", "links device->device", "links device->net"} <= set(rows)

    def busy(label: str) -> tuple[np.ndarray, np.ndarray]:
        t, share = _utilisation(lanes, rows[label], ["network"])
        return t[:-1][share[0] > 0], t[1:][share[0] > 0]

    intra_start, intra_end = busy("links device->device")
    inter_start, inter_end = busy("links device->net")
    end = result.metrics["time_s"]
    first_inter, last_inter = inter_start.min(), inter_end.max()
    assert intra_end.max() == pytest.approx(end)  # the all-gather inside machines ends it
    assert (intra_end <= first_inter).any() and (intra_start >= last_inter).any()
    assert not ((intra_start < last_inter) & (intra_end > first_inter)).any()
