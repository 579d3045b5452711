"""Spans of different roles look different: compute roles (draft, verify, pre- and
post-verify, dropped gradients), a straggler's slowed compute, pipeline micro-batch numbers,
instants by name."""

from __future__ import annotations

import clustersim
from clustersim.core.trace import Tracer
from clustersim.plot import plot_timeline
from tests.paths import SCENARIOS
from tests.plot.helpers import labels, legend


def _faces(fig) -> dict[str, tuple]:
    (ax,) = fig.axes
    found = ax.get_legend()
    return {
        t.get_text(): tuple(h.get_facecolor() if hasattr(h, "get_facecolor") else h.get_color())
        for t, h in zip(found.get_texts(), found.legend_handles, strict=True)
    }


def test_pearl_pre_and_post_verify_and_the_draft_differ() -> None:
    result = clustersim.run(
        SCENARIOS / "speculative_methods.yaml",
        ["workload.tokens=40", "workload.verify=false"],
        trace=True,
    )
    faces = _faces(plot_timeline(result.trace))
    roles = ["compute: pre-verify", "compute: post-verify", "compute: draft"]
    assert set(roles) <= set(faces)
    assert len({faces[r] for r in roles}) == 3
    assert {"instant: pre-verify", "instant: post-verify"} <= set(faces)


def test_a_backup_workers_dropped_gradient_is_its_own_role() -> None:
    result = clustersim.run(
        SCENARIOS / "ps_stragglers.yaml",
        ["workload.iterations=3", "workload.verify=false"],
        trace=True,
    )
    assert {"compute: gradient", "compute: gradient (dropped)"} <= set(
        legend(plot_timeline(result.trace))
    )


def test_a_stragglers_compute_is_hatched_and_labelled() -> None:
    result = clustersim.run(
        SCENARIOS / "partition_adcnn_fdsp.yaml", ["cluster.slowdown.pi3=2"], trace=True
    )
    fig = plot_timeline(result.trace, lanes="*/compute")
    assert "pi3/compute x2" in labels(fig) and "pi2/compute" in labels(fig)
    assert "slowed compute (xF: F times longer)" in legend(fig)
    (ax,) = fig.axes
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1  # pi3's compute bars, and nobody else's


def test_pipeline_bars_carry_their_micro_batch() -> None:
    t = Tracer(enabled=True)
    for m in range(4):
        t.span(("n0", "compute"), f"F{m}", "forward", m * 1e-3, (m + 1) * 1e-3)
        t.span(("n0", "compute"), f"B{m}.1", "backward chunk 1", (4 + m) * 1e-3, (5 + m) * 1e-3)
    texts = [x.get_text() for x in plot_timeline(t).axes[0].texts]
    assert sorted(texts) == ["0", "0", "1", "1", "2", "2", "3", "3"]
    assert len(plot_timeline(t, labels=False).axes[0].texts) == 0


def test_many_roles_fall_back_to_one_colour() -> None:
    """Seven or more roles (a CNN's layer types) are not worth seven shades: one colour."""
    t = Tracer(enabled=True)
    for i, name in enumerate(["conv", "relu", "pool", "fc", "norm", "drop", "flat"]):
        t.span(("n0", "compute"), name, "compute", i, i + 1)
    assert legend(plot_timeline(t)) == ["compute"]
