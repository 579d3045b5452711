"""Sweeps under signals: Ctrl-C (SIGINT to the process group, as a terminal sends it) and
SIGTERM stop a sweep with 2 workers at once, keeping every finished row; SIGKILL of the main
process leaves no worker behind either (they watch their parent).

The points still running when the signal comes spin for a minute holding the CPU and the
GIL, so a sweep that waited for them, or a worker that missed its parent's death, would show.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from clustersim.scenario.sweep_store import read_journal
from tests.paths import REPO
from tests.scenario.test_sweep_failures import PROBE_CLI, probe_file

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def descendants(pid: int) -> list[int]:
    """Live (not zombie) processes below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                state, parent = handle.read().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if state != "Z":
            children.setdefault(int(parent), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def alive(pids: list[int]) -> list[int]:
    """The ``pids`` still running (zombies count as gone)."""
    running = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] != "Z":
                    running.append(pid)
        except OSError:
            pass
    return running


def _interruptible() -> None:
    """In the child before it runs the sweep: SIGINT at its default, as a terminal's
    foreground job has it. A test run started in the background of a non-interactive shell
    (``pytest &``, a CI runner) inherits SIGINT ignored (POSIX, Shell Command Language
    §2.11: asynchronous lists ignore SIGINT), Python then leaves it ignored, and the sweep would
    rightly ignore Ctrl-C too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_and_signal(
    args: list[str], journal: Path, rows: int, how: signal.Signals
) -> tuple[int, str, list[int]]:
    """Start a sweep in its own session, wait for ``rows`` rows and for its workers, send
    ``how`` (SIGINT to the whole process group); (exit code, stderr, its processes)."""
    log = journal.with_name("stderr.txt")  # a file: a pipe would wait for every holder
    with log.open("w") as stderr:
        process = subprocess.Popen(
            args, cwd=REPO, start_new_session=True, stderr=stderr, preexec_fn=_interruptible
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= rows:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # the long points are running now
    workers = descendants(process.pid)
    assert process.poll() is None and workers, "the sweep ended before the signal"
    if how == signal.SIGINT:
        os.killpg(process.pid, how)
    else:
        process.send_signal(how)
    try:
        code = process.wait(30)  # the spinning points need a minute: waiting for them fails
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return code, log.read_text(), workers


def wait_gone(pids: list[int], seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


@pytest.mark.parametrize(
    ("how", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)]
)
def test_a_signal_stops_the_sweep_keeps_its_rows_and_its_workers(
    tmp_path: Path, how: signal.Signals, code: int
) -> None:
    out = tmp_path / "rows.jsonl"
    args = [*PROBE_CLI, "sweep", str(probe_file(tmp_path)), "--out", str(out), "--jobs", "2"]
    args += ["--grid", "workload.busy_s=0,0.01,60,61"]
    returncode, stderr, workers = start_and_signal(args, out, 2, how)
    survivors = wait_gone(workers)
    for pid in survivors:  # do not leave them spinning when the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], "a worker outlived its sweep"
    assert returncode == code, stderr
    rows, _ = read_journal(out)
    assert sorted(r["index"] for r in rows) == [0, 1]
    if how != signal.SIGKILL:
        assert "not run" in stderr and "--resume runs the rest" in stderr
