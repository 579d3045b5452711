"""What several speculative-decoding test files share: a small scenario and a bound method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clustersim.inference.speculative.checks import MethodSetup, SetupFactory
from clustersim.inference.speculative.kernels import speculative_rounds
from clustersim.inference.speculative.toy_lm import ToyLM, make_draft


def two_a100(name: str, seed: int, workload: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario: a ``speculative_decoding`` ``workload`` on two A100s joined by NVLink."""
    return {
        "name": name,
        "seed": seed,
        "cluster": {
            "topology": {"kind": "fully_connected", "nodes": 2},
            "device": "A100",
            "link": "NVLink3",
        },
        "workload": {"kind": "speculative_decoding", **workload},
    }


def speculative(gamma: int, quality: float = 0.6) -> SetupFactory:
    """Algorithm 1 with gamma draft tokens, its draft seeded 11, bound to any target."""

    def bind(target: ToyLM) -> MethodSetup:
        draft = make_draft(target, quality, np.random.default_rng(11))
        return MethodSetup(lambda s, t, g: speculative_rounds(target, draft, s, gamma, t, g), draft)

    return bind


def scenario(**workload: Any) -> dict[str, Any]:
    """A small Algorithm 1 scenario on two A100s (seed 3, gamma 5, 256 tokens, alpha ~0.7, no
    checks); ``workload`` overrides the defaults."""
    return two_a100(
        "spec-test",
        3,
        {
            "method": "speculative",
            "gamma": 5,
            "tokens": 256,
            "draft_quality": 0.7,
            "verify": False,
            **workload,
        },
    )
