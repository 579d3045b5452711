"""HeteroFL's masking trick: a client's loss involves only the logits of the classes it holds."""

from __future__ import annotations

import numpy as np

from clustersim.federated.kernels import DenseStack, local_sgd, local_sgd_nn


def test_masked_lock_step_training_equals_masked_nn_training() -> None:
    rng = np.random.default_rng(1)
    stack = DenseStack((6, 8, 4))
    model = stack.model(rng)
    x = rng.standard_normal((60, 6))
    y = rng.integers(0, 4, 60)
    start = stack.flatten(model.parameters())
    batches = [rng.permutation(30).reshape(3, 10), 30 + rng.permutation(30).reshape(6, 5)]
    batches[1] = np.concatenate([batches[1], np.full((6, 5), -1)], axis=1)
    mask = np.array([[True, True, False, False], [True, False, True, True]])
    a = local_sgd(stack, x, y, start, batches, 0.1, class_mask=mask)
    b = local_sgd_nn(model, stack, x, y, start, batches, 0.1, class_mask=mask)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_an_absent_class_gets_no_gradient() -> None:
    """With class 3 masked, the last layer's column for class 3 never changes."""
    rng = np.random.default_rng(2)
    stack = DenseStack((5, 4))
    x = rng.standard_normal((20, 5))
    y = rng.integers(0, 3, 20)
    start = rng.standard_normal(stack.size)
    batch = [np.arange(20).reshape(2, 10)]
    mask = np.array([[True, True, True, False]])
    out = local_sgd(stack, x, y, start, batch, 0.5, class_mask=mask)[0]
    w0, b0 = stack.views(start)[0]
    w1, b1 = stack.views(out)[0]
    np.testing.assert_array_equal(w1[:, 3], w0[:, 3])
    assert b1[3] == b0[3]
    assert np.abs(w1[:, :3] - w0[:, :3]).max() > 1e-3
    unmasked = local_sgd(stack, x, y, start, batch, 0.5)[0]
    assert np.abs(stack.views(unmasked)[0][0][:, 3] - w0[:, 3]).max() > 1e-3  # the control
