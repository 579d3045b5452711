"""The confidence measure of an exit: entropy in nats (positive) and DDNN's normalized form."""

from __future__ import annotations

import numpy as np

from clustersim.inference.early_exit.kernels import entropy, normalized_entropy
from clustersim.nn import softmax


def test_entropy_of_known_distributions() -> None:
    p = np.array([[1.0, 0.0, 0.0, 0.0], [0.25] * 4, [0.5, 0.5, 0.0, 0.0]])
    np.testing.assert_allclose(entropy(p), [0.0, np.log(4), np.log(2)], rtol=1e-15)


def test_entropy_is_minus_sum_p_log_p() -> None:
    p = softmax(np.random.default_rng(0).standard_normal((50, 10)))
    np.testing.assert_allclose(entropy(p), -(p * np.log(p)).sum(axis=1), rtol=1e-12)


def test_softmax_entropy_is_never_negative_even_when_confident() -> None:
    logits = np.random.default_rng(1).standard_normal((1000, 10)).astype(np.float32) * 40
    e = entropy(softmax(logits))
    assert (e >= 0).all()
    assert (e == 0).any()  # saturated rows: 0, so a threshold of 0 never lets them out


def test_normalized_entropy_lies_in_unit_interval() -> None:
    p = softmax(np.random.default_rng(2).standard_normal((200, 7)) * 3)
    eta = normalized_entropy(p)
    assert (eta >= 0).all() and (eta <= 1 + 1e-12).all()
    np.testing.assert_allclose(normalized_entropy(np.full((1, 7), 1 / 7)), [1.0], rtol=1e-12)
