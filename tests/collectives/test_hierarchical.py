"""The hierarchical all-reduce (:mod:`clustersim.collectives.ring`): rings inside machines and
across them on a two-level cluster; kernel == sum, time == formula, and the layout it needs."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives import ring
from clustersim.errors import InputError
from tests.collectives.helpers import two_level


@pytest.mark.parametrize(("machines", "gpus"), [(4, 8), (3, 2), (1, 4), (3, 1)])
def test_hierarchical_kernel_and_time_on_two_level(machines: int, gpus: int) -> None:
    for reduction in ("free", "device"):
        result = clustersim.run(
            two_level(machines, gpus, 4 * 64 * machines * gpus, verify=True, reduction=reduction)
        )
        assert result.checks["allreduce_equals_sum"]["passed"]
        sim, formula = result.metrics["time_s"], result.analytic["time_s"]
        assert abs(sim - formula) / formula < 1e-6
        assert result.metrics["bytes_total"] == result.analytic["bytes_total"]


def test_formula_is_the_sum_of_its_ring_phases() -> None:
    # 2 machines × 4 GPUs, n = 8: 2·3·(α₁ + 2β₁) + 2·1·(α₂ + 1·β₂) + 7/8·8·γ
    a1, b1, a2, b2, g = 1.0, 10.0, 100.0, 1000.0, 0.5
    assert ring.hierarchical_allreduce_time(8.0, 2, 4, a1, b1, a2, b2, g) == pytest.approx(
        6 * (a1 + 2 * b1) + 2 * (a2 + b2) + 7 * g, rel=1e-15
    )


def test_hierarchical_beats_the_flat_ring_across_machines() -> None:
    hier = clustersim.run(two_level()).metrics["time_s"]
    flat = clustersim.run(two_level(algorithm="ring")).metrics["time_s"]
    assert flat > 5 * hier


def test_hierarchical_needs_ranks_machine_by_machine() -> None:
    spec = two_level(2, 2)
    spec["workload"]["ranks"] = ["n0g0", "n1g0", "n0g1", "n1g1"]
    with pytest.raises(InputError, match="machine by machine"):
        clustersim.run(spec)
