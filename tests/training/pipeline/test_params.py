"""Parameter errors found by the params model name the field and what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from tests.training.pipeline.helpers import scenario


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"batch": 6, "microbatches": 4}, "batch 6 must be a multiple of microbatches 4"),
        ({"partition": "planner"}, "planner needs schedule pipedream"),
        ({"chunks": 2}, "chunks 2 needs schedule interleaved_1f1b"),
        (
            {"schedule": "interleaved_1f1b", "chunks": 2, "microbatches": 6},
            "microbatches (6) to be a multiple of stages (4)",
        ),
        ({"stages": None}, "stages is required"),
        ({"allreduce_algorithm": "butterfly"}, "unknown all-reduce algorithm 'butterfly'"),
        ({"microbatches": 0}, "workload.microbatches: must be a positive integer, got 0"),
        ({"partition": [3, 3, 1]}, "partition lists 3 stages but stages x chunks is 4"),
        ({"weight_stashing": False}, "weight_stashing: false only applies to schedule pipedream"),
        ({"profile": {"count": 4}}, "needs flops and activation"),
        ({"profile": {"builtin": "transformer", "count": 4}}, "needs hidden, seq_len, heads"),
        (
            {"profile": {"builtin": "vgg16", "layers": [{"flops": 1, "activation": 1}]}},
            "exactly one of",
        ),
    ],
)
def test_bad_parameters_name_the_field(change: dict[str, Any], field: str) -> None:
    wl = {"schedule": "gpipe", "stages": 4, "microbatches": 4, **change}
    wl = {k: v for k, v in wl.items() if v is not None}
    with pytest.raises(InputError) as err:
        load_scenario(scenario(wl))
    assert field in str(err.value)


@pytest.mark.parametrize("partition", [[8], [3, 3, 2]])
def test_interleaved_partition_must_fill_every_chunk(partition: list[int]) -> None:
    """A partition list whose length is not a multiple of chunks left no whole number of
    devices: before the check it divided by zero ([8], v=2) or deadlocked ([3, 3, 2])."""
    wl = {"schedule": "interleaved_1f1b", "chunks": 2, "microbatches": 4, "partition": partition}
    with pytest.raises(
        InputError, match=f"partition lists {len(partition)} stages, not a multiple"
    ):
        load_scenario(scenario(wl))
