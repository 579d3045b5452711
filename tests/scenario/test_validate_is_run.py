"""``validate`` is the first half of ``run``: every input error ``run`` reports before it
simulates, ``validate`` reports too, with the same message (the kind's ``prepare`` step).

Each case here is a cross-field mistake that only the built cluster can reveal: a rank that does
not exist, more workers, stages or degree than devices, a collective that needs machines on a
flat topology, a replay too large for the memory limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app

runner = CliRunner()
SWITCH4 = {"topology": {"kind": "switch", "nodes": 4}, "device": "A100", "link": "100GbE"}
RING4 = {"topology": {"kind": "ring", "nodes": 4}, "device": "H100", "link": "NVLink4"}

CASES = {
    "collective rank not in the cluster": (
        RING4,
        {"kind": "collective", "op": "allreduce", "size": "1 MiB", "ranks": ["n0", "n7"]},
        ["workload.ranks", "'n7'"],
    ),
    "broadcast root beyond the ranks": (
        RING4,
        {"kind": "collective", "op": "broadcast", "size": "1 MiB", "root": 9},
        ["root"],
    ),
    "hierarchical all-reduce on a flat ring": (
        RING4,
        {"kind": "collective", "op": "allreduce", "size": "1 MiB", "algorithm": "hierarchical"},
        ["hierarchical"],
    ),
    "parameter server with more workers than devices": (
        SWITCH4,
        {"kind": "parameter_server", "workers": 8, "model_size": "1 MB", "compute": "1 ms"},
        ["workers"],
    ),
    "data parallel with more workers than devices": (
        SWITCH4,
        {"kind": "data_parallel", "workers": 9, "iterations": 2},
        ["workers"],
    ),
    "pipeline with more stages than devices": (
        SWITCH4,
        {
            "kind": "pipeline",
            "schedule": "gpipe",
            "stages": 8,
            "microbatches": 4,
            "profile": {
                "builtin": "transformer",
                "count": 8,
                "hidden": 256,
                "seq_len": 64,
                "heads": 4,
            },
        },
        ["devices"],
    ),
    "tensor parallel degree beyond the devices": (
        SWITCH4,
        {
            "kind": "tensor_parallel",
            "degree": 8,
            "batch": 1,
            "seq_len": 8,
            "hidden": 16,
            "heads": 8,
            "layers": 1,
        },
        ["degree"],
    ),
    "speculative draft on a device that does not exist": (
        SWITCH4,
        {"kind": "speculative_decoding", "method": "speculative", "draft_device": "n9"},
        ["workload.draft_device", "'n9'"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_reports_what_run_reports(tmp_path: Path, case: str) -> None:
    cluster, workload, words = CASES[case]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "cluster": cluster, "workload": workload}))
    checked = runner.invoke(app, ["validate", str(path)])
    ran = runner.invoke(app, ["run", str(path)])
    assert checked.exit_code == ran.exit_code == 2, (checked.output, ran.output)
    assert checked.stderr == ran.stderr
    assert "Traceback" not in checked.output + ran.output
    for word in words:
        assert word in checked.stderr, (word, checked.stderr)


def test_a_replay_over_the_memory_limit_is_found_by_validate(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    workload = {"kind": "collective", "op": "allreduce", "size": "64 MiB", "verify": True}
    path.write_text(yaml.safe_dump({"name": "t", "cluster": RING4, "workload": workload}))
    checked = runner.invoke(app, ["validate", str(path), "--max-memory", "16MiB"])
    ran = runner.invoke(app, ["run", str(path), "--max-memory", "16MiB"])
    assert checked.exit_code == ran.exit_code == 2, (checked.output, ran.output)
    assert checked.stderr == ran.stderr and "memory" in checked.stderr
