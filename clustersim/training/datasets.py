"""Synthetic classification datasets for data-parallel replays, and how workers sample them.

Nothing is downloaded: both datasets are drawn from the scenario's random streams, so a seed
fixes the data exactly.

* :func:`gaussian_blobs`: ``classes`` Gaussian clusters in ``features`` dimensions. Class
  centres are drawn from ``N(0, separation²·I)`` and samples from ``N(centre, I)``; a larger
  ``separation`` makes the problem easier (two centres lie about ``separation·sqrt(2·features)``
  apart, in units of the noise).
* :func:`teacher_dataset`: inputs ``x ~ N(0, I)`` labelled by a random teacher MLP,
  ``y = argmax teacher(x)`` (the student-teacher setting of statistical learning theory, e.g.
  Saad & Solla, "On-line learning in soft committee machines", Phys. Rev. E 52, 1995). The
  labels are a deterministic function of the inputs, so a big enough student can reach 100 %.

Sampling (:class:`GlobalBatchSampler`): each epoch is one random permutation of the training
set cut into global batches of ``workers × batch_size`` consecutive samples (the last
incomplete one is dropped); worker ``w`` takes slice ``w`` of every global batch. The
concatenation of the workers' batches is therefore exactly the global batch a single worker
would see, which is what the check ``data_parallel_equals_single_worker`` relies on; it is
PyTorch's ``DistributedSampler`` with ``drop_last`` up to the order of samples in an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from clustersim.errors import InputError
from clustersim.nn.models import mlp

__all__ = [
    "Dataset",
    "DatasetParams",
    "GlobalBatchSampler",
    "gaussian_blobs",
    "make_dataset",
    "teacher_dataset",
]

DEFAULT_FEATURES = 32
DEFAULT_CLASSES = 10


class DatasetParams(BaseModel):
    """The ``dataset`` of a ``data_parallel`` workload."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["blobs", "teacher"] = Field("blobs", description="blobs | teacher")
    samples: int = Field(8192, ge=1, description="training samples")
    test_samples: int = Field(2048, ge=1, description="held-out samples for final_accuracy")
    features: int | None = Field(
        None, ge=1, description="input dimension (default: the model's first size, else 32)"
    )
    classes: int | None = Field(
        None, ge=2, description="number of classes (default: the model's last size, else 10)"
    )
    separation: float = Field(
        0.5, gt=0, description="blobs: standard deviation of the class centres, in noise units"
    )
    hidden: int = Field(64, ge=1, description="teacher: hidden width of the teacher MLP")

    @model_validator(mode="after")
    def _kind_fields(self) -> DatasetParams:
        foreign = {"blobs": {"hidden"}, "teacher": {"separation"}}[self.kind]
        given = sorted(foreign & self.model_fields_set)
        if given:
            raise InputError(f"{', '.join(given)} does not apply to dataset kind {self.kind!r}")
        return self


@dataclass(frozen=True)
class Dataset:
    """Training and test arrays: ``x`` (samples, features) float64, ``y`` (samples,) int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])


def gaussian_blobs(
    rng: np.random.Generator,
    samples: int,
    test_samples: int,
    features: int,
    classes: int,
    separation: float = 0.5,
) -> Dataset:
    """Gaussian clusters: centres ``N(0, separation²)``, samples ``N(centre, 1)``, balanced
    classes drawn uniformly at random."""
    centres = rng.standard_normal((classes, features)) * separation
    total = samples + test_samples
    y = rng.integers(0, classes, size=total)
    x = centres[y] + rng.standard_normal((total, features))
    return Dataset(x[:samples], y[:samples], x[samples:], y[samples:], classes)


def teacher_dataset(
    rng: np.random.Generator,
    samples: int,
    test_samples: int,
    features: int,
    classes: int,
    hidden: int = 64,
) -> Dataset:
    """Inputs ``N(0, I)`` labelled by the argmax of a random ReLU MLP ``[features, hidden,
    classes]`` (He-initialised)."""
    teacher = mlp([features, hidden, classes], rng=rng)
    total = samples + test_samples
    x = rng.standard_normal((total, features))
    y = np.argmax(teacher(x), axis=1).astype(np.int64)
    return Dataset(x[:samples], y[:samples], x[samples:], y[samples:], classes)


def make_dataset(
    params: DatasetParams, rng: np.random.Generator, features: int, classes: int
) -> Dataset:
    """The dataset ``params`` describes, with the resolved ``features`` and ``classes``."""
    if params.kind == "blobs":
        return gaussian_blobs(
            rng, params.samples, params.test_samples, features, classes, params.separation
        )
    return teacher_dataset(
        rng, params.samples, params.test_samples, features, classes, params.hidden
    )


class GlobalBatchSampler:
    """Global batches of ``workers × batch_size`` samples, reshuffled every epoch.

    ``batch(k)`` returns the training indices of iteration ``k`` as a (workers, batch_size)
    array: row ``w`` is worker ``w``'s batch. Iterations must be asked for in order.
    """

    def __init__(
        self, samples: int, workers: int, batch_size: int, rng: np.random.Generator
    ) -> None:
        self.global_batch = workers * batch_size
        if self.global_batch > samples:
            raise InputError(
                f"the global batch (workers × batch_size = {workers} × {batch_size} = "
                f"{self.global_batch}) is larger than the {samples} training samples; raise "
                "dataset.samples or lower batch_size"
            )
        self.samples = samples
        self.workers = workers
        self.batch_size = batch_size
        self.per_epoch = samples // self.global_batch
        self.rng = rng
        self._epoch = -1
        self._order = np.zeros(0, dtype=np.int64)

    @property
    def iterations_per_epoch(self) -> int:
        """Whole global batches in the training set (an epoch drops the incomplete last one)."""
        return self.per_epoch

    def batch(self, k: int) -> np.ndarray:
        epoch, slot = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            if epoch != self._epoch + 1:
                raise ValueError("GlobalBatchSampler batches must be asked for in order")
            self._order = self.rng.permutation(self.samples)
            self._epoch = epoch
        start = slot * self.global_batch
        return self._order[start : start + self.global_batch].reshape(self.workers, self.batch_size)
