"""The ``collective`` kind end to end (:mod:`clustersim.collectives.kind`): verified dtypes,
timing-only runs that move no data, determinism, and the listing of the table."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives import ring
from clustersim.collectives.algorithms import ALGORITHMS
from clustersim.collectives.kind import KIND, analytic
from clustersim.core.simulation import Simulation
from clustersim.listing import listing
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.collectives.helpers import MiB, ring_scenario


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "int64"])
def test_verified_dtypes(dtype: str) -> None:
    itemsize = np.dtype(dtype).itemsize
    result = clustersim.run(ring_scenario(6, itemsize * 999, "allreduce", verify=True, dtype=dtype))
    assert result.checks["allreduce_equals_sum"]["passed"]
    if dtype.startswith("int"):
        assert result.checks["allreduce_equals_sum"]["max_abs_err"] == 0.0


def test_verify_false_moves_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object) -> None:
        raise AssertionError("kernel called in a timing-only run")

    monkeypatch.setattr(ring, "ring_reduce_scatter_step", forbidden)
    monkeypatch.setattr(ring, "ring_allgather_step", forbidden)
    result = clustersim.run(ring_scenario(8, 64 * MiB, verify=False))
    assert result.checks == {}


def test_same_seed_same_json() -> None:
    first = clustersim.run(ring_scenario(5, 4 * 1003, verify=True)).to_json(include_wall=False)
    second = clustersim.run(ring_scenario(5, 4 * 1003, verify=True)).to_json(include_wall=False)
    assert first == second


def test_analytic_needs_only_the_plan() -> None:
    """Nothing is cached between simulate and analytic: the prediction of a fresh plan, never
    simulated, equals the one a run reports."""
    spec = ring_scenario(8, 64 * MiB, reduction="device")
    loaded = load_scenario(spec)
    _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    assert analytic(plan) == clustersim.run(spec).analytic


def test_listing_shows_every_formula() -> None:
    details = KIND.details() if KIND.details else []
    text = listing()
    for (op, name), algorithm in ALGORITHMS.items():
        assert f"{op}/{name}: {algorithm.formula}" in text
        assert any(line.startswith(f"{op}/{name}: ") for line in details)
