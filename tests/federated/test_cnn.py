"""The small-CNN option on image data (clustersim.nn.small_cnn, clustersim.datasets)."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.federated.models import build_model
from clustersim.federated.params import ModelParams
from clustersim.scenario.runner import check_scenario
from tests.federated.helpers import run, scenario

STROKES = {"name": "strokes", "samples": 200, "test_samples": 100, "size": 8}


def test_a_cnn_round_trains_and_passes_every_check() -> None:
    r = run(
        {
            "model": {"name": "cnn", "channels": [4]},
            "dataset": STROKES,
            "rounds": 2,
            "clients_per_round": 4,
        }
    )
    assert r.passed, r.checks
    net = build_model(
        ModelParams(name="cnn", channels=[4]), (1, 8, 8), 10, np.random.default_rng(0)
    )
    assert r.metrics["model_parameters"] == net.parameters == 4 * 9 + 4 + 64 * 10 + 10
    assert r.metrics["model_bytes"] == 4 * net.parameters
    assert 0 <= r.metrics["final_accuracy"] <= 1


def test_the_mlp_trains_on_strokes_and_images_flattened() -> None:
    for dataset in (STROKES, {"name": "images", "samples": 200, "test_samples": 100}):
        r = run({"model": {"name": "mlp", "hidden": [16]}, "dataset": dataset, "rounds": 2})
        assert r.passed, r.checks


def test_a_cnn_needs_image_data() -> None:
    with pytest.raises(InputError, match="model 'cnn' needs image data"):
        check_scenario(scenario({"model": {"name": "cnn"}}))
