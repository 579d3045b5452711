"""Power of the devices for Neurosurgeon's energy objective: computing, idle while waiting for
the cloud, and transmitting (radio on), in watts, each number with where it comes from.

Kept in this package rather than in :class:`~clustersim.hardware.spec.DeviceSpec`: the radio's
power belongs to the device's network interface and link technology, not to the roofline; a
scenario cannot set extra ``DeviceSpec`` fields inline (the scenario schema's device model has
no power fields); and a scenario plugs in its own measured powers through ``workload.power``.
Only the mobile device's energy is Neurosurgeon's objective (Kang et al., ASPLOS 2017, §4:
"mobile energy consumption"); the cloud's figures are reported for completeness.

Numbers marked "assumption" are typical values chosen here with the reasoning given, not
measurements from a cited document; "from memory" means the document could not be re-checked.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["POWER_PRESETS", "Power", "power_preset"]


@dataclass(frozen=True)
class Power:
    """Watts while computing, while idle waiting, and while the radio sends or receives."""

    compute_w: float
    idle_w: float
    transmit_w: float
    source: str = ""


POWER_PRESETS: dict[str, Power] = {
    # Raspberry Pi 4 Model B at its 5 V input, no peripherals: about 2.7 W idle and 6.4 W with
    # all four cores busy (RasPi.TV, "How much power does Pi4B use? Power Measurements", 2019,
    # from memory; Jeff Geerling's measurements of the same board are within ~1 W).
    # Transmitting: idle plus ~0.7 W for the CYW43455 Wi-Fi radio sending (assumption: its
    # transmit current is a few hundred mA at 3.3 V).
    "RaspberryPi4": Power(
        compute_w=6.4,
        idle_w=2.7,
        transmit_w=3.4,
        source="RasPi.TV Pi 4B power measurements 2019 (2.7 W idle, 6.4 W 4-core load; from "
        "memory); transmit = idle + 0.7 W radio (assumption)",
    ),
    # Jetson Orin Nano 8GB in its 15 W power mode: computing at the mode's module power budget
    # (Jetson Orin Nano Series datasheet, power modes 7 W | 15 W). Idle ~5 W and radio +1 W for
    # an M.2 Wi-Fi card (assumptions; the module has no radio of its own).
    "JetsonOrinNano": Power(
        compute_w=15.0,
        idle_w=5.0,
        transmit_w=6.0,
        source="Jetson Orin Nano Series datasheet (15 W mode); idle 5 W and transmit 6 W assumed",
    ),
    # NVIDIA A100 SXM4: computing at its 400 W TDP (A100 datasheet); idle ~50 W (assumption,
    # typical nvidia-smi reading of an idle SXM4 board, from memory); its NIC's share is
    # negligible next to the idle GPU, so transmitting = idle (assumption).
    "A100": Power(
        compute_w=400.0,
        idle_w=50.0,
        transmit_w=50.0,
        source="NVIDIA A100 datasheet (400 W TDP); idle 50 W assumed (from memory of nvidia-smi)",
    ),
    # NVIDIA H100 SXM5: 700 W TDP (H100 datasheet); idle ~70 W (assumption, as for the A100).
    "H100": Power(
        compute_w=700.0,
        idle_w=70.0,
        transmit_w=70.0,
        source="NVIDIA H100 datasheet (700 W TDP); idle 70 W assumed",
    ),
}
"""Power models by device preset name (:data:`clustersim.hardware.presets.DEVICE_PRESETS`)."""


def power_preset(device_name: str) -> Power | None:
    """The power model of the device preset called ``device_name``, or None."""
    return POWER_PRESETS.get(device_name)
