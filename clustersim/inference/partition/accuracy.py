"""What FDSP costs in accuracy, and what fine-tuning under its padding wins back.

ADCNN (Zhang, Lin & Zhang, ICPP 2020) pads every tile with zeros at its edges so that no halo
moves, which changes the features near tile borders; it then retrains the model with that
padding. :func:`fdsp_accuracy` measures the three numbers on a small CNN trained on
:class:`~clustersim.datasets.SyntheticImages`: the whole model, the same weights under FDSP,
and a copy fine-tuned under FDSP for a few more epochs (the same optimiser settings), each on
the same held-out images. Training runs on one OpenBLAS thread (a multi-threaded BLAS is many
times slower on small products on a busy machine; results do not depend on it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from clustersim.datasets import SyntheticImages
from clustersim.inference.partition.fdsp import FdspModel
from clustersim.inference.partition.tiles import FdspLayout
from clustersim.nn import Sequential, accuracy, predict_proba, train_classifier
from clustersim.training.data_parallel.blas import single_threaded_blas

__all__ = ["Accuracy", "TrainingPlan", "fdsp_accuracy"]


@dataclass(frozen=True)
class TrainingPlan:
    """How the small CNN is trained and tested (the ``workload.train`` block)."""

    samples: int
    test_samples: int
    epochs: int
    finetune_epochs: int
    batch_size: int
    lr: float


@dataclass(frozen=True)
class Accuracy:
    """Test accuracies.

    Attributes:
        whole: the trained model.
        fdsp: the same weights under FDSP padding.
        finetuned: a copy fine-tuned under FDSP for ``finetune_epochs`` more epochs.
        whole_longer: the control, a copy trained whole for the same extra epochs (the
            fine-tuned model has seen more epochs than ``whole``).
        test_images: a few test images, for the numeric replay.
    """

    whole: float
    fdsp: float
    finetuned: float
    whole_longer: float
    test_images: np.ndarray


def fdsp_accuracy(
    model: Sequential,
    spatial: int,
    layout: FdspLayout,
    input_shape: tuple[int, int, int],
    plan: TrainingPlan,
    rngs: dict[str, np.random.Generator],
) -> Accuracy:
    """Train ``model`` in place on synthetic images, then measure it whole and under FDSP,
    fine-tune a copy under FDSP and, as a control, train a copy whole for as many epochs.

    ``rngs`` holds the generators ``task`` (the class templates), ``train``, ``test``,
    ``order`` (the epochs' shuffles), and ``finetune`` and ``control`` (the extra epochs'
    shuffles: give them the same seed, so both copies see the same batches).
    """
    channels, size, _ = input_shape
    task = SyntheticImages(rngs["task"], size=size, channels=channels)
    train = task.sample(plan.samples, rngs["train"])
    test = task.sample(plan.test_samples, rngs["test"])
    settings = {"batch_size": plan.batch_size, "lr": plan.lr}
    with single_threaded_blas():
        train_classifier(model, train.x, train.y, epochs=plan.epochs, rng=rngs["order"], **settings)
        whole = accuracy(predict_proba(model, test.x), test.y)
        fdsp = accuracy(predict_proba(FdspModel(model, spatial, layout), test.x), test.y)
        more = {"epochs": plan.finetune_epochs, **settings}
        tuned = FdspModel(copy.deepcopy(model), spatial, layout)
        train_classifier(tuned, train.x, train.y, rng=rngs["finetune"], **more)
        finetuned = accuracy(predict_proba(tuned, test.x), test.y)
        control = copy.deepcopy(model)
        train_classifier(control, train.x, train.y, rng=rngs["control"], **more)
        longer = accuracy(predict_proba(control, test.x), test.y)
    model.eval()
    return Accuracy(whole, fdsp, finetuned, longer, test.x[:8])
