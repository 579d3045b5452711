"""Progress and summary: a rich progress bar on stderr (points done, failed, ETA) when stderr
is a terminal, none when it is not; a summary table at the end either way."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from tests.paths import REPO
from tests.scenario.test_sweep_failures import PROBE_CLI, probe_file

GRID = ["--grid", "workload.fail=none,check", "--grid", "workload.value=1,2"]
GRID += ["--grid", "workload.sleep_s=0.15"]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_progress_bar_and_stdout_only_rows(tmp_path: Path) -> None:
    leader, follower = os.openpty()
    args = [*PROBE_CLI, "sweep", str(probe_file(tmp_path)), *GRID, "--jobs", "1"]
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen(
        args, cwd=REPO, stdout=subprocess.PIPE, stderr=follower, env=env, text=True
    )
    os.close(follower)
    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the sweep closed its end
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 1  # two points failed their check
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", errors="replace"))
    assert "━" in text and "ETA" in text  # rich's bar and its time remaining
    assert "4/4 points, 2 failed" in text
    assert "checks_failed" in text and "meaning" in text  # the summary table
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2, 3]


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    args = ["sweep", str(probe_file(tmp_path)), "--grid", "workload.fail=none,check"]
    result = CliRunner().invoke(app, [*args, "--jobs", "1"])
    assert result.exit_code == 1
    assert "━" not in result.stderr and "ETA" not in result.stderr
    assert "sweep of" in result.stderr and "| ok            |      1 |" in result.stderr
    assert 'point 1 (workload.fail="check"): checks_failed: failed checks' in result.stderr
