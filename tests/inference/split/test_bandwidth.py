"""The notes' point: VGG-16's early layers are the expensive ones on the device and produce the
large activations, so the best split moves from everything in the cloud at high bandwidth to
everything on the device at low bandwidth."""

from __future__ import annotations

import numpy as np

import clustersim
from tests.inference.split.helpers import scenario


def test_best_split_moves_to_the_device_as_the_uplink_slows() -> None:
    splits = []
    for mbps in (1000, 300, 50, 15, 6.3, 1):
        link = {"bandwidth": f"{mbps} Mbps", "latency": "10 ms"}
        splits.append(clustersim.run(scenario(link)).metrics["split"])
    assert splits[0] == 0 and splits[-1] == 39
    assert splits == sorted(splits)


def test_early_layers_dominate_the_devices_time_and_the_bytes() -> None:
    m = clustersim.run(scenario()).metrics
    t = np.array(m["layer_mobile_s"])
    out = np.array(m["layer_output_bytes"])
    assert t[:17].sum() > t[24:].sum()  # blocks 1-3 against block 5 and the classifier
    assert out[:4].min() > 100 * out[-1]
    assert np.argmax(t) < 10
