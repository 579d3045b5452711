"""FedProx's synthetic(α, β) generator, as Li et al. (2020, §5.1) and their code draw it."""

from __future__ import annotations

import numpy as np

from clustersim.federated.datasets import (
    fedprox_synthetic,
    synthetic_counts,
    synthetic_train_sizes,
)


def test_counts_are_lognormal_4_2_plus_50() -> None:
    counts = synthetic_counts(np.random.default_rng(0), 20_000)
    assert counts.min() >= 50
    logs = np.log(counts - 50 + 0.5)  # floor(lognormal) + 50: log of the lognormal part
    assert abs(np.median(logs) - 4.0) < 0.1
    q75, q25 = np.percentile(np.log(np.maximum(counts - 50, 1)), [75, 25])
    assert abs((q75 - q25) / 1.349 - 2.0) < 0.1  # IQR of a normal = 1.349 sigma


def test_shapes_and_the_90_10_split_per_device() -> None:
    counts = np.array([60, 120, 75])
    data = fedprox_synthetic(np.random.default_rng(1), counts, 1.0, 1.0)
    train = synthetic_train_sizes(counts)
    assert train.tolist() == [54, 108, 67]
    assert data.x_train.shape == (train.sum(), 60) and data.classes == 10
    assert data.x_test.shape == (counts.sum() - train.sum(), 60)
    assert [p.size for p in data.natural] == train.tolist()
    assert np.concatenate(data.natural).tolist() == list(range(train.sum()))


def test_feature_variance_is_j_to_the_minus_1_2() -> None:
    data = fedprox_synthetic(np.random.default_rng(2), np.array([20_000]), 1.0, 1.0)
    var = data.x_train.var(axis=0)
    expected = np.arange(1, 61) ** -1.2
    assert np.allclose(var, expected, rtol=0.05)


def test_beta_spreads_the_device_means_and_iid_centres_them() -> None:
    counts = np.full(30, 400)
    means = lambda d: np.stack([d.x_train[p].mean(axis=0) for p in d.natural])  # noqa: E731
    wide = means(fedprox_synthetic(np.random.default_rng(3), counts, 0.0, 5.0))
    iid = means(fedprox_synthetic(np.random.default_rng(3), counts, 0.0, 0.0, iid=True))
    # v_k ~ N(B_k, 1), B_k ~ N(0, 5): per-device mean of the features spreads by ~5
    assert wide.mean(axis=1).std() > 2.0
    assert np.abs(iid).max() < 0.25  # v_k = 0


def test_iid_devices_share_one_labelling_and_noniid_do_not() -> None:
    """The IID variant draws one (W, b): a logistic model fitted on device 0 labels device 1
    as well as device 0; with α = 1 every device has its own (W_k, b_k)."""

    def transfer(iid: bool) -> float:
        d = fedprox_synthetic(np.random.default_rng(4), np.array([1500, 1500]), 1.0, 0.0, iid=iid)
        a, b = d.natural
        x = np.c_[d.x_train, np.ones(len(d.y_train))]
        # least squares on one-hot targets: a crude but deterministic linear classifier
        onehot = np.eye(10)[d.y_train[a]]
        w = np.linalg.lstsq(x[a], onehot, rcond=None)[0]
        return float(np.mean(np.argmax(x[b] @ w, axis=1) == d.y_train[b]))

    assert transfer(iid=True) > 0.6
    assert transfer(iid=False) < transfer(iid=True) - 0.2


def test_same_seed_same_data() -> None:
    counts = np.array([70, 80])
    a = fedprox_synthetic(np.random.default_rng(5), counts, 1.0, 1.0)
    b = fedprox_synthetic(np.random.default_rng(5), counts, 1.0, 1.0)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
