"""Parameter errors found by the params model name the field and what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from tests.training.tensor_parallel.helpers import scenario


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"heads": 16, "degree": 3}, "heads 16 must be divisible by degree 3"),
        ({"hidden": 500}, "hidden 500 must be divisible by heads 8"),
        ({"partition": "sequence", "seq_len": 250}, "seq_len 250 must be divisible by degree 4"),
        ({"degree": 0}, "workload.degree: must be a positive integer, got 0"),
        ({"algorithm": "carrier_pigeon"}, "unknown all-reduce algorithm 'carrier_pigeon'"),
    ],
)
def test_bad_parameters(change: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(scenario(**change))
    assert text in str(err.value)
