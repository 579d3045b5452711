"""Routes with leaf ends peeled off equal those of a plain breadth-first search."""

from __future__ import annotations

from collections import deque

import networkx as nx
import numpy as np
import pytest

from clustersim.core.simulation import Simulation
from clustersim.hardware import topology as topo
from clustersim.hardware.network import FlowNetwork


def plain_bfs_route(net: FlowNetwork, graph: nx.Graph, src: int, dst: int) -> list[int]:
    """Fewest hops, neighbours visited in increasing index order, no peeling, no cache."""
    index = net.index
    neighbours = {index[n]: sorted(index[m] for m in graph.neighbors(n)) for n in graph.nodes}
    parents = {src: src}
    queue = deque([src])
    while queue and dst not in parents:
        u = queue.popleft()
        for v in neighbours[u]:
            if v not in parents:
                parents[v] = u
                queue.append(v)
    hops = []
    node = dst
    while node != src:
        hops.append(net._link_of[(parents[node], node)])
        node = parents[node]
    return hops[::-1]


def graph_with_leaves(seed: int) -> nx.Graph:
    """A random connected graph (a tree plus chords) with hosts hanging off its nodes."""
    rng = np.random.default_rng(seed)
    inner = int(rng.integers(2, 9))
    graph = nx.Graph()
    names = [f"n{i}" for i in range(inner)]
    graph.add_node(names[0])
    for i in range(1, inner):
        graph.add_edge(names[i], names[int(rng.integers(0, i))], bandwidth=1.0, latency=0.0)
    for _ in range(int(rng.integers(0, inner))):
        a, b = rng.choice(inner, size=2, replace=False)
        graph.add_edge(names[a], names[b], bandwidth=1.0, latency=0.0)
    for h in range(int(rng.integers(1, 12))):  # leaves, attached anywhere (also to leaves)
        at = list(graph.nodes)[int(rng.integers(0, graph.number_of_nodes()))]
        graph.add_edge(f"h{h}", at, bandwidth=1.0, latency=0.0)
    return graph


@pytest.mark.parametrize("seed", range(40))
def test_peeled_routes_equal_a_plain_search(seed):
    graph = graph_with_leaves(seed)
    net = FlowNetwork(Simulation(0), graph)
    n = len(net.nodes)
    for src in range(n):
        for dst in range(n):
            assert net.route(src, dst) == plain_bfs_route(net, graph, src, dst), (src, dst)


def test_hosts_on_a_switch_need_no_search():
    net = FlowNetwork(Simulation(0), topo.switch(nodes=64, bandwidth=1.0, latency=0.0))
    for src in range(64):
        net.route(src, (src + 1) % 64)
    assert not net._routes_finder._searches  # every route was two peeled hops


def test_neighbours_on_a_ring_need_no_search():
    net = FlowNetwork(Simulation(0), topo.ring(nodes=64, bandwidth=1.0, latency=0.0))
    for src in range(64):
        assert net.route(src, (src + 1) % 64) == [net._link_of[(src, (src + 1) % 64)]]
    assert not net._routes_finder._searches  # each route was the one link between them
    assert len(net.route(0, 2)) == 2 and net._routes_finder._searches  # two hops: a search
