"""DLG's matching loss: its hand-written gradient (double backprop) against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.leakage.kernels import SmoothMLP, gradients, init_params, matching
from clustersim.nn import numerical_gradient


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize(("sizes", "bias"), [((8, 6, 4), True), ((8, 6, 5, 4), False)])
def test_matching_gradient_equals_central_differences(activation, batch, sizes, bias) -> None:
    rng = np.random.default_rng(batch)
    model = SmoothMLP(sizes, activation, bias)
    params = init_params(model, rng)
    target, _ = gradients(model, params, rng.standard_normal((batch, sizes[0])),
                          rng.integers(0, sizes[-1], batch))  # fmt: skip
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.standard_normal((batch, sizes[-1]))
    d, gx, gy = matching(model, params, x, labels, target)
    assert d > 0
    nx = numerical_gradient(lambda: matching(model, params, x, labels, target)[0], x)
    ny = numerical_gradient(lambda: matching(model, params, x, labels, target)[0], labels)
    scale = max(np.abs(nx).max(), np.abs(ny).max())
    np.testing.assert_allclose(gx, nx, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(gy, ny, rtol=0, atol=1e-7 * scale)


def test_the_matching_loss_is_zero_at_the_private_data() -> None:
    rng = np.random.default_rng(5)
    model = SmoothMLP((8, 6, 4))
    params = init_params(model, rng)
    x, y = rng.standard_normal((2, 8)), np.array([1, 3])
    target, _ = gradients(model, params, x, y)
    # a one-hot label is the limit of softmax(large logits): use logits 40 apart
    logits = np.full((2, 4), -20.0)
    logits[np.arange(2), y] = 20.0
    d, gx, _ = matching(model, params, x, logits, target)
    assert d < 1e-25 and np.abs(gx).max() < 1e-12
