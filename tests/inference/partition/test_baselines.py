"""ADCNN's two baselines: the whole model on one Raspberry Pi (the sum of its layers'
roofline times) and the image sent to a cloud GPU over a WAN uplink and the result back."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.hardware.presets import get_device, get_link
from clustersim.nn import profile, vgg16
from tests.inference.partition.helpers import star


def launches(record) -> int:
    """Views (Flatten, inference-time Dropout) launch no kernel; every other layer one."""
    return 0 if record.layer.split("(")[0] in ("Flatten", "Dropout") else 1


def test_single_device_and_cloud_latencies_are_their_formulas() -> None:
    scenario = star(
        pis=2,
        with_cloud=True,
        model={"name": "vgg16", "image_size": 64},
        partition="fdsp",
        tiles=[2, 1],
        verify=False,
    )
    r = clustersim.run(scenario)
    records = profile(vgg16(image_size=64), (3, 64, 64), "float32")
    pi, a100 = get_device("RaspberryPi4"), get_device("A100")
    # the Pi has no launch overhead; the A100 pays its 5 us once per layer's kernel
    single = sum(pi.roofline_time(rec.flops, rec.bytes_moved(1)) for rec in records)
    assert r.metrics["single_device_latency_s"] == pytest.approx(single, rel=1e-12)
    gbe, lte = get_link("1GbE"), get_link("LTE-uplink")
    latency = gbe[1] + lte[1]
    sent, back = 3 * 64 * 64 * 4, 1000 * 4
    cloud = (
        latency
        + sent / lte[0]
        + sum(
            a100.roofline_time(rec.flops, rec.bytes_moved(1)) + 5e-6 * launches(rec)
            for rec in records
        )
        + latency
        + back / lte[0]
    )
    assert r.metrics["cloud_latency_s"] == pytest.approx(cloud, rel=1e-12)
    assert r.metrics["speedup_vs_cloud"] == pytest.approx(cloud / r.metrics["latency_s"])
    assert r.metrics["speedup_vs_single_device"] == pytest.approx(single / r.metrics["latency_s"])
