"""The closed forms of costs.py against brute force and hand-computed values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from clustersim.federated import costs
from clustersim.nn import mlp, profile, small_cnn
from clustersim.training.data_parallel.costs import mlp_layer_costs


@pytest.mark.parametrize("deadline", [None, 3.5])
@pytest.mark.parametrize("m", [1, 2, 4, 6])
def test_expected_round_time_is_the_mean_max_over_subsets(m, deadline) -> None:
    times = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6]
    cap = np.inf if deadline is None else deadline
    brute = np.mean([min(max(c), cap) for c in itertools.combinations(times, m)])
    assert costs.expected_round_time(times, m, deadline) == pytest.approx(brute, rel=1e-12)


def test_expected_round_time_for_many_clients_matches_sampling() -> None:
    rng = np.random.default_rng(0)
    times = rng.lognormal(0, 0.5, 1000)
    sampled = np.mean([rng.choice(times, 100, replace=False).max() for _ in range(4000)])
    assert costs.expected_round_time(times, 100) == pytest.approx(sampled, rel=0.01)


def test_local_work_counts_full_batches_the_remainder_and_the_update() -> None:
    model = mlp([60, 10], rng=np.random.default_rng(0))
    layers = profile(model, (60,), "float32")
    flops, moved = costs.local_work(layers, 105, 10, 4, proximal=False)
    # a logistic regression's profile is data_parallel's Linear convention exactly
    dp = lambda b: mlp_layer_costs([60, 10], b, 4)  # noqa: E731
    per = lambda b: sum(c.fwd_flops + c.bwd_flops for c in dp(b))  # noqa: E731
    traffic = lambda b: sum(c.fwd_bytes + c.bwd_bytes for c in dp(b))  # noqa: E731
    assert per(10) == 3 * 2 * 10 * 60 * 10  # forward 2·B·a·b, backward twice that
    assert flops == 10 * (per(10) + 2 * 610) + (per(5) + 2 * 610)
    assert moved == 10 * (traffic(10) + 3 * 610 * 4) + (traffic(5) + 3 * 610 * 4)
    prox, _ = costs.local_work(layers, 105, 10, 4, proximal=True)
    assert prox - flops == 11 * 3 * 610
    full, _ = costs.local_work(layers, 105, None, 4, proximal=False)
    assert full == per(105) + 2 * 610


def test_local_work_of_a_cnn_comes_from_its_profile() -> None:
    net = small_cnn((1, 8, 8), 10, channels=(4,), rng=np.random.default_rng(1))
    layers = profile(net, (1, 8, 8), "float32")
    flops, moved = costs.local_work(layers, 20, 10, 4, proximal=False)
    forward = sum(layer.flops for layer in layers)
    assert forward == 2 * 64 * 4 * 9 + 2 * 64 * 10  # 3x3 conv at "same" padding, then FC
    assert flops == 2 * (3 * forward * 10 + 2 * net.num_parameters())
    assert moved > 2 * 3 * sum(layer.param_bytes for layer in layers)


def test_transfer_time_and_model_bytes() -> None:
    assert costs.transfer_time(0.002, 2600.0, 37.5e6) == pytest.approx(0.002 + 2600 / 37.5e6)
    assert costs.model_bytes(650, 4) == 2600.0
