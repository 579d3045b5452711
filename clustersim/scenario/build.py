"""From a validated scenario to a Cluster: resolve presets and links, build the topology."""

from __future__ import annotations

import dataclasses
from typing import Any

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware import topology as topo
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.presets import get_device, get_link
from clustersim.hardware.spec import DeviceSpec
from clustersim.scenario.loader import Scenario, field_error
from clustersim.scenario.schema import DeviceModel, LinkModel

__all__ = ["build_cluster", "resolve_device", "resolve_link"]


def resolve_link(
    link: LinkModel | str | None, path: str, fallback: tuple[float, float] | None = None
) -> tuple[float, float]:
    """(bandwidth B/s, latency s) of a link given as a preset name or a mapping."""
    if link is None:
        if fallback is None:
            raise InputError(
                f"{path}: required: give a link preset name (e.g. NVLink4) or "
                "{bandwidth: ..., latency: ...}"
            )
        return fallback
    if isinstance(link, str):
        return get_link(link)
    bandwidth, latency = get_link(link.preset) if link.preset else (None, 0.0)
    if link.bandwidth is not None:
        bandwidth = link.bandwidth
    if link.latency is not None:
        latency = link.latency
    if bandwidth is None:
        raise InputError(f"{path}.bandwidth: required when no preset is given")
    return float(bandwidth), float(latency)


def resolve_device(device: DeviceModel | str, path: str) -> DeviceSpec:
    """A DeviceSpec from a preset name or an inline mapping (preset fields overridden)."""
    if isinstance(device, str):
        return get_device(device)
    values = {k: v for k, v in device.model_dump().items() if v is not None and k != "preset"}
    if device.preset:
        return dataclasses.replace(get_device(device.preset), **values)
    missing = [f for f in ("peak_flops", "mem_bandwidth", "memory") if f not in values]
    if missing:
        raise InputError(f"{path}: an inline device needs {', '.join(missing)} (or a preset)")
    values.setdefault("name", "custom")
    return DeviceSpec(**values)


def _graph_kwargs(scenario: Scenario, link: tuple[float, float] | None) -> dict[str, Any]:
    model = scenario.topology
    params = model.model_dump(exclude={"kind"})
    kind = model.kind  # type: ignore[attr-defined]
    path = "cluster.topology"

    def need_link() -> tuple[float, float]:
        if link is None:
            raise InputError(
                f"cluster.link: required for topology kind {kind!r}; give a preset "
                "name (e.g. NVLink4) or {bandwidth: 50 GiB/s, latency: 500 ns}"
            )
        return link

    if kind == "two_level":
        intra = resolve_link(model.intra_link, f"{path}.intra_link")  # type: ignore[attr-defined]
        inter = resolve_link(
            model.inter_link,
            f"{path}.inter_link",  # type: ignore[attr-defined]
            fallback=link,
        )
        del params["intra_link"], params["inter_link"]
        return {
            **params,
            "intra_bandwidth": intra[0],
            "intra_latency": intra[1],
            "inter_bandwidth": inter[0],
            "inter_latency": inter[1],
        }
    if kind == "edge_cloud":
        dev = resolve_link(model.device_link, f"{path}.device_link")  # type: ignore[attr-defined]
        edge = resolve_link(model.edge_link, f"{path}.edge_link")  # type: ignore[attr-defined]
        del params["device_link"], params["edge_link"]
        return {
            **params,
            "device_bandwidth": dev[0],
            "device_latency": dev[1],
            "edge_bandwidth": edge[0],
            "edge_latency": edge[1],
        }
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
                bw, lat = link[0], link[1] if entry.latency is None else entry.latency
            else:
                bw, lat = resolve_link(entry, where)
            links.append({"a": entry.a, "b": entry.b, "bandwidth": bw, "latency": lat})
        return {"nodes": nodes, "links": links}
    bandwidth, latency = need_link()
    return {**params, "bandwidth": bandwidth, "latency": latency}


def build_cluster(scenario: Scenario, sim: Simulation) -> Cluster:
    """Build the topology graph and the Cluster of a scenario; errors name the field."""
    cluster_model = scenario.model.cluster
    source = scenario.source
    try:
        link = None
        if cluster_model.link is not None:
            link = resolve_link(cluster_model.link, "cluster.link")
        kwargs = _graph_kwargs(scenario, link)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    kind = scenario.topology.kind  # type: ignore[attr-defined]
    try:
        graph = topo.BUILDERS[kind](**kwargs)
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
