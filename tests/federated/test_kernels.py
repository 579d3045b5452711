"""Local SGD of a round's clients at once equals nn's forward/backward on each client in turn."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.kernels import (
    DenseStack,
    ParamLayout,
    client_batches,
    evaluate,
    full_gradient,
    local_sgd,
    local_sgd_nn,
    proximal,
)
from clustersim.nn import SGD, softmax_cross_entropy


def _reference(stack, model, x, y, start, batches, lr, mu):
    """Client by client through clustersim.nn: Sequential forward/backward, nn.SGD."""
    out = []
    for b in batches:
        params = {k: v.copy() for k, v in stack.params(start.copy()).items()}
        anchor = {k: v.copy() for k, v in params.items()}
        opt = SGD(params, lr)
        for row in b:
            rows = row[row >= 0]
            logits, cache = model.forward(x[rows], params)
            _, grad = softmax_cross_entropy(logits, y[rows])
            _, grads = model.backward(grad, cache, params)
            if mu:
                grads = {k: g + mu * (params[k] - anchor[k]) for k, g in grads.items()}
            opt.step(grads)
        out.append(stack.flatten(params))
    return np.stack(out)


@pytest.mark.parametrize("sizes", [(12, 4), (12, 16, 8, 4)])
@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_batched_clients_equal_nn_one_by_one(sizes, mu) -> None:
    rng = np.random.default_rng(0)
    stack = DenseStack(sizes)
    model = stack.model(rng)
    x = rng.standard_normal((400, sizes[0]))
    y = rng.integers(0, sizes[-1], 400)
    start = stack.flatten(model.parameters())
    parts = [np.arange(0, 37), np.arange(37, 200), np.arange(200, 201), np.arange(201, 400)]
    epochs = [3, 2, 4, 1]  # different step counts: the lock step shrinks to a prefix
    batches = [
        client_batches(np.random.default_rng(k), p, e, 8)
        for k, (p, e) in enumerate(zip(parts, epochs, strict=True))
    ]
    regulariser = proximal(mu) if mu else None
    got = local_sgd(stack, x, y, start, batches, 0.2, regulariser)
    want = _reference(stack, model, x, y, start, batches, 0.2, mu)
    assert np.abs(got - want).max() <= 1e-13 * max(1.0, np.abs(want).max())


def test_client_batches_are_epoch_permutations_with_a_padded_remainder() -> None:
    samples = np.arange(100, 123)
    b = client_batches(np.random.default_rng(1), samples, 2, 10)
    assert b.shape == (6, 10)
    for epoch in (b[:3], b[3:]):
        flat = epoch.ravel()
        assert sorted(flat[flat >= 0].tolist()) == samples.tolist()
        assert (epoch[-1] == -1).sum() == 7  # 23 = 10 + 10 + 3


def test_full_gradient_is_the_mean_of_client_gradients_weighted_by_size() -> None:
    rng = np.random.default_rng(2)
    stack = DenseStack((6, 5, 3))
    model = stack.model(rng)
    x, y = rng.standard_normal((50, 6)), rng.integers(0, 3, 50)
    w = stack.flatten(model.parameters())
    parts = [np.arange(0, 20), np.arange(20, 50)]
    total = sum(p.size * full_gradient(model, stack, w, x[p], y[p]) for p in parts) / 50
    assert np.allclose(full_gradient(model, stack, w, x, y), total, rtol=1e-12, atol=1e-15)


def test_evaluate_is_loss_and_accuracy() -> None:
    rng = np.random.default_rng(3)
    stack = DenseStack((4, 3))
    model = stack.model(rng)
    x, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    w = stack.flatten(model.parameters())
    loss, accuracy = evaluate(model, stack, w, x, y, chunk=7)
    logits = x @ w[:12].reshape(4, 3) + w[12:]
    assert np.isclose(loss, softmax_cross_entropy(logits, y)[0], rtol=1e-13)
    assert accuracy == np.mean(np.argmax(logits, axis=1) == y)


def test_stack_layout_matches_nn_names() -> None:
    stack = DenseStack((5, 7, 2))
    model = stack.model(np.random.default_rng(4))
    assert stack.names() == list(model.parameters())
    assert stack.size == model.num_parameters() == 5 * 7 + 7 + 7 * 2 + 2


def test_the_per_client_nn_path_equals_the_lock_step_path() -> None:
    """local_sgd_nn (any nn model, client by client) and local_sgd (MLPs, all clients at once)
    are the same SGD on the same minibatches."""
    rng = np.random.default_rng(5)
    stack = DenseStack((10, 12, 4))
    model = stack.model(rng)
    layout = ParamLayout.of(model)
    assert layout.names() == stack.names() and layout.size == stack.size
    x, y = rng.standard_normal((90, 10)), rng.integers(0, 4, 90)
    start = stack.flatten(model.parameters())
    batches = [
        client_batches(np.random.default_rng(k), np.arange(30 * k, 30 * k + 30), 2, 7)
        for k in range(3)
    ]
    a = local_sgd(stack, x, y, start, batches, 0.1, proximal(0.3))
    b = local_sgd_nn(model, layout, x, y, start, batches, 0.1, proximal(0.3))
    assert np.abs(a - b).max() <= 1e-13
