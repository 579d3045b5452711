"""Partitioners: which training samples each client holds, as the papers define the splits.

Every partitioner returns one index array per client into the pooled training set; every sample
lands on exactly one client (:func:`partition_complete` checks it). The client *sizes* of each
split are computable without the data (:func:`iid_sizes`, :func:`quantity_sizes`, the shard
arithmetic), so a timing-only run charges the same local work as a training run.

* :func:`iid`: a random permutation cut into pieces of the given sizes.
* :func:`shards`: McMahan, Moore, Ramage, Hampson & Agüera y Arcas, "Communication-Efficient
  Learning of Deep Networks from Decentralized Data", AISTATS 2017, §3: "sort the data by digit
  label, divide it into 200 shards of size 300, and assign each of 100 clients 2 shards". The
  shards are dealt at random, so a client may get two shards of one class.
* :func:`shards` with ``distinct=True``: Zhao, Li, Lai, Suda, Civin & Chandra, "Federated
  Learning with Non-IID Data", arXiv:1806.00582 (2018), §3: 1-class non-IID (each client one
  partition of a single class) and 2-class non-IID ("the sorted data is divided into 20
  partitions and each of the 10 clients is randomly assigned 2 partitions from 2 classes"):
  the same cut, dealt so that no client gets two pieces of one class.
* :func:`dirichlet`: Hsu, Qi & Brown, "Measuring the Effects of Non-Identical Data Distribution
  for Federated Visual Classification", arXiv:1909.06335 (2019), §3: every client draws its
  class mix ``q ~ Dir(α·p)``, ``p`` the population's class distribution, and is filled from
  the class pools according to ``q`` (equal client sizes, as there). Samples are taken without
  replacement; when a class runs out, it is dropped from the client's ``q`` and the rest
  renormalised (so with a small α the last clients can deviate from their draw).
* :func:`quantity_sizes` with :func:`iid`: quantity skew, IID labels and client sizes
  proportional to ``Dir(β)`` over the clients (the "quantity skew" of Li, Diao, Chen & He,
  "Federated Learning on Non-IID Data Silos: An Experimental Study", ICDE 2022, §4.1), at
  least one sample each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from clustersim.errors import InputError

__all__ = [
    "class_histograms",
    "dirichlet",
    "iid",
    "iid_sizes",
    "partition_complete",
    "quantity_sizes",
    "shards",
]

_MAX_REPAIRS = 100_000


def iid_sizes(samples: int, clients: int) -> np.ndarray:
    """Sizes of an even split: ``samples // clients`` each, the first ``samples % clients`` one
    more (``np.array_split``'s convention)."""
    base, extra = divmod(samples, clients)
    return np.array([base + (k < extra) for k in range(clients)], dtype=np.int64)


def quantity_sizes(samples: int, clients: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Client sizes proportional to ``Dir(β)`` draws, at least 1 each, summing to ``samples``.

    Each client first gets one sample; the remaining ``samples - clients`` are split by
    largest remainders of the proportions, so the sizes sum exactly.
    """
    if samples < clients:
        raise InputError(
            f"quantity skew needs at least one sample per client: {samples} < {clients}"
        )
    share = rng.dirichlet(np.full(clients, beta))
    spare = samples - clients
    exact = share * spare
    sizes = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: spare - int(sizes.sum())]] += 1
    return sizes + 1


def iid(rng: np.random.Generator, samples: int, sizes: Sequence[int]) -> list[np.ndarray]:
    """A random permutation of ``range(samples)`` cut into pieces of ``sizes``."""
    if int(np.sum(sizes)) != samples:
        raise InputError(f"client sizes sum to {int(np.sum(sizes))}, not the {samples} samples")
    cuts = np.cumsum(sizes)[:-1]
    return np.split(rng.permutation(samples), cuts)


def _deal_distinct(
    rng: np.random.Generator, piece_class: np.ndarray, clients: int, per_client: int
) -> np.ndarray:
    """(clients, per_client) piece indices, every row of distinct classes.

    A random deal, then repairs: while a client holds two pieces of one class, swap one of them
    with a random piece of another client when the swap leaves both clients valid. The result
    is a random valid deal (not exactly uniform over valid deals, but with no structure).
    """
    deal = rng.permutation(piece_class.size).reshape(clients, per_client)
    for _ in range(_MAX_REPAIRS):
        classes = piece_class[deal]
        ordered = np.sort(classes, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            return deal
        k = int(bad[rng.integers(bad.size)])
        row = classes[k]
        slot = int(np.flatnonzero([np.count_nonzero(row == c) > 1 for c in row])[0])
        other, other_slot = int(rng.integers(clients)), int(rng.integers(per_client))
        if other == k:
            continue
        mine, theirs = deal[k, slot], deal[other, other_slot]
        k_rest = np.delete(classes[k], slot)
        other_rest = np.delete(classes[other], other_slot)
        if piece_class[theirs] not in k_rest and piece_class[mine] not in other_rest:
            deal[k, slot], deal[other, other_slot] = theirs, mine
    raise InputError(
        f"could not deal {per_client} pieces of distinct classes to each of {clients} clients"
    )


def shards(
    rng: np.random.Generator,
    labels: np.ndarray,
    clients: int,
    per_client: int,
    count: int | None = None,
    *,
    distinct: bool = False,
) -> list[np.ndarray]:
    """Sort by label, cut into ``count`` equal shards, deal ``per_client`` to each client.

    ``count`` defaults to ``clients · per_client``; it must divide the samples and equal
    ``clients · per_client`` (every shard dealt). With ``distinct`` no client gets two shards
    of one class (each shard's class is its first sample's; with balanced classes and a count
    that is a multiple of the classes every shard is of one class).
    """
    samples = labels.size
    count = clients * per_client if count is None else count
    if count != clients * per_client:
        raise InputError(
            f"{count} shards cannot be dealt {per_client} per client to {clients} clients; "
            f"expected {clients * per_client} shards"
        )
    if samples % count:
        raise InputError(f"{count} shards do not divide the {samples} samples")
    order = np.argsort(labels, kind="stable")
    pieces = order.reshape(count, samples // count)
    if distinct:
        deal = _deal_distinct(rng, labels[pieces[:, 0]], clients, per_client)
    else:
        deal = rng.permutation(count).reshape(clients, per_client)
    return [np.sort(pieces[row].ravel()) for row in deal]


def dirichlet(
    rng: np.random.Generator, labels: np.ndarray, clients: int, alpha: float
) -> list[np.ndarray]:
    """Hsu et al.'s label skew: equal client sizes, client class mix ``q ~ Dir(α·p)``.

    Clients are filled in turn from shuffled class pools; a client's counts are a multinomial
    draw of what it still needs over ``q`` restricted to the classes not yet exhausted.
    """
    classes = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=classes)
    prior = counts / counts.sum()
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in range(classes)]
    taken = np.zeros(classes, dtype=np.int64)
    mixes = rng.dirichlet(alpha * prior, size=clients)
    out = []
    for k, need in enumerate(iid_sizes(labels.size, clients)):
        got = np.zeros(classes, dtype=np.int64)
        while need > 0:
            left = counts - taken - got
            q = np.where(left > 0, mixes[k], 0.0)
            q = q / q.sum() if q.sum() > 0 else left / left.sum()
            draw = np.minimum(rng.multinomial(need, q), left)
            got += draw
            need -= int(draw.sum())
        out.append(
            np.sort(
                np.concatenate([pools[c][taken[c] : taken[c] + got[c]] for c in range(classes)])
            )
        )
        taken += got
    return out


def class_histograms(labels: np.ndarray, parts: Sequence[np.ndarray], classes: int) -> np.ndarray:
    """(clients, classes) label counts of each client's samples."""
    return np.stack([np.bincount(labels[p], minlength=classes) for p in parts])


def partition_complete(parts: Sequence[np.ndarray], samples: int) -> tuple[bool, int, int]:
    """Whether every one of ``samples`` indices lands on exactly one client.

    Returns ``(passed, missing, repeated)``: how many indices no client holds and how many are
    held more than once (counting each extra copy).
    """
    if parts:
        joined = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])
    else:
        joined = np.zeros(0, dtype=np.int64)
    outside = int(np.count_nonzero((joined < 0) | (joined >= samples)))
    inside = joined[(joined >= 0) & (joined < samples)]
    held = np.bincount(inside, minlength=samples)
    missing = int(np.count_nonzero(held == 0))
    repeated = int(np.maximum(held - 1, 0).sum()) + outside
    return missing == 0 and repeated == 0, missing, repeated
