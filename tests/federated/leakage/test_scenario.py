"""What federated_leakage.yaml shows, on the file with one private image."""

from __future__ import annotations

import pytest

import clustersim
from tests.paths import SCENARIOS

PATH = SCENARIOS / "federated_leakage.yaml"


@pytest.fixture(scope="module")
def metrics():
    short = [("workload.targets", 1), ("workload.utility.rounds", 20), ("workload.verify", False)]
    return clustersim.run(PATH, short).metrics


def test_undefended_fp16_and_int8_gradients_leak(metrics) -> None:
    psnr = metrics["dlg_psnr_db"]
    assert psnr["none"] > 100 and psnr["fp16"] > 40 and psnr["int8"] > 40


def test_strong_noise_ternary_and_dgc_defeat_dlg(metrics) -> None:
    psnr = metrics["dlg_psnr_db"]
    for label in ("noise 0.01", "terngrad", "dgc 0.99"):
        assert psnr[label] < 20, label


def test_twenty_percent_pruning_does_not_stop_dlg_on_this_small_model(metrics) -> None:
    """DLG reports that more than 20 % sparsity defeats it (on LeNet and 32x32 images); on a
    2,410-parameter model attacked for a 64-pixel image the gradient over-determines the
    input, and 20 % of it pruned still gives the image away."""
    assert metrics["dlg_psnr_db"]["prune 0.2"] > 30
    assert metrics["dlg_psnr_db"]["prune 0.9"] < metrics["dlg_psnr_db"]["prune 0.2"]


def test_a_batch_of_four_blurs_the_analytic_attack(metrics) -> None:
    assert metrics["analytic_psnr_db"]["batch 4"] < 25 < metrics["analytic_psnr_db"]["none"]
