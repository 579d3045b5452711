"""What exists: workload kinds, topologies and presets, from the registries the runner uses."""

from __future__ import annotations

from clustersim.hardware.presets import DEVICE_PRESETS, LINK_PRESETS
from clustersim.hardware.topology import DESCRIPTIONS
from clustersim.scenario.registry import kinds
from clustersim.units import format_bytes, format_flop_rate, format_rate, format_time

__all__ = ["listing"]


def listing() -> str:
    """The text ``clustersim list`` prints."""
    lines = ["workload kinds:"]
    for name, kind in kinds().items():
        lines.append(f"  {name}: {kind.description}")
        for detail in kind.details() if kind.details else []:
            lines.append(f"      {detail}")
    lines += ["", "topologies (cluster.topology.kind):"]
    lines += [f"  {name}: {text}" for name, text in DESCRIPTIONS.items()]
    lines += ["", "device presets (cluster.device):"]
    for name, spec in DEVICE_PRESETS.items():
        lines.append(
            f"  {name}: {format_flop_rate(spec.peak_flops, 4)}, "
            f"{format_rate(spec.mem_bandwidth, 4)}, {format_bytes(spec.memory, 4)}"
            f"  [{spec.source}]"
        )
    lines += ["", "link presets (cluster.link, per direction):"]
    for name, (bandwidth, latency, source) in LINK_PRESETS.items():
        lines.append(
            f"  {name}: {format_rate(bandwidth, 4)}, {format_time(latency, 3)}  [{source}]"
        )
    return "\n".join(lines)
