"""Choosing the lanes of a timeline: globs, regular expressions, node names, and the errors."""

from __future__ import annotations

import pytest

from clustersim.errors import InputError
from clustersim.plot import plot_timeline
from clustersim.plot.timeline import select_lanes
from tests.plot.helpers import cluster_trace, labels

DEVICES = [f"n{i}" for i in range(12)]


def _chosen(patterns) -> list[str]:
    return [f"{g}/{n}" for g, n in select_lanes(cluster_trace(DEVICES), patterns)]


def test_a_glob_matches_labels() -> None:
    assert _chosen("*/compute") == [f"n{i}/compute" for i in range(12)]
    assert _chosen("links/n1->*") == ["links/n1->sw"]


def test_a_name_alone_selects_a_node_with_its_links() -> None:
    assert _chosen("n3") == ["n3/compute", "n3/comm", "links/n3->sw", "links/sw->n3"]


def test_comma_separated_patterns_add_up_in_timeline_order() -> None:
    assert _chosen("links/sw->n2, n1") == [
        "n1/compute",
        "n1/comm",
        "links/n1->sw",
        "links/sw->n1",
        "links/sw->n2",
    ]
    assert _chosen(["n1/comm", "n0/comm"]) == ["n0/comm", "n1/comm"]


def test_regular_expressions() -> None:
    assert _chosen("re:^n1[01]/compute") == ["n10/compute", "n11/compute"]
    assert _chosen("^n(2|3)/comm$") == ["n2/comm", "n3/comm"]  # regex characters: a regex


def test_bad_patterns_are_input_errors() -> None:
    with pytest.raises(InputError, match="not a regular expression"):
        _chosen("re:n[0-")
    with pytest.raises(InputError, match="no pattern"):
        _chosen(" , ")
    with pytest.raises(InputError, match="matches no busy lane.*n0/compute"):
        _chosen("gpu*")


def test_the_plot_draws_the_selection_and_says_so() -> None:
    fig = plot_timeline(cluster_trace(DEVICES), lanes="n0,n11")
    assert labels(fig) == [
        "n0/compute",
        "n0/comm",
        "links/n0->sw",
        "links/sw->n0",
        "n11/compute",
        "n11/comm",
        "links/n11->sw",
        "links/sw->n11",
    ]
    assert "8 lanes match --lanes 'n0,n11'" in fig.axes[0].get_title()
