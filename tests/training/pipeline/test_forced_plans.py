"""PipeDream plans forced from the scenario: ``stages: [r1, r2, ...]`` replica counts with a
``partition``, and the inputs that cannot describe one (exit code 2 through ``validate``)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario
from tests.training.pipeline.helpers import run, scenario

LINK = {"bandwidth": "10 GB/s", "latency": "1 us"}
PROFILE = {"count": 4, "flops": "10 GFLOP", "activation": "10 MB", "params": "1 MB"}


def _forced(**change: Any) -> dict[str, Any]:
    return {
        "schedule": "pipedream",
        "stages": [3, 1],
        "partition": [2, 2],
        "microbatches": 6,
        "profile": PROFILE,
        **change,
    }


def test_a_forced_plan_runs_as_its_cost_model_predicts() -> None:
    r = run(_forced(), link=LINK)
    m, a = r.metrics, r.analytic
    assert m["plan"] == "3-1" and m["layers_per_stage"] == [2, 2]
    assert m["throughput_samples_per_s"] == pytest.approx(a["throughput_samples_per_s"], rel=0.01)
    # compared with data parallelism and an even split, as the planner's choice is
    assert m["data_parallel_plan"] == "4" and "speedup_over_data_parallel_ratio" in m
    assert r.checks["weight_stashing_consistent"]["passed"]


def test_balanced_partition_weighs_stages_by_their_replicas() -> None:
    r = run(_forced(partition="balanced", stages=[3, 1], verify=False), link=LINK)
    assert r.metrics["layers_per_stage"] == [3, 1]  # 3 layers on 3 replicas, 1 on 1


BAD = [
    ({"schedule": "1f1b"}, "only PipeDream replicates"),
    ({"replicas": 2}, "leave replicas at 1"),
    ({"partition": [1, 1, 2]}, "partition lists 3 stages but stages gives replica counts for 2"),
    ({"stages": [3, 0]}, "workload.stages: item 1: a stage's replica count must be a positive"),
    ({"stages": []}, "at least one stage"),
    ({"tensor_parallel": 2}, "tensor_parallel 2 does not apply to schedule pipedream"),
    ({"matrix_tile": 128}, "matrix_tile does not apply to schedule pipedream"),
    ({"partition": "planner"}, "leave stages unset"),
]


@pytest.mark.parametrize(("change", "text"), BAD)
def test_bad_forced_plans_name_the_field(change: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError, match=text):
        load_scenario(scenario(_forced(**change)))


def test_a_plan_bigger_than_the_cluster_is_found_by_validate(tmp_path: Any) -> None:
    spec = scenario(_forced(stages=[15, 1], partition=[3, 1]))
    with pytest.raises(InputError, match="needs 16 devices"):
        check_scenario(spec)
    path = tmp_path / "forced.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "needs 16 devices" in result.output


@pytest.mark.parametrize(
    ("batch", "text"),
    [
        ({2: 8, "4x8": 16}, "batch gives no batch for 4 stages and 4 micro-batches; it lists"),
        ({"4by4": 8}, "expected a depth K"),
        ({4: 6}, "batch 6 must be a multiple of microbatches 4"),
        ({4: 0}, "must be a positive integer"),
    ],
)
def test_a_batch_per_depth_must_cover_the_depth(batch: dict[int, int], text: str) -> None:
    wl = {"schedule": "gpipe", "stages": 4, "microbatches": 4, "batch": batch}
    with pytest.raises(InputError, match=text):
        load_scenario(scenario(wl))


def test_a_batch_per_depth_picks_the_one_of_this_depth() -> None:
    wl = {"schedule": "gpipe", "batch": {2: 8, 4: 16, "4x8": 64}, "verify": False}
    two = run({**wl, "stages": 2, "microbatches": 4}, nodes=4)
    four = run({**wl, "stages": 4, "microbatches": 4}, nodes=4)
    eight = run({**wl, "stages": 4, "microbatches": 8}, nodes=4)
    assert [r.metrics["microbatch_samples"] for r in (two, four, eight)] == [2, 4, 8]
