"""clustersim's Graph behaves like networkx.Graph for every call the simulator makes."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.hardware.graph import Graph

NAMES = st.sampled_from([f"v{i}" for i in range(8)])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("node"), NAMES, st.integers(0, 3)),
        st.tuples(st.just("edge"), NAMES, NAMES, st.integers(0, 3)),
    ),
    max_size=40,
)


def replay(ops, graph):
    for op in ops:
        if op[0] == "node":
            graph.add_node(op[1], tag=op[2])
        elif op[1] != op[2]:
            graph.add_edge(op[1], op[2], weight=op[3])
    return graph


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_same_orders_and_attributes_as_networkx(ops):
    ours, theirs = replay(ops, Graph()), replay(ops, nx.Graph())
    assert list(ours.nodes) == list(theirs.nodes)
    assert list(ours.nodes(data=True)) == list(theirs.nodes(data=True))
    assert list(ours.nodes(data="tag", default=-1)) == list(theirs.nodes(data="tag", default=-1))
    assert list(ours.edges) == list(theirs.edges)
    assert list(ours.edges(data=True)) == list(theirs.edges(data=True))
    assert list(ours.edges(data="weight")) == list(theirs.edges(data="weight"))
    assert ours.number_of_edges() == theirs.number_of_edges()
    for name in theirs.nodes:
        assert list(ours.neighbors(name)) == list(theirs.neighbors(name))
        assert ours.degree(name) == theirs.degree(name)
    for u, v in theirs.edges:
        assert ours.has_edge(u, v) and ours.has_edge(v, u)
        assert ours.edges[u, v] == theirs.edges[u, v]
    got = sorted(sorted(c) for c in ours.connected_components())
    assert got == sorted(sorted(c) for c in nx.connected_components(theirs))


@settings(max_examples=50, deadline=None)
@given(OPS)
def test_to_networkx_is_the_same_graph(ops):
    ours = replay(ops, Graph())
    ours.graph["kind"] = "custom"
    theirs = ours.to_networkx()
    assert theirs.graph == {"kind": "custom"}
    assert list(theirs.nodes(data=True)) == list(ours.nodes(data=True))
    assert sorted(map(sorted, theirs.edges)) == sorted(map(sorted, ours.edges))


def test_one_attribute_dict_serves_both_directions():
    g = Graph()
    g.add_edge("a", "b", bandwidth=1.0)
    g.edges["b", "a"]["medium"] = "ap"
    assert g.edges["a", "b"] == {"bandwidth": 1.0, "medium": "ap"}
