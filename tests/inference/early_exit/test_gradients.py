"""Joint training's gradient: Σ_n w_n CE(exit_n), backpropagated through every branch into the
main network, equals central differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.inference.early_exit.helpers import tiny_net
from tests.nn.helpers import assert_gradient


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (0.3, 2.0, 0.7)])
def test_joint_loss_gradient_matches_finite_differences(weights: tuple[float, ...]) -> None:
    net = tiny_net()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 1, 8, 8))
    y = rng.integers(0, 3, 4)
    _, grads = net.joint_loss(x, y, weights)
    params = net.parameters()
    assert set(grads) == set(params)
    for name in ("main.0.weight", "main.3.bias", "exit0.0.weight", "exit1.1.weight"):
        assert_gradient(
            grads[name],
            lambda: net.joint_loss(x, y, weights)[0],
            params[name],
            scale=10.0,
            err_msg=name,
        )


def test_a_branch_changes_the_main_networks_gradient() -> None:
    """The branches' losses flow into the main layers below them (and only below)."""
    net = tiny_net()
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 1, 8, 8)), rng.integers(0, 3, 4)
    _, only_main = net.joint_loss(x, y, (0.0, 0.0, 1.0))
    _, joint = net.joint_loss(x, y, (1.0, 1.0, 1.0))
    assert not np.allclose(only_main["main.0.weight"], joint["main.0.weight"])
    np.testing.assert_allclose(only_main["main.7.weight"], joint["main.7.weight"], rtol=1e-12)
