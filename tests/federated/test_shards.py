"""McMahan et al.'s pathological split and Zhao et al.'s 1- and 2-class non-IID splits."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.federated import partition
from clustersim.federated.datasets import balanced_labels


def test_mcmahan_pathological_split_exactly() -> None:
    """60,000 samples sorted by label, 200 shards of 300, 2 per client (AISTATS 2017, §3)."""
    labels = balanced_labels(np.random.default_rng(0), 60_000, 10)
    parts = partition.shards(np.random.default_rng(1), labels, 100, 2, 200)
    assert [p.size for p in parts] == [600] * 100
    hist = partition.class_histograms(labels, parts, 10)
    # every shard is 300 samples of one class: a client has 1 or 2 classes, in 300s
    assert set(np.unique(hist)) <= {0, 300, 600}
    classes = (hist > 0).sum(axis=1)
    assert set(classes) <= {1, 2}
    # dealt at random: some clients drew both shards from one class (about 19/199 of them)
    assert 1 <= np.count_nonzero(classes == 1) <= 25
    assert partition.partition_complete(parts, 60_000)[0]


@pytest.mark.parametrize("per", [1, 2])
def test_zhao_n_class_non_iid_for_10_clients(per: int) -> None:
    """The sorted data cut into 10·per partitions, each client per partitions of per classes."""
    labels = balanced_labels(np.random.default_rng(2), 6000, 10)
    parts = partition.shards(np.random.default_rng(3), labels, 10, per, distinct=True)
    hist = partition.class_histograms(labels, parts, 10)
    assert ((hist > 0).sum(axis=1) == per).all()  # exactly `per` classes each
    assert set(np.unique(hist)) == {0, 600 // per}
    assert (hist.sum(axis=0) == 600).all()  # every class fully dealt


def test_distinct_deal_works_where_rejection_would_not() -> None:
    """100 clients with 2 distinct classes from 200 shards: a random deal is valid with
    probability about (1 - 19/199)^100 ≈ 5e-5; the repairs find one anyway."""
    labels = balanced_labels(np.random.default_rng(4), 60_000, 10)
    parts = partition.shards(np.random.default_rng(5), labels, 100, 2, 200, distinct=True)
    hist = partition.class_histograms(labels, parts, 10)
    assert ((hist > 0).sum(axis=1) == 2).all()
    assert partition.partition_complete(parts, 60_000)[0]


def test_shards_that_do_not_divide_the_data_are_an_error() -> None:
    labels = balanced_labels(np.random.default_rng(6), 1000, 10)
    with pytest.raises(InputError, match="30 shards do not divide the 1000 samples"):
        partition.shards(np.random.default_rng(7), labels, 15, 2, 30)
    with pytest.raises(InputError, match="cannot be dealt 2 per client to 10 clients"):
        partition.shards(np.random.default_rng(7), labels, 10, 2, 40)
