"""GPipe's table (Huang et al., NeurIPS 2019, Table 2): over K = 2, 4, 8 and M = 1, 4, 32 the
analytic flush, a flow shop whose machines are the stages *and* the activation (forward) and
gradient (backward) transfers between them, is the simulated run, time and bubble, on both
profiles of the table (``scenarios/pipeline_gpipe_table_*.yaml``).

The whole table runs in under a second as shipped, so the profiles are not shrunk. The bubble
compares as well as the time: both sides define it as ``1 - busy / (devices x flush)`` over the
same window (first forward to last backward), with the same compute (no tensor parallelism, so
nothing but the transfers is idle time that the flow shop has to account for).
"""

from __future__ import annotations

import pytest

import clustersim
from tests.paths import SCENARIOS

PROFILES = ["pipeline_gpipe_table_amoebanet.yaml", "pipeline_gpipe_table_transformer.yaml"]
GRID = [(k, m) for k in (2, 4, 8) for m in (1, 4, 32)]


def _run(name: str, k: int, m: int, *more: str) -> clustersim.Result:
    return clustersim.run(
        SCENARIOS / name, [f"workload.stages={k}", f"workload.microbatches={m}", *more]
    )


@pytest.mark.parametrize("name", PROFILES)
def test_the_analytic_flush_is_the_run_over_the_whole_table(name: str) -> None:
    for k, m in GRID:
        r = _run(name, k, m)
        for metric in ("time_per_minibatch_s", "bubble_fraction"):
            assert r.analytic[metric] == pytest.approx(r.metrics[metric], rel=1e-6), (k, m, metric)


def test_the_transfers_are_what_the_flush_adds_at_k8_m1() -> None:
    """AmoebaNet, K = 8, M = 1: one micro-batch of 256 images crosses 7 boundaries each way with
    nothing to overlap them, 11 % of the run; on free links the same cell is the compute alone,
    and the analytic follows both."""
    name = PROFILES[0]
    slow = _run(name, 8, 1)
    free = _run(name, 8, 1, "cluster.link.bandwidth=1 PB/s", "cluster.link.latency=0")
    t_slow, t_free = slow.metrics["time_per_minibatch_s"], free.metrics["time_per_minibatch_s"]
    assert t_slow > 1.1 * t_free
    assert free.analytic["time_per_minibatch_s"] == pytest.approx(t_free, rel=1e-6)
    assert slow.analytic["time_per_minibatch_s"] == pytest.approx(t_slow, rel=1e-6)
