"""From a validated scenario to a Cluster: resolve presets and links, build the topology."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware import topology as topo
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.graph import Graph
from clustersim.hardware.presets import get_device, get_link, is_shared_medium
from clustersim.hardware.spec import DeviceSpec
from clustersim.scenario.loader import Scenario, field_error
from clustersim.scenario.schema import DeviceModel, LinkModel

__all__ = ["LinkSpec", "build_cluster", "resolve_device", "resolve_link"]


class LinkSpec(NamedTuple):
    """A resolved link: bandwidth (bytes/s per direction), latency (s), on a shared medium?"""

    bandwidth: float
    latency: float
    shared: bool = False


def resolve_link(
    link: LinkModel | str | None, path: str, fallback: LinkSpec | None = None
) -> LinkSpec:
    """A link given as a preset name or a mapping; Wi-Fi presets are shared media by default."""
    if link is None:
        if fallback is None:
            raise InputError(
                f"{path}: required: give a link preset name (e.g. NVLink4) or "
                "{bandwidth: ..., latency: ...}"
            )
        return fallback
    try:
        if isinstance(link, str):
            return LinkSpec(*get_link(link), is_shared_medium(link))
        bandwidth, latency = get_link(link.preset) if link.preset else (None, 0.0)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if link.bandwidth is not None:
        bandwidth = link.bandwidth
    if link.latency is not None:
        latency = link.latency
    if bandwidth is None:
        raise InputError(f"{path}.bandwidth: required when no preset is given")
    shared = link.shared
    if shared is None:
        shared = bool(link.preset) and is_shared_medium(link.preset)
    return LinkSpec(float(bandwidth), float(latency), shared)


def resolve_device(device: DeviceModel | str, path: str) -> DeviceSpec:
    """A DeviceSpec from a preset name or an inline mapping (preset fields overridden)."""
    if isinstance(device, str):
        return get_device(device)
    values = {k: v for k, v in device.model_dump().items() if v is not None and k != "preset"}
    if device.preset:
        return dataclasses.replace(get_device(device.preset), **values)
    missing = [f for f in ("peak_flops", "mem_bandwidth", "memory") if f not in values]
    if missing:
        raise InputError(f"an inline device needs {', '.join(missing)} (or a preset)")
    values.setdefault("name", "custom")
    return DeviceSpec(**values)


def _graph_kwargs(
    scenario: Scenario, link: LinkSpec | None
) -> tuple[dict[str, Any], Callable[[Graph], list[tuple[str, str, str | None]]]]:
    """The builder's keyword arguments, and a function listing the built graph's wireless links
    (``(a, b, medium or None)``) from the shared-medium flags of the links that made them."""
    model = scenario.topology
    params = model.model_dump(exclude={"kind"})
    kind = model.kind  # type: ignore[attr-defined]
    path = "cluster.topology"

    def need_link() -> LinkSpec:
        if link is None:
            raise InputError(
                f"cluster.link: required for topology kind {kind!r}; give a preset "
                "name (e.g. NVLink4) or {bandwidth: 50 GiB/s, latency: 500 ns}"
            )
        return link

    def none(graph: Graph) -> list[tuple[str, str, str | None]]:
        return []

    if kind == "two_level":
        intra = resolve_link(model.intra_link, f"{path}.intra_link")  # type: ignore[attr-defined]
        inter = resolve_link(
            model.inter_link,  # type: ignore[attr-defined]
            f"{path}.inter_link",
            fallback=link,
        )
        for name, spec in (("intra_link", intra), ("inter_link", inter)):
            if spec.shared:
                raise InputError(
                    f"{path}.{name}: two_level models wired machines; a shared wireless medium "
                    "is expected only on switch, edge_cloud or custom topologies (or set "
                    "shared: false)"
                )
        del params["intra_link"], params["inter_link"]
        kwargs = {
            **params,
            "intra_bandwidth": intra.bandwidth,
            "intra_latency": intra.latency,
            "inter_bandwidth": inter.bandwidth,
            "inter_latency": inter.latency,
        }
        return kwargs, none
    if kind == "edge_cloud":
        dev = resolve_link(model.device_link, f"{path}.device_link")  # type: ignore[attr-defined]
        edge = resolve_link(model.edge_link, f"{path}.edge_link")  # type: ignore[attr-defined]
        del params["device_link"], params["edge_link"]
        kwargs = {
            **params,
            "device_bandwidth": dev.bandwidth,
            "device_latency": dev.latency,
            "edge_bandwidth": edge.bandwidth,
            "edge_latency": edge.latency,
        }

        def tiers(graph: Graph) -> list[tuple[str, str, str | None]]:
            wanted = {("device", "edge"): dev.shared, ("edge", "cloud"): edge.shared}
            return [
                (a, b, None)
                for a, b in graph.edges
                if wanted.get((graph.nodes[a].get("tier"), graph.nodes[b].get("tier")))
            ]

        return kwargs, tiers
    if kind == "custom":
        nodes = [{k: v for k, v in n.items() if v is not None} for n in params["nodes"]]
        links = []
        for i, entry in enumerate(model.links):  # type: ignore[attr-defined]
            where = f"{path}.links.{i}"
            if entry.preset is None and entry.bandwidth is None:
                if link is None:
                    raise InputError(
                        f"{where}: needs a preset or a bandwidth, or a cluster.link to default to"
                    )
                lat = link.latency if entry.latency is None else entry.latency
                spec = LinkSpec(link.bandwidth, lat, link.shared)
                if entry.shared is not None:
                    spec = spec._replace(shared=entry.shared)
            else:
                spec = resolve_link(entry, where)
            medium: str | bool | None = entry.medium if entry.medium is not None else spec.shared
            links.append(
                {"a": entry.a, "b": entry.b, "bandwidth": spec.bandwidth, "latency": spec.latency}
                | ({"medium": medium} if medium else {})
            )

        return {"nodes": nodes, "links": links}, none
    spec = need_link()

    def device_links(graph: Graph) -> list[tuple[str, str, str | None]]:
        if not spec.shared:
            return []
        devices = {n for n, k in graph.nodes(data="kind") if k == "device"}
        return [(a, b, None) for a, b in graph.edges if a in devices or b in devices]

    return {**params, "bandwidth": spec.bandwidth, "latency": spec.latency}, device_links


MAX_TOPOLOGY_NODES = 100_000
MAX_TOPOLOGY_LINKS = 2_000_000
"""A topology is refused before it is built beyond these (a 100,000-node switch builds in a
few seconds; a million links take about a gigabyte of graph)."""


def topology_size(model: Any) -> tuple[int, int]:
    """(nodes, links) a topology model will build, from its parameters alone (an estimate for
    ``custom``, whose ranges expand when built). Non-integers count as 0: the builder refuses
    them with its own message."""

    def n(name: str) -> int:
        value = getattr(model, name, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    kind = model.kind
    if kind == "fully_connected":
        return n("nodes"), n("nodes") * max(n("nodes") - 1, 0) // 2
    if kind == "torus2d":
        return n("rows") * n("cols"), 2 * n("rows") * n("cols")
    if kind == "fat_tree":
        k = n("k")
        return k**3 // 4 + 5 * k * k // 4, 3 * k**3 // 4
    if kind == "two_level":
        gpus = n("nodes") * n("gpus_per_node")
        return gpus + 1, n("nodes") * n("gpus_per_node") ** 2 // 2 + gpus
    if kind == "edge_cloud":
        return n("devices") + n("edge_servers") + 1, n("devices") + n("edge_servers")
    if kind == "custom":
        return len(model.nodes), len(model.links)
    return 2 * n("nodes"), 2 * n("nodes")  # ring, switch (with its switches), tree


def build_cluster(scenario: Scenario, sim: Simulation) -> Cluster:
    """Build the topology graph and the Cluster of a scenario; errors name the field."""
    cluster_model = scenario.model.cluster
    source = scenario.source
    nodes, links = topology_size(scenario.topology)
    if nodes > MAX_TOPOLOGY_NODES or links > MAX_TOPOLOGY_LINKS:
        raise field_error(
            source,
            "cluster.topology",
            f"this topology would have about {nodes:,} nodes and {links:,} links, more than "
            f"the {MAX_TOPOLOGY_NODES:,} nodes and {MAX_TOPOLOGY_LINKS:,} links clustersim "
            "builds; expected a smaller cluster",
        )
    try:
        link = None
        if cluster_model.link is not None:
            link = resolve_link(cluster_model.link, "cluster.link")
        kwargs, wireless = _graph_kwargs(scenario, link)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    kind = scenario.topology.kind  # type: ignore[attr-defined]
    try:
        graph = topo.BUILDERS[kind](**kwargs)
        topo.attach_media(graph, wireless(graph))
    except InputError as exc:
        raise field_error(source, "cluster.topology", str(exc)) from None
    try:
        default = resolve_device(cluster_model.device, "cluster.device")
    except InputError as exc:
        raise field_error(source, "cluster.device", str(exc)) from None
    specs: dict[str, DeviceSpec] = {}
    for name, preset in graph.nodes(data="preset"):
        if preset:
            try:
                specs[name] = get_device(preset)
            except InputError as exc:
                raise field_error(source, "cluster.topology", f"node {name}: {exc}") from None
    for name, device in cluster_model.devices.items():
        if name not in graph:
            raise field_error(source, f"cluster.devices.{name}", "no such node in the topology")
        try:
            specs[name] = resolve_device(device, f"cluster.devices.{name}")
        except InputError as exc:
            raise field_error(source, f"cluster.devices.{name}", str(exc)) from None
    for name, factor in cluster_model.slowdown.items():
        if name not in graph:
            raise field_error(source, f"cluster.slowdown.{name}", "no such node in the topology")
        if not factor > 0:
            raise field_error(
                source, f"cluster.slowdown.{name}", f"must be a positive factor, got {factor!r}"
            )
    return Cluster(sim, graph, default, specs=specs, slowdowns=cluster_model.slowdown)
