"""Graph: the small undirected graph a topology is, without importing networkx.

Topologies need nodes and links with attributes, neighbours, and a connectivity check; the rest
of networkx (and its 0.1 s import) is not needed to build or validate a cluster, so
``clustersim validate`` starts fast and a million-node torus builds in seconds. The interface is
the subset of :class:`networkx.Graph` the simulator uses, with the same iteration orders (nodes
in insertion order; edges as networkx lists them: for each node in order, its neighbours in
insertion order not yet listed), so a graph built here behaves exactly like the networkx one it
replaced. :meth:`Graph.to_networkx` hands it to networkx for anything else (shortest paths,
diameters, drawing).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

__all__ = ["Graph"]


class _NodeView:
    """``G.nodes``: iterate names, ``G.nodes[name]`` the attribute dict, ``G.nodes(data=...)``."""

    __slots__ = ("_attrs",)

    def __init__(self, attrs: dict[Hashable, dict[str, Any]]) -> None:
        self._attrs = attrs

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __contains__(self, name: object) -> bool:
        return name in self._attrs

    def __getitem__(self, name: Hashable) -> dict[str, Any]:
        return self._attrs[name]

    def __call__(self, data: bool | str = False, default: Any = None) -> Iterator[Any]:
        if data is False:
            return iter(self._attrs)
        if data is True:
            return iter(self._attrs.items())
        return ((n, d.get(data, default)) for n, d in self._attrs.items())


class _EdgeView:
    """``G.edges``: iterate ``(u, v)``, ``G.edges[u, v]`` the attributes, ``G.edges(data=...)``."""

    __slots__ = ("_adj",)

    def __init__(self, adj: dict[Hashable, dict[Hashable, dict[str, Any]]]) -> None:
        self._adj = adj

    def _triples(self) -> Iterator[tuple[Hashable, Hashable, dict[str, Any]]]:
        seen: set[Hashable] = set()
        for u, near in self._adj.items():
            for v, attrs in near.items():
                if v not in seen:
                    yield u, v, attrs
            seen.add(u)

    def __iter__(self) -> Iterator[tuple[Hashable, Hashable]]:
        return ((u, v) for u, v, _ in self._triples())

    def __len__(self) -> int:
        return sum(len(near) for near in self._adj.values()) // 2

    def __getitem__(self, edge: tuple[Hashable, Hashable]) -> dict[str, Any]:
        u, v = edge
        return self._adj[u][v]

    def __call__(self, data: bool | str = False, default: Any = None) -> Iterator[Any]:
        if data is False:
            return iter(self)
        if data is True:
            return self._triples()
        return ((u, v, a.get(data, default)) for u, v, a in self._triples())


class Graph:
    """An undirected graph with node, edge and graph attributes (no parallel edges)."""

    def __init__(self) -> None:
        self.graph: dict[str, Any] = {}
        self._node_attrs: dict[Hashable, dict[str, Any]] = {}
        self._adj: dict[Hashable, dict[Hashable, dict[str, Any]]] = {}
        self.nodes = _NodeView(self._node_attrs)
        self.edges = _EdgeView(self._adj)

    def add_node(self, name: Hashable, **attrs: Any) -> None:
        """Add ``name`` (or update its attributes)."""
        if name not in self._node_attrs:
            self._node_attrs[name] = {}
            self._adj[name] = {}
        self._node_attrs[name].update(attrs)

    def add_edge(self, u: Hashable, v: Hashable, **attrs: Any) -> None:
        """Link ``u`` and ``v`` (adding them if new); one attribute dict serves both ways."""
        for name in (u, v):
            if name not in self._node_attrs:
                self.add_node(name)
        shared = self._adj[u].get(v)
        if shared is None:
            shared = self._adj[u][v] = self._adj[v][u] = {}
        shared.update(attrs)

    def __getitem__(self, name: Hashable) -> dict[Hashable, dict[str, Any]]:
        """``G[name]``: the neighbours of ``name`` with the attributes of the links to them."""
        return self._adj[name]

    def has_edge(self, u: Hashable, v: Hashable) -> bool:
        return u in self._adj and v in self._adj[u]

    def neighbors(self, name: Hashable) -> Iterator[Hashable]:
        return iter(self._adj[name])

    def degree(self, name: Hashable) -> int:
        return len(self._adj[name])

    def number_of_nodes(self) -> int:
        return len(self._node_attrs)

    def number_of_edges(self) -> int:
        return len(self.edges)

    def __contains__(self, name: object) -> bool:
        return name in self._node_attrs

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._node_attrs)

    def __len__(self) -> int:
        return len(self._node_attrs)

    def is_directed(self) -> bool:
        return False

    def is_multigraph(self) -> bool:
        return False

    def connected_components(self) -> list[set[Hashable]]:
        """The node sets of the connected components, in the order of their first node."""
        seen: set[Hashable] = set()
        components = []
        for start in self._node_attrs:
            if start in seen:
                continue
            component = {start}
            frontier = [start]
            while frontier:
                node = frontier.pop()
                for near in self._adj[node]:
                    if near not in component:
                        component.add(near)
                        frontier.append(near)
            seen |= component
            components.append(component)
        return components

    def to_networkx(self) -> Any:
        """The same graph as a :class:`networkx.Graph` (imports networkx)."""
        import networkx as nx

        out = nx.Graph()
        out.graph.update(self.graph)
        out.add_nodes_from(self._node_attrs.items())
        out.add_edges_from((u, v, dict(a)) for u, v, a in self.edges(data=True))
        return out
