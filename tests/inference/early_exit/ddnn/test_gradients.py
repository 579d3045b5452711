"""DDNN's joint loss: every device, aggregator and tier gets the gradient of the sum of the
exits' cross-entropies (float64, central differences)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.inference.early_exit.ddnn.helpers import tiny_ddnn
from tests.nn.helpers import assert_gradient


@pytest.mark.parametrize(
    ("local", "upper", "edge", "shared"),
    [
        ("max", "concat", False, False),
        ("concat", "average", True, False),
        ("average", "max", True, True),
    ],
)
def test_joint_loss_gradient(local: str, upper: str, edge: bool, shared: bool) -> None:
    net = tiny_ddnn(local, upper, edge, shared)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 1, 8, 8))
    y = rng.integers(0, 3, 4)
    weights = [1.0, 0.5, 2.0][: len(net.tiers)]
    _, grads = net.joint_loss(x, y, weights)
    params = net.parameters()
    assert set(grads) == set(params)
    # weights of the bottom layers and biases above them: each gradient crosses everything
    # between its layer and the losses (the aggregations, the edge, the cloud)
    device = "device" if shared else "device1"
    names = [f"{device}.0.weight", "cloud.0.bias", "cloud.4.weight"]
    names.append("local.1.bias" if shared else "local2.1.bias")
    if edge:
        names.append("edge.0.bias")
    if local == "concat":
        names.append("local_fc.0.weight")
    for name in names:
        assert_gradient(
            grads[name],
            lambda: net.joint_loss(x, y, weights)[0],
            params[name],
            scale=10.0,
            err_msg=name,
        )
