"""Algorithm 1: leave at the first exit whose entropy is below its threshold; the samples that
stay are carried on, and what reaches the last exit is the main network's answer exactly."""

from __future__ import annotations

import numpy as np

from clustersim.inference.early_exit.kernels import entropy, route
from clustersim.nn import softmax
from tests.inference.early_exit.helpers import tiny_net


def _data(n: int = 64) -> np.ndarray:
    return np.random.default_rng(5).standard_normal((n, 1, 8, 8)).astype(np.float32)


def test_zero_thresholds_reproduce_the_main_network() -> None:
    net = tiny_net(dtype=np.float32).eval()
    x = _data()
    run = net.infer(x, [0.0, 0.0])
    assert (run.exit == 2).all()
    assert np.array_equal(run.proba, net.main_proba(x))
    assert run.reached == [64, 64, 64]


def test_huge_thresholds_let_everyone_out_at_the_first_exit() -> None:
    net = tiny_net(dtype=np.float32).eval()
    x = _data()
    run = net.infer(x, [10.0, 10.0])
    assert (run.exit == 0).all() and run.reached == [64, 0, 0]
    first = softmax(net.heads[0](net.segments[0](x)))
    assert np.array_equal(run.proba, first)


def test_each_sample_leaves_at_its_first_confident_exit() -> None:
    net = tiny_net(dtype=np.float32).eval()
    x = _data(200)
    h0 = net.segments[0](x)
    e0 = entropy(softmax(net.heads[0](h0)))
    e1 = entropy(softmax(net.heads[1](net.segments[1](h0))))
    t = [float(np.median(e0)), float(np.median(e1))]
    run = net.infer(x, t)
    expected = np.where(e0 < t[0], 0, np.where(e1 < t[1], 1, 2))
    assert np.array_equal(run.exit, expected)
    assert run.reached == [200, int((e0 >= t[0]).sum()), int((expected == 2).sum())]
    stay = run.exit == 2
    assert np.array_equal(run.proba[stay], net.main_proba(x)[stay])
    np.testing.assert_allclose(run.fractions().sum(), 1.0)


def test_routing_every_exits_probabilities_makes_the_same_decisions() -> None:
    """A threshold sweep routes the full-batch probabilities instead of re-running: the exits
    and the answers are those of Algorithm 1 on the shrinking batch, bit for bit."""
    net = tiny_net(dtype=np.float32).eval()
    x = _data(200)
    every = net.exit_probabilities(x)
    for t in ([0.0, 0.0], [0.9, 0.9], [1.05, 0.8], [5.0, 5.0]):
        run, routed = net.infer(x, t), route(every, t)
        assert np.array_equal(run.exit, routed.exit)
        assert np.array_equal(run.proba, routed.proba)
        assert run.reached == routed.reached
