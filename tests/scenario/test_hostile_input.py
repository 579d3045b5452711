"""Careless and hostile input: exit 2 with a located one-paragraph message, never a traceback,
a hang or a memory blow-up; and ``validate`` says what ``run`` would, before anything runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import EXIT_INTERNAL, app
from clustersim.kinds.contract import check
from tests.paths import SCENARIOS

runner = CliRunner()

BASE = {
    "name": "t",
    "seed": 1,
    "cluster": {
        "topology": {"kind": "ring", "nodes": 4},
        "device": "H100",
        "link": {"bandwidth": "50 GiB/s", "latency": "500 ns"},
    },
    "workload": {"kind": "collective", "op": "allreduce", "size": "1 MiB"},
}
SWITCH = {"topology": {"kind": "switch", "nodes": 5}, "device": "A100", "link": "100GbE"}


def scenario(**changes) -> dict:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return data


def invoke(tmp_path: Path, content: dict | str, *args: str, command: str = "validate"):
    path = tmp_path / "s.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return runner.invoke(app, [command, str(path), *args])


def assert_refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "Traceback" not in result.output and message.startswith("clustersim: ")
    assert message.count("\n") == 1, "one paragraph"
    for word in words:
        assert word in message, (word, message)


LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
    )
    + "name: *i\n"
)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (LAUGHS, ["expands to", "aliases"]),
        ("name: t\n" + "x: &y 1\n" + "".join(f"k{i}: *y\n" for i in range(101)), ["aliases"]),
        (yaml.safe_dump(BASE) + "seed: 2\n", ["key 'seed' is given twice", "line"]),
        (scenario(seed=-1), ["seed", "-1"]),
        (scenario(seed=True), ["seed", "boolean"]),
        (scenario(cluster__topology={"kind": "ring", "nodes": True}), ["nodes", "boolean"]),
        (scenario(workload__size="1e30 B"), ["workload.size", "8 PiB"]),
        (scenario(workload__ranks=[]), ["workload.ranks", "at least 2"]),
        (scenario(workload__ranks=["n0", "n0"]), ["workload.ranks", "twice", "n0"]),
        (scenario(workload__ranks=["n0", "x9"]), ["workload.ranks", "'x9'"]),
        (scenario(cluster__link="Wifi9"), ["cluster.link", "Wifi9", "WiFi6"]),
        (scenario(cluster__link={"latncy": "1 us"}), ["cluster.link.latncy", "'latency'"]),
        (scenario(output={"json_path": "x.json"}), ["output.json_path", "did you mean 'json'"]),
        (scenario(workload__kind=["collective"]), ["workload.kind", "known:"]),
        (
            scenario(
                cluster__topology={
                    "kind": "two_level",
                    "nodes": 2,
                    "gpus_per_node": 2,
                    "intra_link": "NVLink9",
                }
            ),
            ["cluster.topology.intra_link", "NVLink9"],
        ),
        (
            scenario(cluster__device={"preset": "H100", "efficiency": 3}),
            ["cluster.device.efficiency"],
        ),
        (
            scenario(
                cluster=SWITCH,
                workload={
                    "kind": "pipeline",
                    "schedule": "gpipe",
                    "stages": 2,
                    "microbatches": 4,
                    "profile": {"builtin": "transformer"},
                    "partition": "evn",
                },
            ),
            ["workload.partition", "'even'", "got 'evn'"],
        ),
        (
            scenario(
                cluster=SWITCH,
                workload={"kind": "data_parallel", "workers": 4, "lr": float("inf")},
            ),
            ["workload.lr", "finite"],
        ),
        (
            scenario(
                cluster=SWITCH,
                workload={
                    "kind": "parameter_server",
                    "workers": 4,
                    "model_size": "1e30 B",
                    "compute": "1 ms",
                },
            ),
            ["workload.model_size", "8 PiB"],
        ),
        (
            scenario(
                cluster=SWITCH,
                workload={
                    "kind": "parameter_server",
                    "workers": 4,
                    "model_size": "1 MB",
                    "compute": "1 ms",
                    "stragglers": {"dist": "lognormal", "sigma": 1e9},
                },
            ),
            ["workload.stragglers", "sigma", "at most 5"],
        ),
    ],
    ids=lambda v: None if isinstance(v, list) else "",
)
def test_bad_input_is_refused_with_a_located_message(tmp_path, content, words) -> None:
    assert_refused(invoke(tmp_path, content), *words)


def test_a_huge_file_is_refused_unread(tmp_path) -> None:
    path = tmp_path / "junk.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 2**20)  # 50 MB of nothing, in no time
    result = runner.invoke(app, ["validate", str(path)])
    assert_refused(result, "bytes", "scenario")


@pytest.mark.parametrize(
    ("workload", "words"),
    [
        (
            {"kind": "data_parallel", "workers": 4, "iterations": 1_000_000},
            ["events", "iterations"],
        ),
        (
            {"kind": "data_parallel", "workers": 4, "iterations": 3, "model": [100000, 100000, 10]},
            ["memory", "workload.model"],
        ),
        (
            {"kind": "speculative_decoding", "method": "speculative", "gamma": 10**6, "tokens": 64},
            ["events", "gamma"],
        ),
        (
            {
                "kind": "tensor_parallel",
                "degree": 4,
                "batch": 1,
                "seq_len": 8,
                "hidden": 16,
                "heads": 4,
                "layers": 10**6,
                "verify": False,
            },
            ["events", "workload.layers"],
        ),
    ],
)
def test_runs_beyond_the_machine_are_refused_before_they_start(tmp_path, workload, words) -> None:
    content = scenario(cluster=SWITCH, workload=workload)
    for command in ("validate", "run"):
        assert_refused(invoke(tmp_path, content, command=command), *words)


def test_the_event_limit_can_be_raised_and_lowered(tmp_path) -> None:
    ps = SCENARIOS / "ps_vs_ring.yaml"  # about 120 events
    refused = runner.invoke(app, ["validate", str(ps), "--max-events", "5"])
    assert_refused(refused, "--max-events", "workload.iterations")
    assert runner.invoke(app, ["run", str(ps), "--max-events", "1000"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--trace", "/proc/y.json"], ["--trace", "/proc"]),
        (["--trace", "."], ["--trace", "format"]),
        (["--timeline", "/proc/x.png"], ["--timeline", "/proc"]),
        (["--timeline", "out.xyz"], ["--timeline", ".xyz", ".png"]),
    ],
)
def test_bad_output_paths_are_refused_before_the_run(tmp_path, args, words) -> None:
    result = invoke(tmp_path, scenario(), *args, command="run")
    assert_refused(result, *words)
    assert "metric" not in result.stdout  # nothing was simulated


def test_a_read_only_output_is_refused_unless_the_os_would_write_it(tmp_path) -> None:
    target = tmp_path / "t.png"
    target.write_bytes(b"")
    target.chmod(stat.S_IRUSR)
    result = invoke(tmp_path, scenario(), "--timeline", str(target), command="run")
    if os.geteuid() == 0:
        # root writes read-only files: the check must not refuse what the OS allows
        assert os.access(target, os.W_OK)
        assert result.exit_code == 0, result.output
        assert target.read_bytes().startswith(b"\x89PNG")
    else:
        assert_refused(result, "--timeline", "not writable")


@pytest.mark.parametrize("below", ["t.png", "sub/t.png"])
def test_an_output_under_a_regular_file_is_refused(tmp_path, below) -> None:
    # ENOTDIR: nobody, root included, can create a file under a regular file
    blocker = tmp_path / "not_a_folder"
    blocker.write_bytes(b"")
    target = blocker / below
    with pytest.raises(NotADirectoryError):
        target.open("wb")
    result = invoke(tmp_path, scenario(), "--timeline", str(target), command="run")
    assert_refused(result, "--timeline", str(blocker), "is a file, not a folder")
    assert "metric" not in result.stdout  # refused before the run
    assert blocker.read_bytes() == b""


def test_validate_checks_the_scenarios_own_output_paths(tmp_path) -> None:
    assert_refused(invoke(tmp_path, scenario(output={"trace": "/proc/t.json"})), "output.trace")


def test_output_json_is_written_and_the_result_comes_first(tmp_path) -> None:
    target = tmp_path / "deep" / "r.json"
    result = invoke(tmp_path, scenario(output={"json": str(target)}), "--json", command="run")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(target.read_text())["scenario"] == "t"
    assert result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("name=*x", ["--set", "not valid YAML", "quote"]),
        ("a..b=1", ["--set", "empty part"]),
        ("workload.size=[1,", ["--set", "not valid YAML"]),
    ],
)
def test_bad_overrides_are_refused(tmp_path, override, words) -> None:
    assert_refused(invoke(tmp_path, scenario(), "--set", override), *words)


def test_an_internal_error_has_its_own_exit_code_and_asks_for_a_report(monkeypatch) -> None:
    from clustersim.scenario import runner as scenario_runner

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(scenario_runner, "load_scenario", broken)
    result = runner.invoke(app, ["validate", str(SCENARIOS / "ring_allreduce.yaml")])
    assert result.exit_code == EXIT_INTERNAL != 1
    assert "internal error" in result.stderr and "report" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), [1.0, float("nan")]])
def test_a_check_whose_numbers_blew_up_fails(bad) -> None:
    assert check(True, max_abs_err=bad, tolerance=1e-6)["passed"] is False
    assert check(True, max_abs_err=0.0, tolerance=1e-6)["passed"] is True
