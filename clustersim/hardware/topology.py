"""Cluster topologies as undirected graphs (:class:`~clustersim.hardware.graph.Graph`).

Every builder takes keyword-only arguments in SI units (bandwidth in bytes/s, latency in seconds;
unit strings are parsed by the scenario layer) and returns a graph that follows these conventions,
which :class:`FlowNetwork` and the scenario layer rely on:

* Node attribute ``kind`` is ``"device"`` (a compute endpoint that can run work) or ``"switch"``
  (forwarding only). ``role`` is a free-form tag, ``"worker"`` for devices and ``"switch"`` for
  switches unless given. Optional attributes: ``tier`` (edge_cloud: ``"device"``, ``"edge"``,
  ``"cloud"``), ``preset`` (a device preset name overriding the cluster default) and ``group``
  (an int: the host, machine or pod a device belongs to, for hierarchical algorithms). Optional
  attributes are only present when they have a value.
* Edge attributes ``bandwidth`` (bytes/s per direction; links are full duplex) and ``latency``
  (seconds). A wireless link also has ``medium``: the name of the shared medium (an access
  point's airtime) it is on; ``G.graph["media"]`` maps each medium to its capacity (bytes/s,
  shared by both directions of all its links). See :func:`attach_media`.
* Device nodes are inserted in rank order. ``G.graph["kind"]`` is the topology kind and
  ``G.graph["devices"]`` the list of device names in rank order.
* Devices are named ``f"{prefix}{i}"`` (``n0``, ``n1``, ...); switches have descriptive names
  (``"sw"``, ``"leaf0"``, ``"core"``, ``"pod0.agg1"``).

Every builder checks its arguments up front and calls :func:`validate` before returning; every
bad input raises :class:`~clustersim.errors.InputError` with a message naming the topology kind,
the parameter or nodes involved, the value and what was expected.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from clustersim.errors import InputError
from clustersim.hardware.graph import Graph

__all__ = [
    "BUILDERS",
    "DESCRIPTIONS",
    "attach_media",
    "custom",
    "edge_cloud",
    "expand_names",
    "fat_tree",
    "fully_connected",
    "ring",
    "switch",
    "torus2d",
    "tree",
    "two_level",
    "validate",
]

DEVICE = "device"
SWITCH = "switch"
_NODE_KINDS = (DEVICE, SWITCH)

# How error messages refer to a topology of each kind ("a ring needs at least 2 nodes, got 1").
_NOUN = {
    "ring": "a ring",
    "fully_connected": "a fully_connected topology",
    "switch": "a switch topology",
    "tree": "a tree",
    "torus2d": "a torus2d",
    "fat_tree": "a fat_tree",
    "two_level": "a two_level topology",
    "edge_cloud": "an edge_cloud topology",
    "custom": "a custom topology",
}

# Largest number of names one bracket range may expand to (guards against "w[0-999999999]").
_MAX_RANGE = 1_000_000


# --------------------------------------------------------------------------- argument checks


def _check_count(kind: str, param: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{kind} topology: {param} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        if param in ("nodes", "rows", "cols"):
            raise InputError(f"{_NOUN[kind]} needs at least {minimum} {param}, got {value}")
        raise InputError(f"{kind} topology: {param} must be at least {minimum}, got {value}")
    return value


def _check_bandwidth(kind: str, param: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a positive finite number of bytes/s."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(
            f"{kind} topology: {param} must be a positive number of bytes/s "
            f"(unit strings are parsed by the scenario layer), got {value!r}"
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(
            f"{kind} topology: {param} must be a positive, finite number of bytes/s, got {value!r}"
        )
    return value


def _check_latency(kind: str, param: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a non-negative finite number of s."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(
            f"{kind} topology: {param} must be a non-negative number of seconds "
            f"(unit strings are parsed by the scenario layer), got {value!r}"
        )
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise InputError(
            f"{kind} topology: {param} must be a non-negative, finite number of seconds, "
            f"got {value!r}"
        )
    return value


def _check_prefix(kind: str, prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise InputError(f"{kind} topology: prefix must be a string, got {prefix!r}")
    return prefix


def _check_preset(kind: str, param: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(
            f"{kind} topology: {param} must be a device preset name (a non-empty string) "
            f"or None, got {value!r}"
        )
    return value


# --------------------------------------------------------------------------- graph helpers


def _new_graph(kind: str, **attrs: Any) -> Graph:
    G = Graph()
    G.graph["kind"] = kind
    G.graph.update(attrs)
    return G


def _add_device(G: Graph, name: str, *, role: str = "worker", **attrs: Any) -> None:
    if name in G:
        raise InputError(
            f"{G.graph['kind']} topology: node name {name!r} is used twice; "
            "expected unique names (choose another prefix)"
        )
    G.add_node(name, kind=DEVICE, role=role, **{k: v for k, v in attrs.items() if v is not None})


def _add_switch(G: Graph, name: str, *, role: str = "switch", **attrs: Any) -> None:
    if name in G:
        raise InputError(
            f"{G.graph['kind']} topology: switch name {name!r} is also a device name; "
            "expected unique names (choose another prefix)"
        )
    G.add_node(name, kind=SWITCH, role=role, **{k: v for k, v in attrs.items() if v is not None})


def _link(G: Graph, a: str, b: str, bandwidth: float, latency: float) -> None:
    G.add_edge(a, b, bandwidth=bandwidth, latency=latency)


def _finish(G: Graph) -> Graph:
    """Record the device list in rank (insertion) order, validate and return ``G``."""
    G.graph["devices"] = [n for n, d in G.nodes(data=True) if d.get("kind") == DEVICE]
    validate(G)
    return G


# --------------------------------------------------------------------------- validation


def _label(G: Graph) -> str:
    kind = G.graph.get("kind")
    return f"{kind} topology" if kind else "topology"


def _abbrev(names: Sequence[Any], limit: int = 3) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return "{" + shown + "}"


def _components(G: Any) -> list[set[Any]]:
    """Connected components of a :class:`Graph`, or of a networkx graph handed in."""
    if isinstance(G, Graph):
        return G.connected_components()
    import networkx as nx

    return list(nx.connected_components(G))


def _describe_components(G: Graph, limit: int = 4) -> str:
    order = {n: i for i, n in enumerate(G.nodes)}
    comps = [sorted(c, key=order.__getitem__) for c in _components(G)]
    comps.sort(key=lambda c: order[c[0]])
    first, rest = _abbrev(comps[0]), [_abbrev(c) for c in comps[1:limit]]
    if len(comps) > limit:
        rest.append(f"{len(comps) - limit} other components")
    others = rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " or " + rest[-1]
    return f"{first} cannot reach {others}"


def _edge_value_error(G: Graph, u: Any, v: Any, attr: str, data: Mapping[str, Any]) -> str:
    """Return an error message if edge attribute ``attr`` is invalid, else ``""``."""
    unit, positive = ("bytes/s", True) if attr == "bandwidth" else ("seconds", False)
    what = "a positive" if positive else "a non-negative"
    where = f"{_label(G)}: link {u}-{v}"
    if attr not in data:
        return f"{where} has no {attr}; expected {what} number of {unit}"
    value = data[attr]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"{where} has {attr} {value!r}; expected {what} number of {unit}"
    value = float(value)
    if not math.isfinite(value):
        return f"{where} has {attr} {value!r}; expected {what}, finite number of {unit}"
    if (positive and value <= 0) or (not positive and value < 0):
        return f"{where} has {attr} {value!r}; expected {what} number of {unit}"
    return ""


def validate(G: Graph) -> None:
    """Check that ``G`` is a usable topology; raise :class:`InputError` otherwise.

    The graph must be an undirected simple graph (a :class:`Graph`, or a ``networkx.Graph``),
    non-empty and connected; every
    node has ``kind`` "device" or "switch"; every edge has a positive finite ``bandwidth``
    (bytes/s) and a non-negative finite ``latency`` (s); there are no self-loops; there are at
    least 2 device nodes; and ``G.graph["devices"]``, when present, lists exactly the device
    nodes in insertion (rank) order.
    """
    if not callable(getattr(G, "is_directed", None)) or G.is_directed() or G.is_multigraph():
        raise InputError(
            "topology must be an undirected graph (clustersim.hardware.graph.Graph or an "
            f"undirected networkx.Graph), got {type(G).__name__}"
        )
    label = _label(G)
    if G.number_of_nodes() == 0:
        raise InputError(f"{label} is empty; expected at least 2 device nodes")
    for n, data in G.nodes(data=True):
        if data.get("kind") not in _NODE_KINDS:
            raise InputError(
                f"{label}: node {n} has kind {data.get('kind')!r}; expected 'device' or 'switch'"
            )
    for u, v, data in G.edges(data=True):
        if u == v:
            raise InputError(f"{label}: node {u} has a link to itself; expected no self-loops")
        for attr in ("bandwidth", "latency"):
            message = _edge_value_error(G, u, v, attr, data)
            if message:
                raise InputError(message)
    if len(_components(G)) > 1:
        raise InputError(f"{label} is disconnected: {_describe_components(G)}")
    devices = [n for n, d in G.nodes(data=True) if d["kind"] == DEVICE]
    if len(devices) < 2:
        raise InputError(
            f"{label} has {len(devices)} device node(s) {_abbrev(devices)}; "
            "expected at least 2 nodes of kind 'device'"
        )
    listed = G.graph.get("devices")
    if listed is not None and list(listed) != devices:
        raise InputError(
            f"{label}: graph attribute 'devices' is {_abbrev(list(listed), 8)}; expected the "
            f"device nodes in insertion order {_abbrev(devices, 8)}"
        )


# --------------------------------------------------------------------------- builders


def ring(*, nodes: int, bandwidth: float, latency: float, prefix: str = "n") -> Graph:
    """A ring: device i is linked to devices i-1 and i+1 (mod ``nodes``).

    The ring is the topology that ring all-reduce maps onto (Patarasuk & Yuan, "Bandwidth
    optimal all-reduce algorithms for clusters of workstations", JPDC 69(2), 2009). With 2
    nodes the two neighbours coincide and there is a single link.
    """
    kind = "ring"
    nodes = _check_count(kind, "nodes", nodes, 2)
    bandwidth = _check_bandwidth(kind, "bandwidth", bandwidth)
    latency = _check_latency(kind, "latency", latency)
    prefix = _check_prefix(kind, prefix)
    G = _new_graph(kind)
    names = [f"{prefix}{i}" for i in range(nodes)]
    for name in names:
        _add_device(G, name)
    for i in range(nodes):
        _link(G, names[i], names[(i + 1) % nodes], bandwidth, latency)
    return _finish(G)


def fully_connected(*, nodes: int, bandwidth: float, latency: float, prefix: str = "n") -> Graph:
    """A complete graph: every pair of devices has a dedicated link (n(n-1)/2 links).

    An idealised all-to-all fabric, e.g. GPUs behind an NVSwitch when each pair is treated as
    having its own path.
    """
    kind = "fully_connected"
    nodes = _check_count(kind, "nodes", nodes, 2)
    bandwidth = _check_bandwidth(kind, "bandwidth", bandwidth)
    latency = _check_latency(kind, "latency", latency)
    prefix = _check_prefix(kind, prefix)
    G = _new_graph(kind)
    names = [f"{prefix}{i}" for i in range(nodes)]
    for name in names:
        _add_device(G, name)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            _link(G, a, b, bandwidth, latency)
    return _finish(G)


def switch(
    *,
    nodes: int,
    bandwidth: float,
    latency: float,
    groups: int = 1,
    uplink_bandwidth: float | None = None,
    uplink_latency: float | None = None,
    prefix: str = "n",
) -> Graph:
    """Devices behind one switch (a star), or a two-tier leaf/spine tree of switches.

    ``groups == 1``: every device is linked to the switch ``"sw"``. ``groups > 1``: the devices
    are split contiguously into ``groups`` equal groups, each behind a leaf switch ``"leaf{g}"``,
    and every leaf is linked to the switch ``"core"`` by an uplink of ``uplink_bandwidth``
    (default ``bandwidth * hosts_per_leaf``: non-blocking) and ``uplink_latency`` (default
    ``latency``). An uplink slower than the sum of its hosts' links is oversubscribed;
    ``G.graph["oversubscription"]`` is ``hosts_per_leaf * bandwidth / uplink_bandwidth`` (1.0 for
    a star). Oversubscription as defined by Al-Fares, Loukissas & Vahdat, "A Scalable, Commodity
    Data Center Network Architecture", SIGCOMM 2008, §2.1. Device attribute ``group`` is the
    leaf index (0 for a star).
    """
    kind = "switch"
    nodes = _check_count(kind, "nodes", nodes, 2)
    bandwidth = _check_bandwidth(kind, "bandwidth", bandwidth)
    latency = _check_latency(kind, "latency", latency)
    groups = _check_count(kind, "groups", groups, 1)
    prefix = _check_prefix(kind, prefix)
    if groups == 1:
        for param, value in (
            ("uplink_bandwidth", uplink_bandwidth),
            ("uplink_latency", uplink_latency),
        ):
            if value is not None:
                raise InputError(
                    f"switch topology: {param} is {value!r} but groups is 1 (a single switch "
                    f"has no uplinks); expected groups > 1 or no {param}"
                )
        G = _new_graph(kind, groups=1, hosts_per_leaf=nodes, oversubscription=1.0)
        for i in range(nodes):
            _add_device(G, f"{prefix}{i}", group=0)
        _add_switch(G, "sw")
        for i in range(nodes):
            _link(G, f"{prefix}{i}", "sw", bandwidth, latency)
        return _finish(G)

    if nodes % groups:
        raise InputError(
            f"switch topology: nodes ({nodes}) must be a multiple of groups ({groups}) "
            "so that every leaf switch has the same number of devices"
        )
    per_leaf = nodes // groups
    if uplink_bandwidth is None:
        uplink_bw = bandwidth * per_leaf
    else:
        uplink_bw = _check_bandwidth(kind, "uplink_bandwidth", uplink_bandwidth)
    if uplink_latency is None:
        uplink_lat = latency
    else:
        uplink_lat = _check_latency(kind, "uplink_latency", uplink_latency)
    G = _new_graph(
        kind,
        groups=groups,
        hosts_per_leaf=per_leaf,
        oversubscription=per_leaf * bandwidth / uplink_bw,
    )
    for i in range(nodes):
        _add_device(G, f"{prefix}{i}", group=i // per_leaf)
    _add_switch(G, "core")
    for g in range(groups):
        _add_switch(G, f"leaf{g}")
        _link(G, f"leaf{g}", "core", uplink_bw, uplink_lat)
    for i in range(nodes):
        _link(G, f"{prefix}{i}", f"leaf{i // per_leaf}", bandwidth, latency)
    return _finish(G)


def tree(
    *, nodes: int, bandwidth: float, latency: float, arity: int = 2, prefix: str = "n"
) -> Graph:
    """A (thin) tree of switches with the devices as leaves; every link has ``bandwidth``.

    Devices are attached ``arity`` per bottom switch, and switches are joined ``arity`` per
    parent until a single root remains (the last switch of a level may have fewer children).
    Unlike a fat tree, link capacity does not grow towards the root, so the root is the
    bottleneck (Leiserson, "Fat-trees: universal networks for hardware-efficient
    supercomputing", IEEE Trans. Computers C-34(10), 1985, contrasts the two).

    Switches are named ``"sw{level}.{i}"`` (level 0 holds the devices) except the top one,
    which is ``"root"``; switch attribute ``level`` is the level. Device attribute ``group`` is
    the index of its bottom switch. ``G.graph["depth"]`` is the number of switch levels.
    """
    kind = "tree"
    nodes = _check_count(kind, "nodes", nodes, 2)
    bandwidth = _check_bandwidth(kind, "bandwidth", bandwidth)
    latency = _check_latency(kind, "latency", latency)
    arity = _check_count(kind, "arity", arity, 2)
    prefix = _check_prefix(kind, prefix)

    # Number of switches per level, bottom first.
    sizes = [math.ceil(nodes / arity)]
    while sizes[-1] > 1:
        sizes.append(math.ceil(sizes[-1] / arity))
    depth = len(sizes)

    def name(level: int, i: int) -> str:
        return "root" if level == depth - 1 else f"sw{level}.{i}"

    G = _new_graph(kind, arity=arity, depth=depth)
    for i in range(nodes):
        _add_device(G, f"{prefix}{i}", group=i // arity)
    for level, size in enumerate(sizes):
        for i in range(size):
            _add_switch(G, name(level, i), level=level)
    for i in range(nodes):
        _link(G, f"{prefix}{i}", name(0, i // arity), bandwidth, latency)
    for level, size in enumerate(sizes[:-1]):
        for i in range(size):
            _link(G, name(level, i), name(level + 1, i // arity), bandwidth, latency)
    return _finish(G)


def torus2d(*, rows: int, cols: int, bandwidth: float, latency: float, prefix: str = "n") -> Graph:
    """A 2-D torus: device (r, c) is linked to its four neighbours with wrap-around.

    Device (r, c) is ``f"{prefix}{r * cols + c}"`` with node attributes ``row`` and ``col``.
    With a dimension of size 2 the wrap-around link coincides with the direct one, so there is
    a single link. The k-ary n-cube of Dally & Towles, "Principles and Practices of
    Interconnection Networks", 2004, ch. 5; TPU v2/v3 pods use a 2-D torus (Jouppi et al., "A
    domain-specific supercomputer for training deep neural networks", CACM 63(7), 2020).
    """
    kind = "torus2d"
    rows = _check_count(kind, "rows", rows, 2)
    cols = _check_count(kind, "cols", cols, 2)
    bandwidth = _check_bandwidth(kind, "bandwidth", bandwidth)
    latency = _check_latency(kind, "latency", latency)
    prefix = _check_prefix(kind, prefix)
    G = _new_graph(kind, rows=rows, cols=cols)

    def name(r: int, c: int) -> str:
        return f"{prefix}{r * cols + c}"

    for r in range(rows):
        for c in range(cols):
            _add_device(G, name(r, c), row=r, col=c)
    for r in range(rows):
        for c in range(cols):
            _link(G, name(r, c), name(r, (c + 1) % cols), bandwidth, latency)
            _link(G, name(r, c), name((r + 1) % rows, c), bandwidth, latency)
    return _finish(G)


def fat_tree(*, k: int, bandwidth: float, latency: float, prefix: str = "n") -> Graph:
    """The k-ary fat-tree of Al-Fares, Loukissas & Vahdat, SIGCOMM 2008, §3.

    ``k`` pods, each with ``k/2`` edge switches ``"pod{p}.edge{e}"`` and ``k/2`` aggregation
    switches ``"pod{p}.agg{a}"``; every edge switch links to ``k/2`` hosts and to every
    aggregation switch of its pod. There are ``(k/2)^2`` core switches ``"core{c}"``; core
    switch ``c`` links to aggregation switch ``c // (k/2)`` of every pod. That gives ``k^3/4``
    hosts, ``5k^2/4`` switches and ``3k^3/4`` links, all of ``bandwidth``: full bisection
    bandwidth. Host ``p*(k/2)^2 + e*(k/2) + h`` is host ``h`` of edge switch ``e`` in pod ``p``;
    its ``group`` is ``p``. Switch attributes ``layer`` ("edge", "aggregation", "core") and
    ``pod`` (not on core switches).
    """
    kind = "fat_tree"
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InputError(f"fat_tree topology: k must be an even integer >= 2, got {k!r}")
    k = int(k)
    if k < 2 or k % 2:
        raise InputError(f"fat_tree topology: k must be an even integer >= 2, got {k}")
    bandwidth = _check_bandwidth(kind, "bandwidth", bandwidth)
    latency = _check_latency(kind, "latency", latency)
    prefix = _check_prefix(kind, prefix)
    half = k // 2
    G = _new_graph(kind, k=k)
    for p in range(k):
        for i in range(half * half):
            _add_device(G, f"{prefix}{p * half * half + i}", group=p)
    for p in range(k):
        for e in range(half):
            _add_switch(G, f"pod{p}.edge{e}", layer="edge", pod=p)
        for a in range(half):
            _add_switch(G, f"pod{p}.agg{a}", layer="aggregation", pod=p)
    for c in range(half * half):
        _add_switch(G, f"core{c}", layer="core")
    for p in range(k):
        for e in range(half):
            edge = f"pod{p}.edge{e}"
            for h in range(half):
                _link(G, f"{prefix}{p * half * half + e * half + h}", edge, bandwidth, latency)
            for a in range(half):
                _link(G, edge, f"pod{p}.agg{a}", bandwidth, latency)
        for a in range(half):
            for j in range(half):
                _link(G, f"pod{p}.agg{a}", f"core{a * half + j}", bandwidth, latency)
    return _finish(G)


def two_level(
    *,
    nodes: int,
    gpus_per_node: int,
    intra_bandwidth: float,
    intra_latency: float,
    inter_bandwidth: float,
    inter_latency: float,
    nic: str = "per_gpu",
    prefix: str = "n",
) -> Graph:
    """Multi-GPU machines: all-to-all inside a machine, NICs to a network switch.

    ``nodes`` machines of ``gpus_per_node`` GPUs; GPU j of machine i is ``f"{prefix}{i}g{j}"``
    (rank order machine-major), with ``group`` i and ``local_rank`` j. The GPUs of a machine are
    fully connected at ``intra_bandwidth`` (NVLink/NVSwitch-style). ``nic`` says how a machine
    reaches the switch ``"net"``:

    * ``"per_gpu"`` (default): every GPU has its own NIC link at ``inter_bandwidth``, as in an
      NVIDIA DGX H100 (8 H100 GPUs on 4 NVSwitches, 8 ConnectX-7 400 Gb/s NICs; NVIDIA DGX H100
      User Guide, "Hardware Overview").
    * ``"shared"``: the machine has one NIC, the switch node ``f"{prefix}{i}nic"``; each GPU
      reaches it over an ``intra_bandwidth`` link (its PCIe path to the NIC) and the NIC reaches
      ``"net"`` over one ``inter_bandwidth`` link, so every GPU of the machine shares the NIC's
      bandwidth in each direction. These are the servers of PipeDream's Cluster-A (Azure
      NC24 v3: 4 V100 on PCIe, one 10 Gb/s Ethernet NIC per server; Narayanan et al., SOSP 2019,
      §5.1). Traffic inside a machine keeps its direct GPU-to-GPU links.

    ``G.graph["gpus_per_node"]``, ``G.graph["machines"]`` and ``G.graph["nic"]`` record the shape.
    """
    kind = "two_level"
    nodes = _check_count(kind, "nodes", nodes, 1)
    gpus_per_node = _check_count(kind, "gpus_per_node", gpus_per_node, 1)
    if nodes * gpus_per_node < 2:
        raise InputError(
            f"two_level topology: nodes * gpus_per_node must be at least 2 GPUs, got "
            f"{nodes} * {gpus_per_node} = {nodes * gpus_per_node}"
        )
    intra_bandwidth = _check_bandwidth(kind, "intra_bandwidth", intra_bandwidth)
    intra_latency = _check_latency(kind, "intra_latency", intra_latency)
    inter_bandwidth = _check_bandwidth(kind, "inter_bandwidth", inter_bandwidth)
    inter_latency = _check_latency(kind, "inter_latency", inter_latency)
    prefix = _check_prefix(kind, prefix)
    if nic not in ("per_gpu", "shared"):
        raise InputError(
            f"two_level topology: nic must be 'per_gpu' (a NIC per GPU) or 'shared' (one NIC "
            f"per machine), got {nic!r}"
        )
    G = _new_graph(kind, gpus_per_node=gpus_per_node, machines=nodes, nic=nic)
    for i in range(nodes):
        for j in range(gpus_per_node):
            _add_device(G, f"{prefix}{i}g{j}", group=i, local_rank=j)
    _add_switch(G, "net")
    for i in range(nodes):
        gpus = [f"{prefix}{i}g{j}" for j in range(gpus_per_node)]
        for j, a in enumerate(gpus):
            for b in gpus[j + 1 :]:
                _link(G, a, b, intra_bandwidth, intra_latency)
        if nic == "shared":
            card = f"{prefix}{i}nic"
            _add_switch(G, card, role="nic", group=i)
            _link(G, card, "net", inter_bandwidth, inter_latency)
            for gpu in gpus:
                _link(G, gpu, card, intra_bandwidth, intra_latency)
        else:
            for gpu in gpus:
                _link(G, gpu, "net", inter_bandwidth, inter_latency)
    return _finish(G)


def edge_cloud(
    *,
    devices: int,
    edge_servers: int,
    device_bandwidth: float,
    device_latency: float,
    edge_bandwidth: float,
    edge_latency: float,
    device_preset: str | None = None,
    edge_preset: str | None = None,
    cloud_preset: str | None = None,
) -> Graph:
    """A three-tier device/edge/cloud hierarchy, as in hierarchical federated learning.

    Devices ``"dev{i}"`` (tier "device"), edge servers ``"edge{j}"`` (tier "edge") and one
    ``"cloud"`` node (tier "cloud"), all of kind "device" since all three compute; rank order
    is devices, edge servers, cloud. Device i attaches to edge server
    ``i * edge_servers // devices`` (contiguous blocks) by a link of ``device_bandwidth`` /
    ``device_latency``; every edge server attaches to the cloud by a link of ``edge_bandwidth``
    / ``edge_latency``. The presets, when given, are stored in node attribute ``preset``.
    ``group`` is the edge server index for devices and edge servers. After Liu, Zhang, Song &
    Letaief, "Client-Edge-Cloud Hierarchical Federated Learning", IEEE ICC 2020.
    """
    kind = "edge_cloud"
    devices = _check_count(kind, "devices", devices, 1)
    edge_servers = _check_count(kind, "edge_servers", edge_servers, 1)
    if edge_servers > devices:
        raise InputError(
            f"edge_cloud topology: edge_servers ({edge_servers}) must not exceed devices "
            f"({devices}); expected every edge server to serve at least one device"
        )
    device_bandwidth = _check_bandwidth(kind, "device_bandwidth", device_bandwidth)
    device_latency = _check_latency(kind, "device_latency", device_latency)
    edge_bandwidth = _check_bandwidth(kind, "edge_bandwidth", edge_bandwidth)
    edge_latency = _check_latency(kind, "edge_latency", edge_latency)
    device_preset = _check_preset(kind, "device_preset", device_preset)
    edge_preset = _check_preset(kind, "edge_preset", edge_preset)
    cloud_preset = _check_preset(kind, "cloud_preset", cloud_preset)
    G = _new_graph(kind, edge_servers=edge_servers)
    for i in range(devices):
        _add_device(
            G, f"dev{i}", tier="device", preset=device_preset, group=i * edge_servers // devices
        )
    for j in range(edge_servers):
        _add_device(G, f"edge{j}", tier="edge", preset=edge_preset, group=j)
    _add_device(G, "cloud", tier="cloud", preset=cloud_preset)
    for i in range(devices):
        _link(G, f"dev{i}", f"edge{i * edge_servers // devices}", device_bandwidth, device_latency)
    for j in range(edge_servers):
        _link(G, f"edge{j}", "cloud", edge_bandwidth, edge_latency)
    return _finish(G)


# --------------------------------------------------------------------------- custom


_RANGE = re.compile(r"^(?P<head>[^\[\]]*)\[(?P<lo>\d+)-(?P<hi>\d+)\](?P<tail>[^\[\]]*)$")


def _padded(digits: str) -> bool:
    return len(digits) > 1 and digits.startswith("0")


def expand_names(pattern: str) -> list[str]:
    """Expand one bracket range in a node name, Slurm-hostlist style.

    ``"w[0-3]"`` gives ``["w0", "w1", "w2", "w3"]``; ``"gpu[00-03]"`` keeps the zero padding
    (``gpu00`` .. ``gpu03``); a name without brackets is returned as a one-element list. At
    most one range is allowed, and its bounds must be decimal integers with low <= high.
    """
    if not isinstance(pattern, str) or not pattern:
        raise InputError(f"custom topology: node name must be a non-empty string, got {pattern!r}")
    if "[" not in pattern and "]" not in pattern:
        return [pattern]
    m = _RANGE.match(pattern)
    if m is None:
        raise InputError(
            f"custom topology: name pattern {pattern!r} is malformed; expected at most one "
            "bracket range of decimal bounds such as 'w[0-7]' or 'gpu[00-03]'"
        )
    lo_s, hi_s = m["lo"], m["hi"]
    lo, hi = int(lo_s), int(hi_s)
    if lo > hi:
        raise InputError(
            f"custom topology: name pattern {pattern!r} has range {lo_s}-{hi_s}, which is "
            "descending; expected low <= high"
        )
    if hi - lo + 1 > _MAX_RANGE:
        raise InputError(
            f"custom topology: name pattern {pattern!r} expands to {hi - lo + 1} names; "
            f"expected at most {_MAX_RANGE}"
        )
    if _padded(lo_s):
        width = len(lo_s)
    elif _padded(hi_s):
        width = len(hi_s)
    else:
        width = 0
    return [f"{m['head']}{i:0{width}d}{m['tail']}" for i in range(lo, hi + 1)]


_NODE_FIELDS = ("name", "kind", "role", "preset", "tier", "group")
_LINK_FIELDS = ("a", "b", "bandwidth", "latency", "medium")
_LINK_REQUIRED = ("a", "b", "bandwidth", "latency")


def _check_fields(where: str, item: Any, allowed: Sequence[str], required: Sequence[str]) -> None:
    if not isinstance(item, Mapping):
        raise InputError(
            f"custom topology: {where} must be a mapping with fields {', '.join(allowed)}, "
            f"got {item!r}"
        )
    for key in item:
        if key not in allowed:
            raise InputError(
                f"custom topology: {where} has unknown field {key!r}; "
                f"expected only {', '.join(allowed)}"
            )
    for key in required:
        if key not in item:
            raise InputError(f"custom topology: {where} has no {key!r}; it is required")


def _as_list(param: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InputError(f"custom topology: {param} must be a list, got {value!r}")
    return list(value)


def custom(*, nodes: Sequence[Mapping[str, Any]], links: Sequence[Mapping[str, Any]]) -> Graph:
    """A topology given node by node and link by link.

    ``nodes`` is a list of ``{name, kind="device", role=..., preset=None, tier=None,
    group=None}``; ``role`` defaults to "worker" for devices and "switch" for switches. ``links``
    is a list of ``{a, b, bandwidth, latency}`` and an optional ``medium``: the name of the
    shared medium the link is on, or ``True`` for its access point's (see :func:`attach_media`).
    Names may contain one bracket range (see
    :func:`expand_names`): a node pattern declares every member with the same attributes; in a
    link, a single name against a range makes a star (each member linked to the single name)
    and two ranges of equal length are zipped pairwise. Devices are ranked in declaration
    order. Bracket ranges follow the Slurm hostlist syntax (Slurm ``scontrol show hostnames``).
    """
    kind = "custom"
    node_list = _as_list("nodes", nodes)
    link_list = _as_list("links", links)
    wireless: list[tuple[str, str, str | None]] = []
    G = _new_graph(kind)
    for idx, spec in enumerate(node_list):
        where = f"nodes[{idx}]"
        _check_fields(where, spec, _NODE_FIELDS, ("name",))
        names = expand_names(spec["name"])
        where = f"node {spec['name']!r}"
        node_kind = spec.get("kind")
        node_kind = DEVICE if node_kind is None else node_kind
        if node_kind not in _NODE_KINDS:
            raise InputError(
                f"custom topology: {where} has kind {node_kind!r}; expected 'device' or 'switch'"
            )
        role = spec.get("role")
        role = ("worker" if node_kind == DEVICE else "switch") if role is None else role
        if not isinstance(role, str) or not role:
            raise InputError(
                f"custom topology: {where} has role {role!r}; expected a non-empty string"
            )
        preset = spec.get("preset")
        if preset is not None:
            if node_kind == SWITCH:
                raise InputError(
                    f"custom topology: {where} is a switch but has preset {preset!r}; "
                    "expected presets only on device nodes"
                )
            if not isinstance(preset, str) or not preset:
                raise InputError(
                    f"custom topology: {where} has preset {preset!r}; expected a preset name"
                )
        tier = spec.get("tier")
        if tier is not None and (not isinstance(tier, str) or not tier):
            raise InputError(
                f"custom topology: {where} has tier {tier!r}; expected a non-empty string"
            )
        group = spec.get("group")
        if group is not None:
            if isinstance(group, bool) or not isinstance(group, numbers.Integral):
                raise InputError(
                    f"custom topology: {where} has group {group!r}; expected an integer"
                )
            group = int(group)
        for name in names:
            if name in G:
                raise InputError(
                    f"custom topology: node {name!r} is declared twice; expected unique names"
                )
            G.add_node(
                name,
                kind=node_kind,
                role=role,
                **{
                    k: v
                    for k, v in (("preset", preset), ("tier", tier), ("group", group))
                    if v is not None
                },
            )

    for idx, spec in enumerate(link_list):
        _check_fields(f"links[{idx}]", spec, _LINK_FIELDS, _LINK_REQUIRED)
        a_pat, b_pat = spec["a"], spec["b"]
        a_names, b_names = expand_names(a_pat), expand_names(b_pat)
        desc = f"link {a_pat}-{b_pat}"
        bandwidth = _check_bandwidth(kind, f"bandwidth of {desc}", spec["bandwidth"])
        latency = _check_latency(kind, f"latency of {desc}", spec["latency"])
        if len(a_names) == 1:
            pairs = [(a_names[0], b) for b in b_names]
        elif len(b_names) == 1:
            pairs = [(a, b_names[0]) for a in a_names]
        elif len(a_names) == len(b_names):
            pairs = list(zip(a_names, b_names, strict=True))
        else:
            raise InputError(
                f"custom topology: {desc} zips ranges of unequal length "
                f"({a_pat!r} has {len(a_names)} names, {b_pat!r} has {len(b_names)}); "
                "expected equal lengths, or a single name against a range"
            )
        for a, b in pairs:
            for end in (a, b):
                if end not in G:
                    raise InputError(
                        f"custom topology: {desc} refers to unknown node {end!r}; "
                        "expected a name declared in nodes"
                    )
            if a == b:
                raise InputError(
                    f"custom topology: {desc} links node {a!r} to itself; expected two "
                    "different nodes"
                )
            if G.has_edge(a, b):
                raise InputError(
                    f"custom topology: {desc} repeats the link between {a!r} and {b!r}; "
                    "expected each pair of nodes to be linked at most once"
                )
            _link(G, a, b, bandwidth, latency)
            medium = spec.get("medium")
            if medium is not None and medium is not False:
                wireless.append((a, b, None if medium is True else medium))
    attach_media(G, wireless)
    return _finish(G)


# --------------------------------------------------------------------------- shared media


def _access_point(G: Graph, a: str, b: str) -> str:
    """The medium a wireless link joins by default: its switch end (``b`` first), else the
    edge server or cloud end of an edge_cloud link, else the link itself (``"a-b"``)."""
    for end in (b, a):
        if G.nodes[end].get("kind") == SWITCH:
            return end
    for end in (b, a):
        if G.nodes[end].get("tier") in ("edge", "cloud"):
            return end
    return f"{a}-{b}"


def attach_media(G: Graph, links: Iterable[tuple[str, str, str | None]]) -> None:
    """Put the links ``(a, b, medium)`` on shared media; ``medium`` None picks the access point.

    Every link on one medium shares its capacity (the largest of their bandwidths) in both
    directions: two stations sending at once get half each, as on one Wi-Fi channel. A link
    keeps its own bandwidth as the per-station limit.
    """
    media: dict[str, float] = G.graph.setdefault("media", {})
    for a, b, name in links:
        if not G.has_edge(a, b):
            raise InputError(f"no link between {a!r} and {b!r} to put on a shared medium")
        if not isinstance(name, str | None) or name == "":
            raise InputError(
                f"link {a}-{b}: medium {name!r} is not a name; expected a non-empty string"
            )
        medium = _access_point(G, a, b) if name is None else name
        edge = G.edges[a, b]
        edge["medium"] = medium
        media[medium] = max(media.get(medium, 0.0), float(edge["bandwidth"]))


# --------------------------------------------------------------------------- registry


BUILDERS: dict[str, Callable[..., Graph]] = {
    "ring": ring,
    "fully_connected": fully_connected,
    "switch": switch,
    "tree": tree,
    "torus2d": torus2d,
    "fat_tree": fat_tree,
    "two_level": two_level,
    "edge_cloud": edge_cloud,
    "custom": custom,
}

DESCRIPTIONS: dict[str, str] = {
    "ring": "devices in a ring, each linked to its two neighbours",
    "fully_connected": "a dedicated link between every pair of devices",
    "switch": "devices on one switch, or on leaf switches under a core (optionally oversubscribed)",
    "tree": "a thin tree of switches with the devices as leaves; the root is the bottleneck",
    "torus2d": "a rows x cols 2-D torus, each device linked to 4 neighbours with wrap-around",
    "fat_tree": "the k-ary fat-tree of Al-Fares et al. (SIGCOMM 2008): k^3/4 hosts, full bisection",
    "two_level": "multi-GPU machines: all-to-all GPUs inside, one NIC per GPU to a network switch",
    "edge_cloud": "three tiers: devices attached to edge servers attached to one cloud node",
    "custom": "nodes and links listed explicitly, with bracket ranges such as w[0-7]",
}
