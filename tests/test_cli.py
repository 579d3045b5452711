"""The command line: exit codes 0/1/2/3, one-paragraph errors without tracebacks, the JSON
contract, --set overrides, and the trace and timeline outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import SimulationError

ROOT = Path(__file__).resolve().parents[1]
RING = ROOT / "scenarios" / "ring_allreduce.yaml"
FAST = ["--set", "workload.size=1MiB"]
runner = CliRunner()

GOOD = """\
name: t
cluster:
  topology: {kind: ring, nodes: 4}
  link: {bandwidth: 50 GiB/s, latency: 500 ns}
workload: {kind: collective, op: allreduce, size: 1 MiB}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_run_prints_the_table() -> None:
    result = invoke("run", RING, *FAST)
    assert result.exit_code == 0, result.output
    for word in (
        "metric",
        "simulated",
        "analytic",
        "time_s",
        "bytes_total",
        "PASS  allreduce_equals_sum",
    ):
        assert word in result.stdout


def test_run_json_is_one_object_with_the_contract() -> None:
    result = invoke("run", RING, *FAST, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == [
        "scenario",
        "seed",
        "metrics",
        "analytic",
        "checks",
        "expectations",
        "wall_s",
    ]
    assert data["scenario"] == "ring-allreduce-8" and data["seed"] == 1
    assert data["metrics"]["bytes_total"] == 2 * 7 * 2**20
    assert data["checks"]["allreduce_equals_sum"]["passed"] is True


def test_json_is_deterministic_but_for_wall_time() -> None:
    runs = [json.loads(invoke("run", RING, *FAST, "--json").stdout) for _ in range(2)]
    for data in runs:
        del data["wall_s"]
    assert json.dumps(runs[0]) == json.dumps(runs[1])


def test_set_overrides_and_seed(tmp_path: Path) -> None:
    result = invoke(
        "run",
        RING,
        "--set",
        "workload.size=2MiB",
        "--set",
        "seed=9",
        "--set",
        "cluster.topology.nodes=4",
        "--set",
        "workload.verify=false",
        "--json",
    )
    data = json.loads(result.stdout)
    assert data["seed"] == 9 and data["metrics"]["ranks"] == 4
    assert data["metrics"]["bytes_total"] == 2 * 3 * 2 * 2**20
    assert data["checks"] == {}


def test_trace_and_timeline_outputs(tmp_path: Path) -> None:
    trace, png = tmp_path / "out" / "t.json", tmp_path / "out" / "t.png"
    result = invoke(
        "run", RING, *FAST, "--set", "cluster.topology.nodes=4", "--trace", trace, "--timeline", png
    )
    assert result.exit_code == 0, result.output
    events = json.loads(trace.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    assert spans and all(isinstance(e["pid"], int) and isinstance(e["tid"], int) for e in events)
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"compute", "comm", "n0->n1"} <= names
    assert max(e["ts"] + e["dur"] for e in spans) == pytest.approx(
        6 * (0.5 + 2**18 / (50 * 2**30) * 1e6), rel=1e-9
    )  # microseconds
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scenario_output_section_is_honoured(tmp_path: Path) -> None:
    trace = tmp_path / "from_yaml.json"
    path = write(tmp_path, GOOD + f"output: {{trace: {trace}}}\n")
    assert invoke("run", path).exit_code == 0
    assert json.loads(trace.read_text())["traceEvents"]


def test_validate_and_list(tmp_path: Path) -> None:
    ok = invoke("validate", RING)
    assert ok.exit_code == 0 and "ok" in ok.stdout and "8 devices" in ok.stdout
    listing = invoke("list").stdout
    for word in (
        "collective",
        "allreduce/ring",
        "2(p-1)",
        "Thakur",
        "H100",
        "RaspberryPi4",
        "JetsonOrinNano",
        "fat_tree",
        "two_level",
        "NVLink4",
    ):
        assert word in listing


def test_failed_check_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from clustersim.collectives import ring

    monkeypatch.setattr(ring, "ring_allgather_step", lambda padded, step: None)
    result = invoke("run", RING, *FAST)
    assert result.exit_code == 1
    assert "FAIL  allreduce_equals_sum" in result.stdout


def test_simulation_failure_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from clustersim.collectives import kind as collective

    def broken(plan):
        raise SimulationError("deadlock at t=0 s: ring allreduce is still waiting")

    monkeypatch.setattr(collective, "KIND", dataclasses.replace(collective.KIND, simulate=broken))
    result = invoke("run", RING, *FAST)
    assert result.exit_code == 3
    assert "deadlock" in result.stderr and "Traceback" not in result.output


BAD_INPUTS = [
    # (yaml text or None for a missing file, extra args, words the message must contain)
    ("name: t\n  bad: x\n", [], ["line 2", "YAML syntax error"]),
    (
        GOOD.replace("size: 1 MiB", "sise: 1 MiB"),
        [],
        ["workload.sise", "unknown key", "did you mean 'size'"],
    ),
    (GOOD, ["--set", "cluster.device=H1000"], ["cluster.device", "H1000", "H100"]),
    (GOOD, ["--set", "workload.size=64 MiX"], ["workload.size", "64 MiX", "MiB"]),
    (GOOD, ["--set", "cluster.link.bandwidth=0"], ["cluster.link.bandwidth", "0", "positive"]),
    (
        GOOD,
        ["--set", "cluster.topology.nodes=1"],
        ["cluster.topology", "ring", "at least 2", "got 1"],
    ),
    (GOOD, ["--set", "workload.kind=colective"], ["workload.kind", "colective", "collective"]),
    (GOOD, ["--set", "workload.algorithm=rign"], ["workload.algorithm", "rign", "ring"]),
    (GOOD, ["--set", "workload.size=-4"], ["workload.size", "-4", "positive"]),
    (GOOD, ["--set", "workload.size=3"], ["workload.size", "float32"]),
    (
        GOOD,
        ["--set", "cluster.topology.kind=torus3d"],
        ["cluster.topology.kind", "torus3d", "torus2d"],
    ),
    ("", [], ["empty"]),
    ("- just\n- a list\n", [], ["not a mapping"]),
    (None, [], ["no such file"]),
    (
        "name: t\ncluster:\n  topology: {kind: custom, nodes: [{name: 'w[0-3]'}],"
        " links: [{a: w0, b: w1}, {a: w2, b: w3}]}\n  link: {bandwidth: 1 GB/s}\n"
        "workload: {kind: collective, op: allreduce, size: 1 MiB}\n",
        [],
        ["cluster.topology", "disconnected", "w0", "w2"],
    ),
    (
        "name: t\ncluster:\n  topology: {kind: custom, nodes: [{name: 'w[0-3]'}],"
        " links: [{a: 'w[0-3]', b: hub}]}\n  link: {bandwidth: 1 GB/s}\n"
        "workload: {kind: collective, op: allreduce, size: 1 MiB}\n",
        [],
        ["cluster.topology", "hub"],
    ),
    (GOOD, ["--set", "nonsense"], ["--set", "KEY=VALUE"]),
]


@pytest.mark.parametrize(("text", "args", "words"), BAD_INPUTS)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, text: str | None, args: list[str], words: list[str]
) -> None:
    path = tmp_path / "missing.yaml" if text is None else write(tmp_path, text)
    result = invoke("run", path, *args)
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert str(path) in message
    for word in words:
        assert word in message, (word, message)
    assert "Traceback" not in result.output
    assert message.count("\n") == 1  # one paragraph


