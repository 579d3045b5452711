"""``workload`` of ``kind: collective`` (:mod:`clustersim.collectives.params`): the checks that
need the parameters alone, and the default algorithm of each op."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from tests.collectives.helpers import MiB, scenario


@pytest.mark.parametrize(
    ("workload", "words"),
    [
        (
            {"op": "broadcast", "algorithm": "ring"},
            ["unknown algorithm 'ring'", "broadcast", "tree"],
        ),
        ({"op": "allreduce", "root": 1}, ["root only applies", "broadcast or reduce"]),
        ({"op": "reduce", "algorithm": "tree", "root": -1}, ["workload.root", ">= 0"]),
        (
            {"op": "allreduce", "algorithm": "ring", "pipeline_chunk": "1 MiB"},
            ["pipeline_chunk", "double_binary_tree"],
        ),
        (
            {"op": "allreduce", "algorithm": "double_binary_tree", "pipeline_chunk": 0},
            ["pipeline_chunk", "positive"],
        ),
        ({"op": "allreduce", "reduction": "gpu"}, ["workload.reduction"]),
        ({"op": "allreduce", "size": 0}, ["workload.size", "positive"]),
        ({"op": "allreduce", "size": 4003}, ["not a whole number of float32 elements"]),
        ({"op": "allreduce", "sizes": 8}, ["unknown key 'sizes'", "did you mean 'size'"]),
    ],
)
def test_bad_params_raise_input_error(workload: dict[str, Any], words: list[str]) -> None:
    spec = scenario("allreduce", "ring", 8, MiB)
    spec["workload"].update(workload)
    with pytest.raises(InputError) as info:
        clustersim.run(spec)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_defaults_per_op() -> None:
    for op, default in (("broadcast", "tree"), ("alltoall", "pairwise"), ("allgather", "ring")):
        spec = scenario(op, "ring", 4, 4096, verify=True)
        del spec["workload"]["algorithm"]
        assert load_scenario(spec).workload.algorithm == default
        assert clustersim.run(spec).passed
