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
            {"op": "broadcast", "algorithm": "halving_doubling"},
            ["unknown algorithm 'halving_doubling'", "broadcast", "ring, tree, auto"],
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
        (
            {"op": "reduce", "algorithm": "tree", "pipeline_chunk": "1 MiB"},
            ["pipeline_chunk", "reduce 'tree'", "ring"],
        ),
        ({"op": "allreduce", "verify": "sample"}, ["workload.verify", "sampled", "'sample'"]),
        ({"op": "allreduce", "sample_elements": 4}, ["sample_elements", "verify: sampled"]),
        (
            {"op": "allreduce", "verify": "sampled", "sample_elements": 0},
            ["workload.sample_elements", "positive integer", "0"],
        ),
        ({"op": "allreduce", "verify_memory": 0}, ["workload.verify_memory", "positive"]),
        ({"op": "allreduce", "verify_memory": "2 GiX"}, ["workload.verify_memory", "GiX"]),
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
    """NCCL's algorithm for every op NCCL runs with one: the pipelined ring for broadcast and
    reduce (it was the binomial tree before the ring existed)."""
    defaults = {"broadcast": "ring", "reduce": "ring", "alltoall": "pairwise", "allgather": "ring"}
    for op, default in defaults.items():
        spec = scenario(op, "ring", 4, 4096, verify=True)
        del spec["workload"]["algorithm"]
        assert load_scenario(spec).workload.algorithm == default
        assert clustersim.run(spec).passed
