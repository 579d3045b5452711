"""Every point is validated up front, by the path ``clustersim validate`` takes: one invalid
point stops the sweep before any point runs, naming its index, its grid values and the error
(the issue's three cases), and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from clustersim.scenario.sweep import parse_grid, plan_points, run_sweep
from clustersim.scenario.sweep_point import scenario_hash
from tests.paths import SCENARIOS

runner = CliRunner()


@pytest.mark.parametrize(
    ("scenario", "grid", "index", "label", "why"),
    [
        (
            "ps_vs_ring.yaml",
            "workload.workers=2,4,40,8",
            2,
            "workload.workers=40",
            "servers + workers (1 + 40) is more than the cluster's 33 devices",
        ),
        (
            "pipeline_gpipe_m4.yaml",
            "workload.stages=2,8",
            1,
            "workload.stages=8",
            "the pipeline needs 8 devices",
        ),
        (
            "speculative_gamma_sweep.yaml",
            "workload.draft_device=n0,n5",
            1,
            'workload.draft_device="n5"',
            "'n5' is not a device of the cluster",
        ),
    ],
)
def test_an_invalid_point_stops_the_sweep_before_any_runs(
    tmp_path: Path, scenario: str, grid: str, index: int, label: str, why: str
) -> None:
    out = tmp_path / "x.csv"
    result = runner.invoke(
        app, ["sweep", str(SCENARIOS / scenario), "--grid", grid, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert f"sweep point {index} of " in result.stderr
    assert f"({label}) is invalid, so no point was run" in result.stderr
    assert why in result.stderr and "Traceback" not in result.output
    assert not out.exists() and not out.with_suffix(".jsonl").exists()
    assert result.stdout == ""  # no row was printed either


def test_validation_uses_the_run_limits(tmp_path: Path) -> None:
    ring = SCENARIOS / "ring_allreduce.yaml"
    result = runner.invoke(
        app, ["sweep", str(ring), "--grid", "cluster.topology.nodes=4,8", "--max-events", "80"]
    )
    assert result.exit_code == 2
    assert "sweep point 1 of 2 (cluster.topology.nodes=8)" in result.stderr
    assert "--max-events" in result.stderr


def test_points_that_resolve_to_one_scenario_are_refused() -> None:
    grid = parse_grid(["workload.size=1MiB,1048576"])  # the same size, written twice
    with pytest.raises(InputError, match=r"points 0 .* and 1 .* are the same scenario"):
        run_sweep(SCENARIOS / "ring_allreduce.yaml", grid)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "seed=1,2", "--grid", "seed=3"], "names seed more than once"),
        (["--grid", "seed"], "KEY=V1,V2"),
        (["--grid", "seed=1", "--scheduler", "slurm"], "expected local"),
        (["--grid", "seed=1", "--jobs", "0"], "at least 1 worker"),
        (["--grid", "seed=1", "--resume"], "--resume needs --out"),
        (["--grid", "seed=1", "--out", "x.txt"], "expected a .csv or .jsonl"),
        (["--grid", "seed=1", "--out", "o.csv", "--resume", "--overwrite"], "pick one"),
    ],
)
def test_bad_options_are_input_errors(tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("o.csv", str(tmp_path / "o.csv")) for a in args]
    result = runner.invoke(app, ["sweep", str(SCENARIOS / "ring_allreduce.yaml"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


@pytest.mark.parametrize(
    ("scenario", "grid"),
    [
        ("ring_allreduce.yaml", "cluster.topology.nodes=2,4,8"),
        ("ps_vs_ring.yaml", "workload.workers=2,4,8"),
        ("speculative_methods.yaml", "workload.method=tree,speculative,pearl"),
    ],
)
def test_points_after_the_first_resolve_as_check_scenario_does(scenario: str, grid: str) -> None:
    """The sweep parses the file once; each point is still what check_scenario makes of it."""
    path = SCENARIOS / scenario
    points = plan_points(path, parse_grid([grid]), ["seed=3"])
    for point in points:
        alone, _ = check_scenario(path, ["seed=3", *point.values])
        assert point.scenario.source == alone.source == str(path)
        assert point.scenario.raw == alone.raw
        assert point.scenario.as_written == alone.as_written
        assert point.scenario_hash == scenario_hash(alone)


def test_a_later_bad_point_has_the_message_validate_gives() -> None:
    path = SCENARIOS / "ps_vs_ring.yaml"
    with pytest.raises(InputError) as alone:
        check_scenario(path, ["workload.workers=40"])
    with pytest.raises(InputError) as swept:
        plan_points(path, parse_grid(["workload.workers=2,40"]))
    assert str(swept.value).endswith(f"no point was run: {alone.value}")
