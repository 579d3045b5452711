"""Same scenario and seed, same leakage results; another seed, other private data."""

from __future__ import annotations

import clustersim
from tests.federated.leakage.helpers import scenario

DEFENCES = [{"kind": "none"}, {"kind": "noise", "variance": 1e-3}, {"kind": "terngrad"}]


def test_a_rerun_is_identical_and_another_seed_is_not() -> None:
    a = clustersim.run(scenario({"defences": DEFENCES})).metrics
    b = clustersim.run(scenario({"defences": DEFENCES})).metrics
    c = clustersim.run(scenario({"defences": DEFENCES}, seed=2)).metrics
    assert a == b
    assert a["dlg_mse"] != c["dlg_mse"]
