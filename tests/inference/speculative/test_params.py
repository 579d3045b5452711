"""The ``workload:`` block of ``kind: speculative_decoding``: each mistake names its field."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.errors import InputError
from tests.inference.speculative.helpers import scenario


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gamma": 0}, "workload.gamma: must be a positive integer, got 0"),
        ({"temperature": -1}, "temperature must be a finite number >= 0"),
        ({"draft_quality": 1.5}, "draft_quality must be in \\[0, 1\\]"),
        ({"tokens": 0}, "workload.tokens: must be a positive integer, got 0"),
        ({"prompt_tokens": -1}, "workload.prompt_tokens: must be an integer >= 0, got -1"),
        ({"exit_layer": 0}, "workload.exit_layer: must be a positive integer, got 0"),
        ({"target_sharpness": 0}, "target_sharpness must be a positive, finite number, got 0"),
        ({"target_model": "llama9"}, "unknown model preset 'llama9'"),
        ({"vocab": 1}, "vocab must be an integer in 2..512"),
        ({"method": "self_speculative", "exit_layer": 40}, "exit_layer must be below"),
        ({"method": "tree", "tree_width": 70, "gamma": 3}, "nodes; expected at most 4096"),
        ({"tree_expansion": [2, 0]}, "tree_expansion must be a list of 1 to 16 integers"),
        ({"check_significance": 2}, "check_significance must be in \\(0, 1\\)"),
        ({"posterior_alpha": 0}, "posterior_alpha must be in \\(0, 1\\]"),
        ({"launch_overhead": "4 us"}, "launch_overhead is a property of the device"),
    ],
)
def test_bad_parameters_name_field_value_and_expectation(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        clustersim.run(scenario(**override))


def test_misspelt_key_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown key 'gama'"):
        clustersim.run(scenario(gama=3))
