"""Every partitioner puts every sample on exactly one client, with the sizes it promises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.federated import partition
from clustersim.federated.datasets import balanced_labels


def _labels(samples: int, classes: int = 10, seed: int = 0) -> np.ndarray:
    return balanced_labels(np.random.default_rng(seed), samples, classes)


@given(
    clients=st.integers(1, 40),
    per=st.integers(1, 4),
    samples_per_shard=st.integers(1, 30),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_shards_are_complete(clients: int, per: int, samples_per_shard: int, seed: int) -> None:
    samples = clients * per * samples_per_shard
    labels = _labels(samples, seed=seed)
    parts = partition.shards(np.random.default_rng(seed), labels, clients, per)
    assert partition.partition_complete(parts, samples) == (True, 0, 0)
    assert {p.size for p in parts} == {per * samples_per_shard}


@given(
    clients=st.integers(1, 30),
    alpha=st.floats(0.01, 100.0),
    samples=st.integers(30, 600),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_dirichlet_is_complete_with_equal_sizes(
    clients: int, alpha: float, samples: int, seed: int
) -> None:
    labels = _labels(samples, seed=seed)
    parts = partition.dirichlet(np.random.default_rng(seed), labels, clients, alpha)
    assert partition.partition_complete(parts, samples)[0]
    assert [p.size for p in parts] == partition.iid_sizes(samples, clients).tolist()


@given(
    clients=st.integers(1, 50),
    beta=st.floats(0.05, 10.0),
    extra=st.integers(0, 500),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_quantity_sizes_sum_and_keep_one_each(
    clients: int, beta: float, extra: int, seed: int
) -> None:
    samples = clients + extra
    sizes = partition.quantity_sizes(samples, clients, beta, np.random.default_rng(seed))
    assert sizes.sum() == samples and sizes.min() >= 1
    parts = partition.iid(np.random.default_rng(seed), samples, sizes)
    assert partition.partition_complete(parts, samples)[0]
    assert [p.size for p in parts] == sizes.tolist()


def test_quantity_skew_follows_the_dirichlet_concentration() -> None:
    """Dir(β) shares: the coefficient of variation of the sizes is sqrt((K-1)/(Kβ+1))."""
    k = 50
    for beta in (0.2, 5.0):
        cvs = [
            (s := partition.quantity_sizes(200_000, k, beta, np.random.default_rng(i))).std()
            / s.mean()
            for i in range(40)
        ]
        expected = np.sqrt((k - 1) / (k * beta + 1))
        assert abs(np.mean(cvs) - expected) < 0.1 * expected


def test_iid_clients_see_the_population_mix() -> None:
    labels = _labels(20_000)
    parts = partition.iid(np.random.default_rng(1), 20_000, partition.iid_sizes(20_000, 10))
    hist = partition.class_histograms(labels, parts, 10)
    # hypergeometric draws of 2000 from 20000 with 2000 per class: sd ~ 12.7
    assert np.abs(hist - 200).max() < 6 * 12.7


def test_partition_complete_counts_what_is_wrong() -> None:
    parts = [np.array([0, 1, 2]), np.array([2, 3, 7])]
    assert partition.partition_complete(parts, 6) == (False, 2, 2)  # 4, 5 missing; 2, 7 extra


def test_a_size_list_that_does_not_sum_is_an_error() -> None:
    with pytest.raises(ValueError, match="sum to 9"):
        partition.iid(np.random.default_rng(0), 10, [4, 5])
