"""The decode processes on devices and links: what a remote draft pays, the draft/verify lanes."""

from __future__ import annotations

import itertools

import clustersim
from tests.inference.speculative.helpers import scenario


def test_remote_draft_pays_the_link_every_round() -> None:
    local = clustersim.run(scenario()).metrics
    remote = clustersim.run(scenario(draft_device="n1")).metrics
    assert local["bytes_total"] == 0
    # gamma tokens with their 32000-entry fp16 distributions, every round, plus the verdicts
    assert remote["bytes_total"] >= remote["target_passes"] * 5 * 32000 * 2
    assert remote["time_s"] > local["time_s"]
    assert remote["alpha"] == local["alpha"]  # same tokens, different timing


def test_greedy_ships_token_ids_only() -> None:
    remote = clustersim.run(scenario(draft_device="n1", temperature=0)).metrics
    assert remote["bytes_total"] < remote["target_passes"] * 1000


def test_timeline_shows_draft_then_verify() -> None:
    result = clustersim.run(scenario(tokens=20), trace=True)
    spans = [s for s in result.trace.spans if s.lane == ("n0", "compute")]
    names = [s.name for s in spans]
    assert names[:6] == ["draft"] * 5 + ["verify"]
    assert all(b.start >= a.end - 1e-15 for a, b in itertools.pairwise(spans))
