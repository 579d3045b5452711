"""The federated figures build from a traced run (clustersim.plot.federated)."""

from __future__ import annotations

from clustersim.plot.federated import PHASE_COLOURS, plot_breakdown, plot_curves, plot_rounds
from tests.federated.helpers import run


def test_the_round_timeline_has_a_row_per_client_and_the_server() -> None:
    r = run({"clients_per_round": 4, "rounds": 3, "slowdown": [1.0, 5.0] * 5}, trace=True)
    phases = {s.category for s in r.trace.spans if s.lane[1] == "federated"}
    assert {"download", "train", "upload", "wait", "aggregate"} <= phases <= set(PHASE_COLOURS)
    fig = plot_rounds(r.trace, rounds=(0, 1))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "server (server)"
    participants = {
        s.lane[0]
        for s in r.trace.spans
        if s.lane[1] == "federated" and s.name.endswith(("r0", "r1"))
    }
    assert set(labels[1:]) == participants - {"server"}


def test_curves_and_breakdown_plot_the_metrics() -> None:
    m = run({"rounds": 4}).metrics
    fig = plot_curves({"a": m, "b": m}, x="time")
    assert len(fig.axes[0].lines) == 2
    first, second = fig.axes[0].lines  # the same curve twice: the second drawn dashed, named
    assert (first.get_linestyle(), first.get_label()) == ("-", "a")
    assert (second.get_linestyle(), second.get_label()) == ("--", "b (= a)")
    other = dict(m, accuracy_curve=[a + 0.01 for a in m["accuracy_curve"]])
    lines = plot_curves({"a": m, "c": other}).axes[0].lines
    assert [(line.get_linestyle(), line.get_label()) for line in lines] == [("-", "a"), ("-", "c")]
    fig = plot_breakdown(m)
    assert len(fig.axes[0].patches) == 5 * 4  # five phases, four rounds
