"""The scenario schema (pydantic v2, ``extra="forbid"``): a misspelt key is an error.

The top level fixes ``name``, ``description``, ``seed``, ``cluster`` and ``output``; the
``cluster.topology`` and ``workload`` mappings are validated in a second stage against the model
their ``kind`` selects (:data:`TOPOLOGY_MODELS` and the workload registry), so that new kinds
plug in without touching this file's top level.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from clustersim.errors import InputError
from clustersim.units import Bytes, FlopRate, Rate, Seconds

__all__ = [
    "TOPOLOGY_MODELS",
    "ClusterModel",
    "DeviceModel",
    "LinkModel",
    "OutputModel",
    "ScenarioModel",
    "Strict",
]


class Strict(BaseModel):
    """Base for every scenario model: unknown keys are errors.

    ``defer_build``: a model's validator is built when it first validates, not when this module
    is imported, so a scenario pays only for the models it uses (one topology of ten), and
    ``clustersim validate`` starts faster (issue 9).
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)


class LinkModel(Strict):
    """A link: a preset name (``preset: NVLink4``) and/or explicit numbers (explicit wins)."""

    preset: str | None = None
    bandwidth: Rate | None = Field(None, description="per direction, e.g. 50 GiB/s or 100 Gbps")
    latency: Seconds | None = Field(None, description="one-way, e.g. 500 ns")
    shared: bool | None = Field(
        None,
        description="a shared medium (Wi-Fi airtime) rather than a full-duplex wire; default: "
        "true for the Wi-Fi presets",
    )

    @field_validator("bandwidth")
    @classmethod
    def _positive_bandwidth(cls, value: float | None) -> float | None:
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise InputError(
                f"bandwidth must be a positive, finite rate such as 50 GiB/s, got {value!r}"
            )
        return value

    @field_validator("latency")
    @classmethod
    def _non_negative_latency(cls, value: float | None) -> float | None:
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise InputError(f"latency must be a non-negative time such as 500 ns, got {value!r}")
        return value


def _preset_shorthand(value: Any) -> Any:
    """``"NVLink4"`` -> ``{"preset": "NVLink4"}``: a bare string names a preset."""
    return {"preset": value} if isinstance(value, str) else value


LinkField = Annotated[LinkModel, BeforeValidator(_preset_shorthand)]
"""A link given as a mapping, or just a preset name."""


class DeviceModel(Strict):
    """An inline device: a preset to start from, or every roofline number."""

    preset: str | None = None
    name: str | None = None
    peak_flops: FlopRate | None = None
    mem_bandwidth: Rate | None = None
    memory: Bytes | None = None
    efficiency: float | None = Field(None, gt=0, le=1)
    launch_overhead: Seconds | None = Field(
        None,
        description="seconds per kernel launch, e.g. 5 us; 0 turns it off (default: the "
        "preset's, 0 for a device given by its numbers)",
    )

    @field_validator("launch_overhead")
    @classmethod
    def _non_negative_launch(cls, value: float | None) -> float | None:
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise InputError(
                "launch_overhead must be a finite time >= 0 per kernel such as 5 us (0 turns "
                f"it off), got {value!r}"
            )
        return value


DeviceField = Annotated[DeviceModel, BeforeValidator(_preset_shorthand)]
"""A device given as a mapping, or just a preset name."""


class ClusterModel(Strict):
    """The hardware: topology, default device, default link, per-node overrides."""

    topology: dict[str, Any]
    device: DeviceField = Field(default_factory=lambda: DeviceModel(preset="H100"))
    link: LinkField | None = None
    devices: dict[str, DeviceField] = Field(
        default_factory=dict, description="per-node device overrides, by node name"
    )
    slowdown: dict[str, float] = Field(
        default_factory=dict, description="per-node compute slowdown factors (stragglers)"
    )


class OutputModel(Strict):
    """Where the run writes its artefacts (CLI flags override)."""

    trace: str | None = None
    timeline: str | None = None
    json_path: str | None = Field(None, alias="json")


class ScenarioModel(Strict):
    """A whole scenario file."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(0, ge=0, le=2**63 - 1, description="the run's random seed, 0 <= seed < 2**63")
    cluster: ClusterModel
    workload: dict[str, Any]
    output: OutputModel = Field(default_factory=OutputModel)
    expect: dict[str, Any] | None = Field(
        None, description="bounds on metrics and checks (see clustersim.scenario.expect)"
    )


# ---------------------------------------------------------------------------- topologies
class _Topology(Strict):
    prefix: str = "n"


class RingTopology(_Topology):
    kind: Literal["ring"]
    nodes: int


class FullyConnectedTopology(_Topology):
    kind: Literal["fully_connected"]
    nodes: int


class SwitchTopology(_Topology):
    kind: Literal["switch"]
    nodes: int
    groups: int = 1
    uplink_bandwidth: Rate | None = None
    uplink_latency: Seconds | None = None


class TreeTopology(_Topology):
    kind: Literal["tree"]
    nodes: int
    arity: int = 2


class Torus2dTopology(_Topology):
    kind: Literal["torus2d"]
    rows: int
    cols: int


class FatTreeTopology(_Topology):
    kind: Literal["fat_tree"]
    k: int


class TwoLevelTopology(_Topology):
    kind: Literal["two_level"]
    nodes: int
    gpus_per_node: int
    intra_link: LinkField = Field(default_factory=lambda: LinkModel(preset="NVLink4"))
    inter_link: LinkField | None = Field(None, description="default: cluster.link")
    nic: Literal["per_gpu", "shared"] = Field(
        "per_gpu", description="a NIC per GPU, or one per machine shared by its GPUs"
    )


class EdgeCloudTopology(Strict):
    kind: Literal["edge_cloud"]
    devices: int
    edge_servers: int = 1
    device_link: LinkField = Field(default_factory=lambda: LinkModel(preset="WiFi5"))
    edge_link: LinkField = Field(default_factory=lambda: LinkModel(preset="1GbE"))
    device_preset: str | None = "RaspberryPi4"
    edge_preset: str | None = "JetsonOrinNano"
    cloud_preset: str | None = "A100"


class CustomNode(Strict):
    name: str
    kind: Literal["device", "switch"] = "device"
    role: str | None = None
    preset: str | None = None
    tier: str | None = None
    group: int | None = None


class CustomLink(LinkModel):
    """A custom topology link; without preset or bandwidth it takes cluster.link."""

    a: str
    b: str
    medium: str | None = Field(
        None,
        description="name of the shared medium the link is on (links naming one medium share "
        "its airtime); a shared link without it joins its access point's (the switch end)",
    )


class CustomTopology(Strict):
    kind: Literal["custom"]
    nodes: list[CustomNode]
    links: list[CustomLink]


TOPOLOGY_MODELS: dict[str, type[Strict]] = {
    "ring": RingTopology,
    "fully_connected": FullyConnectedTopology,
    "switch": SwitchTopology,
    "tree": TreeTopology,
    "torus2d": Torus2dTopology,
    "fat_tree": FatTreeTopology,
    "two_level": TwoLevelTopology,
    "edge_cloud": EdgeCloudTopology,
    "custom": CustomTopology,
}
