"""A rate-r sub-model has about r² of the full model's parameters and FLOPs, exactly the
closed form's count, and its clients move and train only that."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.federated import costs
from clustersim.federated.heterofl import LEVELS
from tests.federated.heterofl.helpers import heterofl


def test_measured_sizes_equal_the_closed_form_and_approach_r_squared() -> None:
    m = clustersim.run(heterofl(1.0, model={"name": "mlp", "hidden": [256, 256]})).metrics
    sizes = [8, 256, 256, 10]  # the helper's blobs: 8 features, 10 classes
    assert m["width_levels"] == list(LEVELS)
    for rate, params, fraction in zip(
        m["width_levels"], m["width_parameters"], m["width_parameter_fraction"], strict=True
    ):
        assert params == costs.heterofl_parameters(sizes, rate)
        # the 256x256 layer dominates: the share is r² plus the first and last layers' r
        assert rate**2 <= fraction <= rate**2 + 0.1 * rate
    for rate, flops in zip(m["width_levels"], m["width_flop_fraction"], strict=True):
        assert rate**2 <= flops <= rate**2 + 0.1 * rate  # FLOPs: the weights without biases


def test_hand_count_of_a_sub_model() -> None:
    # [8, 32, 16, 10] at rate 1/4: [8, 8, 4, 10] -> (8+1)*8 + (8+1)*4 + (4+1)*10
    assert costs.heterofl_parameters([8, 32, 16, 10], 0.25) == 72 + 36 + 50
    assert costs.heterofl_parameters([8, 32, 16, 10], 1.0) == 9 * 32 + 33 * 16 + 17 * 10


@pytest.mark.parametrize("rate", [0.5, 0.25])
def test_a_clients_bytes_and_work_follow_its_sub_model(rate) -> None:
    rates = [1.0] * 5 + [rate] * 5
    m = clustersim.run(heterofl(rates, rounds=2)).metrics
    full, sub = m["client_parameters"][0], m["client_parameters"][-1]
    assert m["client_bytes"][-1] == 4 * sub and m["client_bytes"][0] == 4 * full  # float32
    assert m["client_epoch_flops"][-1] < 0.7 * m["client_epoch_flops"][0]
    # every byte on the wire is a (sub-)model: two rounds, one download and one upload each
    assert m["bytes_up_total"] == 2 * 4 * (5 * full + 5 * sub)
    assert m["bytes_down_total"] == m["bytes_up_total"]
