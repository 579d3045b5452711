"""Traffic is 2·W·G per step, the lecture notes' 2(N-1)G, and sharding is exact to the byte."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.training.parameter_server.costs import ps_bytes_total
from tests.training.parameter_server.helpers import G, run


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_bytes_total_is_2_n_minus_1_g(workers: int) -> None:
    m = run(workers=workers).metrics
    n_nodes = workers + 1
    assert m["bytes_total"] == 3 * 2 * (n_nodes - 1) * G  # the lecture notes' 2(N-1)G per step
    assert m["bytes_pushed"] == m["bytes_pulled"] == 3 * workers * G
    assert m["bytes_max_link"] == 3 * workers * G  # the server's link, each way
    assert m["bytes_per_link"]["sw->n0"] == m["bytes_per_link"]["n0->sw"] == 3 * workers * G
    assert m["bytes_per_link"]["n1->sw"] == 3 * G


@pytest.mark.parametrize(("servers", "elements"), [(2, 10_000_000), (3, 10_000_001), (5, 7)])
def test_sharded_bytes_are_exact(servers: int, elements: int) -> None:
    size = 4 * elements
    m = run(workers=4, servers=servers, model_size=size).metrics
    shards = np.array_split(np.arange(elements), servers)
    assert m["bytes_total"] == ps_bytes_total(4, size, 3) == 3 * 2 * 4 * size
    assert m["bytes_max_link"] == 3 * 4 * 4 * max(len(s) for s in shards)
    assert m["servers"] == servers and m["workers"] == 4
