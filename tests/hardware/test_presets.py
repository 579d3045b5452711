"""Tests for clustersim.hardware.presets: datasheet spot values, lookup and error messages.

The expected numbers below are typed in from the datasheets independently of the module, so a
slip in either place shows up as a failure.
"""

from __future__ import annotations

import math

import pytest

from clustersim.errors import InputError
from clustersim.hardware import presets
from clustersim.hardware.presets import (
    ALIASES,
    DEVICE_PRESETS,
    LINK_ALIASES,
    LINK_PRESETS,
    get_device,
    get_link,
)
from clustersim.hardware.spec import DeviceSpec

GIB = 2**30

REQUIRED_DEVICES = [
    "H100",
    "H200",
    "A100",
    "V100",
    "RaspberryPi4",
    "RaspberryPi5",
    "JetsonOrinNano",
    "CPU-server",
]
REQUIRED_LINKS = [
    "NVLink4",
    "NVLink3",
    "PCIe4x16",
    "PCIe5x16",
    "InfiniBand-NDR",
    "InfiniBand-HDR",
    "100GbE",
    "10GbE",
    "1GbE",
    "WiFi5",
    "WiFi6",
    "LTE-uplink",
    "5G-uplink",
]


# ---------------------------------------------------------------------------------------------
# Table sanity
# ---------------------------------------------------------------------------------------------


def test_required_presets_exist():
    assert set(REQUIRED_DEVICES) <= set(DEVICE_PRESETS)
    assert set(REQUIRED_LINKS) <= set(LINK_PRESETS)


@pytest.mark.parametrize("name", sorted(DEVICE_PRESETS))
def test_device_preset_well_formed(name):
    spec = DEVICE_PRESETS[name]
    assert isinstance(spec, DeviceSpec)
    assert spec.name == name
    for value in (spec.peak_flops, spec.mem_bandwidth, spec.memory):
        assert math.isfinite(value) and value > 0
    assert spec.tdp_w >= 0
    assert spec.efficiency == 1.0
    assert spec.kind in {"gpu", "cpu", "edge"}
    assert spec.source.strip()


@pytest.mark.parametrize("name", sorted(LINK_PRESETS))
def test_link_preset_well_formed(name):
    entry = LINK_PRESETS[name]
    assert len(entry) == 3
    bandwidth, latency, source = entry
    assert math.isfinite(bandwidth) and bandwidth > 0
    assert math.isfinite(latency) and 0 < latency < 1
    assert isinstance(source, str) and source.strip()


def test_device_kinds():
    for name in ("H100", "H200", "A100", "V100", "L4", "RTX4090", "TPUv4"):
        assert DEVICE_PRESETS[name].kind == "gpu", name
    for name in ("RaspberryPi4", "RaspberryPi5", "JetsonOrinNano", "JetsonOrinNanoSuper"):
        assert DEVICE_PRESETS[name].kind == "edge", name
    assert DEVICE_PRESETS["CPU-server"].kind == "cpu"


# ---------------------------------------------------------------------------------------------
# Datasheet spot values (written independently of the module)
# ---------------------------------------------------------------------------------------------


def close(actual, expected, rel=1e-3):
    return actual == pytest.approx(expected, rel=rel)


def test_h100_sxm():
    h100 = DEVICE_PRESETS["H100"]
    assert close(h100.peak_flops, 1979e12 / 2)  # datasheet BF16 "with sparsity", halved
    assert h100.mem_bandwidth == 3.35e12
    assert h100.memory == 80 * GIB
    assert h100.tdp_w == 700


def test_h200_same_compute_more_memory():
    h100, h200 = DEVICE_PRESETS["H100"], DEVICE_PRESETS["H200"]
    assert h200.peak_flops == h100.peak_flops
    assert h200.mem_bandwidth == 4.8e12
    assert h200.memory == 141 * GIB


def test_a100_80gb_sxm():
    a100 = DEVICE_PRESETS["A100"]
    assert a100.peak_flops == 312e12
    assert a100.mem_bandwidth == 2039e9
    assert a100.memory == 80 * GIB  # NVML: 81,920 MiB
    assert a100.tdp_w == 400


def test_v100_sxm2_32gb():
    v100 = DEVICE_PRESETS["V100"]
    assert v100.peak_flops == 125e12
    assert v100.mem_bandwidth == 900e9
    assert v100.memory == 32 * GIB


