"""Fewest-hop routes on a topology, from breadth-first searches that resume instead of restart.

A route is the list of directed links from one node to another along a shortest path, ties
broken towards the lowest node index (neighbours are visited in index order), so routes are
deterministic. Each source keeps the state of its search (the parents found so far and the
queue); a query for a destination the search has not reached yet continues where the last one
stopped, so the parents are always those of a full search and the route never depends on the
order of the queries. A node's neighbours are scanned in one vectorised step, so the fan-out of
a switch with a thousand ports is one numpy operation. The searches are kept in a
least-recently-used cache bounded in memory.
"""

from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np

from clustersim.errors import InputError

__all__ = ["RouteFinder"]

CACHE_BYTES = 64 * 2**20
"""Memory the cached searches may hold (4 bytes of parents per node per cached source)."""


class _Search:
    """A resumable breadth-first search from one source.

    The queue holds arrays of discovered nodes (one per expansion, in discovery order) and the
    position reached in the first, so that a switch's thousand new neighbours are queued in one
    step rather than one Python object each.
    """

    __slots__ = ("parents", "position", "queue")

    def __init__(self, n_nodes: int, src: int) -> None:
        self.parents = np.full(n_nodes, -1, dtype=np.int32)
        self.parents[src] = src
        self.queue: deque[np.ndarray] = deque([np.array([src], dtype=np.int32)])
        self.position = 0


class RouteFinder:
    """Shortest routes over directed links.

    Args:
        nodes: node names, by index (for messages).
        neighbours: for each node index, its neighbours' indices in increasing order.
        link_of: ``(a, b) -> index`` of the directed link from node ``a`` to node ``b``.
    """

    def __init__(
        self, nodes: list[str], neighbours: list[np.ndarray], link_of: dict[tuple[int, int], int]
    ) -> None:
        self.nodes = nodes
        self._neighbours = neighbours
        self._link_of = link_of
        self._searches: OrderedDict[int, _Search] = OrderedDict()
        self._limit = max(4, CACHE_BYTES // max(1, 4 * len(nodes)))

    def _parents_reaching(self, src: int, dst: int) -> np.ndarray:
        """BFS parents from ``src``, searched far enough to include ``dst`` if it is reachable."""
        search = self._searches.get(src)
        if search is None:
            search = self._searches[src] = _Search(len(self.nodes), src)
            if len(self._searches) > self._limit:
                self._searches.popitem(last=False)
        else:
            self._searches.move_to_end(src)
        parents, queue, neighbours = search.parents, search.queue, self._neighbours
        while parents[dst] < 0 and queue:
            head = queue[0]
            u = int(head[search.position])
            search.position += 1
            if search.position == head.size:
                queue.popleft()
                search.position = 0
            near = neighbours[u]
            new = near[parents[near] < 0]
            if new.size:
                parents[new] = u
                queue.append(new)
        return parents

    def route(self, src: int, dst: int) -> list[int]:
        """Directed link indices from ``src`` to ``dst``; an InputError if none connects them.

        An end with a single neighbour (a host on a switch, a leaf of a tree) is peeled off
        first: every path from or to it crosses that neighbour, and the search from the source
        finds the rest of the route exactly as a search from the neighbour does (the leaf
        discovers nothing else), so the route is the same while only the inner nodes (the
        switches, whose searches are shared by all their hosts) are ever searched. Neighbours
        (a ring's or a torus's next rank) need no search at all: the link between them is the
        only one-hop path, the one the search would find when it expands its source.
        """
        if src == dst:
            return []
        neighbours, link_of = self._neighbours, self._link_of
        head: list[int] = []
        tail: list[int] = []
        a, b = src, dst
        # once per end: a single neighbour that is a leaf itself closes a two-node component
        if neighbours[a].size == 1:
            nxt = int(neighbours[a][0])
            head.append(link_of[(a, nxt)])
            a = nxt
        if a != b and neighbours[b].size == 1:
            prev = int(neighbours[b][0])
            tail.append(link_of[(prev, b)])
            b = prev
        if a == b:
            return head + tail
        direct = link_of.get((a, b))
        if direct is not None:  # one hop: what the search finds at its first expansion
            return [*head, direct, *tail]
        parents = self._parents_reaching(a, b)
        if parents[b] < 0:
            raise InputError(
                f"no route from {self.nodes[src]} to {self.nodes[dst]}: the topology does not "
                "connect them"
            )
        hops: list[int] = []
        node = b
        while node != a:
            prev = int(parents[node])
            hops.append(link_of[(prev, node)])
            node = prev
        hops.reverse()
        return head + hops + tail