def test_validate_reports_bad_input_too(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("nodes: 4", "nodes: 1"))
    result = invoke("validate", path)
    assert result.exit_code == 2 and "at least 2" in result.stderr


def test_console_script_entry_point_without_traceback(tmp_path: Path) -> None:
    """The real process: bad input exits 2 with nothing but the message on stderr."""
    path = write(tmp_path, GOOD.replace("size: 1 MiB", "size: 1 MiX"))
    proc = subprocess.run(
        [sys.executable, "-m", "clustersim", "run", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("clustersim: ") and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ what a user reads (issue 15)
def test_json_counts_of_bytes_and_events_are_integers() -> None:
    data = json.loads(invoke("run", RING, *FAST, "--json").stdout)
    metrics, analytic = data["metrics"], data["analytic"]
    for name in ("bytes_total", "bytes_link_total", "bytes_max_link", "sim_events"):
        assert type(metrics[name]) is int, name
    assert type(analytic["bytes_total"]) is int
    assert all(type(v) is int for v in metrics["bytes_per_link"].values())
    assert all(type(v) is int for v in metrics["bytes_sent_per_rank"])
    assert type(metrics["time_s"]) is float and type(metrics["busbw_Bps"]) is float


def test_to_plain_types_counts_by_name() -> None:
    import numpy as np

    from clustersim.result import to_plain

    plain = to_plain(
        {
            "bytes_total": np.float64(3.0),
            "bytes_per_device_per_sample": 58.77,  # a mean: stays a float
            "bytes_per_link": {"a->b": 2.0},
            "algbw_Bps": 4.0,  # a rate, not a count
            "time_s": 2.0,
            "check": {"passed": True, "bytes": 4.0},
            "bytes_sent_per_rank": np.array([1.0, 2.0]),
            "expectations": {"bytes_total": {"value": 3.0, "rel_err": 0.0, "met": True}},
        }
    )
    assert plain == {
        "bytes_total": 3,
        "bytes_per_device_per_sample": 58.77,
        "bytes_per_link": {"a->b": 2},
        "algbw_Bps": 4.0,
        "time_s": 2.0,
        "check": {"passed": True, "bytes": 4},
        "bytes_sent_per_rank": [1, 2],
        "expectations": {"bytes_total": {"value": 3.0, "rel_err": 0.0, "met": True}},
    }
    # a record under a count's name is typed by its own keys: an error is not a count
    assert type(plain["expectations"]["bytes_total"]["rel_err"]) is float
    assert [type(v) for v in plain["bytes_sent_per_rank"]] == [int, int]
    assert type(plain["algbw_Bps"]) is float and type(plain["time_s"]) is float


def test_lanes_choose_the_timeline_rows(tmp_path: Path) -> None:
    png = tmp_path / "t.png"
    result = invoke("run", RING, *FAST, "--timeline", png, "--lanes", "n0,re:^links/n1->")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--lanes", "n0"], "add --timeline"),
        (["--timeline", "t.png", "--lanes", "re:n[0-"], "not a regular expression"),
        (["--timeline", "t.png", "--lanes", "gpu*"], "matches no busy lane"),
    ],
)
def test_bad_lanes_exit_2(tmp_path: Path, extra: list[str], words: str) -> None:
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in extra]
    result = invoke("run", RING, *FAST, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("command", "usage", "argument"),
    [
        ("run", "[OPTIONS] FILE", "FILE  scenario YAML file"),
        ("validate", "[OPTIONS] FILE", "FILE  scenario YAML file"),
        ("sweep", "[OPTIONS] FILE", "FILE  scenario YAML file"),
        ("plot", "[OPTIONS] ROWS", "ROWS  a sweep's rows (.csv or .jsonl)"),
        ("list", "[OPTIONS]", None),
    ],
)
def test_help_shows_plain_argument_names(command: str, usage: str, argument: str | None) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith(f" {command} {usage}"), lines[0]  # not {FILE}
    # the "Arguments:" section, up to the blank line that ends it
    start = lines.index("Arguments:") + 1 if "Arguments:" in lines else len(lines)
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    arguments = [line.strip() for line in lines[start:end]]
    assert arguments == ([argument] if argument else []), arguments  # not FILE <path> [required]
    # no Typer type tag after a name (<bool>, <path>, <int>, <list[str]>) and no {FILE}
    assert not re.search(r"\s<[\w\[\]]+>", result.output), result.output
    assert "{" not in result.output
    assert any(
        line.split() == ["--help", "Show", "this", "message", "and", "exit."] for line in lines
    )


@pytest.mark.parametrize("preset", [None, "logfire"])
def test_the_command_switches_pydantic_plugins_off_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch, preset: str | None
) -> None:
    """``main`` sets PYDANTIC_DISABLE_PLUGINS (the plugin scan is 28 ms of ``validate``) but
    keeps a value the user set, here a plugin's name."""
    import clustersim.cli as cli

    if preset is None:
        monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", preset)
    seen: list[str | None] = []
    monkeypatch.setattr(cli, "app", lambda: seen.append(os.environ.get("PYDANTIC_DISABLE_PLUGINS")))
    cli.main()
    assert seen == ["__all__" if preset is None else preset]