def test_extra_accelerators():
    assert DEVICE_PRESETS["L4"].peak_flops == 121e12  # 242 sparse / 2
    assert DEVICE_PRESETS["L4"].mem_bandwidth == 300e9
    assert close(DEVICE_PRESETS["RTX4090"].peak_flops, 165.2e12)
    assert DEVICE_PRESETS["RTX4090"].mem_bandwidth == 1008e9
    tpu = DEVICE_PRESETS["TPUv4"]
    assert (tpu.peak_flops, tpu.mem_bandwidth, tpu.memory) == (275e12, 1200e9, 32 * GIB)


def test_no_sparse_figures_for_gpus():
    # The "with sparsity" headline numbers are twice the dense ones; none may appear.
    assert DEVICE_PRESETS["H100"].peak_flops < 1.0e15
    assert DEVICE_PRESETS["A100"].peak_flops < 400e12
    # Jetson Orin Nano: 40 TOPS is INT8 sparse; the dense FP16 figure is about a quarter.
    assert close(DEVICE_PRESETS["JetsonOrinNano"].peak_flops, 10.24e12)
    assert close(DEVICE_PRESETS["JetsonOrinNanoSuper"].peak_flops, 16.7e12, rel=5e-3)


def test_edge_devices():
    pi4 = DEVICE_PRESETS["RaspberryPi4"]
    assert close(pi4.peak_flops, 4 * 1.5e9 * 8)  # 48 GFLOPS FP32 NEON
    assert close(pi4.mem_bandwidth, 12.8e9)  # LPDDR4-3200 x 32 bit
    assert pi4.memory == 4 * GIB
    pi5 = DEVICE_PRESETS["RaspberryPi5"]
    assert close(pi5.peak_flops, 153.6e9)
    assert close(pi5.mem_bandwidth, 17.068e9)
    assert pi5.memory == 8 * GIB
    jetson = DEVICE_PRESETS["JetsonOrinNano"]
    assert jetson.mem_bandwidth == 68e9
    assert jetson.memory == 8 * GIB
    assert DEVICE_PRESETS["JetsonOrinNanoSuper"].mem_bandwidth == 102e9


def test_cpu_server():
    cpu = DEVICE_PRESETS["CPU-server"]
    assert close(cpu.peak_flops, 14.7456e12)  # 2 x 96 x 2.4 GHz x 32
    assert close(cpu.mem_bandwidth, 921.6e9)  # 2 x 12 x DDR5-4800 x 8 B
    assert cpu.tdp_w == 720


def test_link_spot_values():
    assert LINK_PRESETS["NVLink4"][0] == 450e9
    assert LINK_PRESETS["NVLink3"][0] == 300e9
    assert close(LINK_PRESETS["PCIe4x16"][0], 31.5e9)
    assert close(LINK_PRESETS["PCIe5x16"][0], 63.0e9)
    assert LINK_PRESETS["InfiniBand-NDR"][0] == 50e9
    assert LINK_PRESETS["InfiniBand-HDR"][0] == 25e9
    assert LINK_PRESETS["100GbE"][0] == 12.5e9
    assert LINK_PRESETS["10GbE"][0] == 1.25e9
    assert LINK_PRESETS["1GbE"][0] == 125e6


def test_link_latency_ordering():
    lat = {name: entry[1] for name, entry in LINK_PRESETS.items()}
    assert lat["NVLink4"] <= lat["InfiniBand-NDR"] < lat["100GbE"] < lat["1GbE"]
    assert lat["1GbE"] < lat["WiFi5"] < lat["LTE-uplink"]
    assert lat["5G-uplink"] < lat["LTE-uplink"]


def test_link_bandwidth_ordering():
    bw = {name: entry[0] for name, entry in LINK_PRESETS.items()}
    assert bw["NVLink4"] > bw["NVLink3"] > bw["PCIe5x16"] > bw["PCIe4x16"] > bw["InfiniBand-HDR"]
    assert bw["100GbE"] > bw["10GbE"] > bw["1GbE"] > bw["WiFi6"] > bw["WiFi5"]
    assert bw["WiFi5"] > bw["5G-uplink"] > bw["LTE-uplink"]


# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("H100", "H100"),
        ("h100", "H100"),
        ("H100-SXM5", "H100"),
        ("raspberry_pi_4", "RaspberryPi4"),
        ("RaspberryPi4", "RaspberryPi4"),
        (" Raspberry Pi 4 ", "RaspberryPi4"),
        ("rpi4", "RaspberryPi4"),
        ("RPI-5", "RaspberryPi5"),
        ("jetson-orin-nano", "JetsonOrinNano"),
        ("cpu_server", "CPU-server"),
        ("CPU SERVER", "CPU-server"),
        ("tpu-v4", "TPUv4"),
        ("a100_sxm4_80gb", "A100"),
    ],
)
def test_get_device_normalisation(query, expected):
    assert get_device(query) is DEVICE_PRESETS[expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("NVLink4", "NVLink4"),
        ("nvlink_4", "NVLink4"),
        ("pcie4x16", "PCIe4x16"),
        ("PCIe Gen5 x16", "PCIe5x16"),
        ("ib-ndr", "InfiniBand-NDR"),
        ("infiniband hdr", "InfiniBand-HDR"),
        ("100gbe", "100GbE"),
        ("wifi-6", "WiFi6"),
        ("4G", "LTE-uplink"),
        ("5g", "5G-uplink"),
    ],
)
def test_get_link_normalisation(query, expected):
    bandwidth, latency, _source = LINK_PRESETS[expected]
    assert get_link(query) == (bandwidth, latency)


def test_get_link_returns_pair():
    result = get_link("100GbE")
    assert isinstance(result, tuple) and len(result) == 2
    assert result[0] == 12.5e9


def test_every_alias_resolves():
    for alias, target in ALIASES.items():
        assert target in DEVICE_PRESETS
        assert get_device(alias) is DEVICE_PRESETS[target]
    for alias, target in LINK_ALIASES.items():
        assert target in LINK_PRESETS
        assert get_link(alias) == LINK_PRESETS[target][:2]


def test_unknown_device_lists_names_and_suggests():
    with pytest.raises(InputError) as info:
        get_device("H1000")
    message = str(info.value)
    assert message.startswith("unknown device preset 'H1000'; known presets: A100, CPU-server, ")
    for name in DEVICE_PRESETS:
        assert name in message
    assert "did you mean 'H100'?" in message


def test_unknown_device_names_sorted():
    with pytest.raises(InputError) as info:
        get_device("nonsense-device")
    listed = str(info.value).split("known presets: ")[1].split(";")[0].split(", ")
    assert listed == sorted(DEVICE_PRESETS, key=str.casefold)


def test_unknown_device_without_close_match_has_no_suggestion():
    with pytest.raises(InputError) as info:
        get_device("zzzzzzzzzz")
    assert "did you mean" not in str(info.value)


def test_suggestion_via_alias_gives_canonical_name():
    with pytest.raises(InputError) as info:
        get_device("rpi44")
    assert "did you mean 'RaspberryPi4'?" in str(info.value)


def test_unknown_link():
    with pytest.raises(InputError) as info:
        get_link("NVLink5")
    message = str(info.value)
    assert message.startswith("unknown link preset 'NVLink5'; known presets: ")
    for name in LINK_PRESETS:
        assert name in message
    assert "did you mean 'NVLink" in message


def test_input_error_is_value_error():
    with pytest.raises(ValueError):
        get_device("")
    with pytest.raises(InputError, match="must be a string"):
        get_device(None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be a string"):
        get_link(100)  # type: ignore[arg-type]


def test_index_builder_rejects_broken_tables():
    with pytest.raises(ValueError, match="unknown preset"):
        presets._build_index({"A": 1}, {"b": "B"})
    with pytest.raises(ValueError, match="collide"):
        presets._build_index({"A-1": 1, "a_1": 2}, {})
    with pytest.raises(ValueError, match="collides"):
        presets._build_index({"A": 1, "B": 2}, {"a": "B"})


def test_public_api():
    assert set(presets.__all__) == {
        "ALIASES",
        "CUDA_LAUNCH_OVERHEAD",
        "DEVICE_PRESETS",
        "LINK_ALIASES",
        "LINK_PRESETS",
        "SHARED_MEDIUM_LINKS",
        "get_device",
        "get_link",
        "is_shared_medium",
    }
    assert "GiB" in presets.__doc__ and "per direction" in presets.__doc__.lower()


def test_wifi_presets_are_shared_media_and_wires_are_not():
    assert presets.is_shared_medium("WiFi5") and presets.is_shared_medium("802.11ax")
    assert not presets.is_shared_medium("1GbE") and not presets.is_shared_medium("LTE")
    assert set(presets.LINK_PRESETS) >= presets.SHARED_MEDIUM_LINKS
