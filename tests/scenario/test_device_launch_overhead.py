"""A scenario's device takes ``launch_overhead`` (seconds per kernel, with units): the preset's by
default, ``5 us`` to set it, ``0`` to turn it off, per node too; bad values exit 2 naming the
field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import clustersim
from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario

SCENARIO = """\
name: launch
description: four H100s and a small MLP
cluster:
  topology: {kind: switch, nodes: 4}
  device: DEVICE
  link: {bandwidth: 100 Gbps, latency: 5 us}
  devices: {n3: {preset: A100, launch_overhead: 2 us}}
workload: {kind: data_parallel, workers: 4, iterations: 3}
"""


def _spec(device: str) -> str:
    return SCENARIO.replace("DEVICE", device)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "launch.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("device", "seconds"),
    [
        ("H100", 5e-6),  # the preset's
        ("{preset: H100, launch_overhead: 12 us}", 12e-6),
        ("{preset: H100, launch_overhead: 0}", 0.0),
        ("{peak_flops: 1 TFLOPS, mem_bandwidth: 1 TB/s, memory: 1 GiB}", 0.0),  # by numbers
        (
            "{peak_flops: 1 TFLOPS, mem_bandwidth: 1 TB/s, memory: 1 GiB, launch_overhead: 3e-6}",
            3e-6,
        ),
    ],
)
def test_the_inline_field_reaches_the_device(tmp_path: Path, device: str, seconds: float) -> None:
    _, cluster = check_scenario(_write(tmp_path, _spec(device)))
    assert [cluster.devices[n].spec.launch_overhead for n in ("n0", "n1", "n2")] == [seconds] * 3
    assert cluster.devices["n3"].spec.launch_overhead == 2e-6  # the per-node override


def test_zero_turns_it_off_in_the_run(tmp_path: Path) -> None:
    """The MLP's forward, backward and update are 7 kernels: off, the compute is the roofline's
    tens of nanoseconds; on, exactly 7 x 5 us more."""
    alike = "  devices: {n3: {preset: A100, launch_overhead: 2 us}}\n"
    off = clustersim.run(
        _write(tmp_path, _spec("{preset: H100, launch_overhead: 0}").replace(alike, ""))
    )
    on = clustersim.run(_write(tmp_path, _spec("H100").replace(alike, "")))
    assert off.metrics["compute_s"] < 1e-7
    assert on.metrics["compute_s"] - off.metrics["compute_s"] == pytest.approx(35e-6, rel=1e-9)
    assert on.metrics["compute_s"] == pytest.approx(on.analytic["compute_s"], rel=1e-12)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("-1 us", ["cluster.device.launch_overhead", "finite time >= 0 per kernel", "-1e-06"]),
        ("5 parsecs", ["cluster.device.launch_overhead", "not a time", "unknown unit"]),
        (".nan", ["cluster.device.launch_overhead"]),
    ],
)
def test_a_bad_value_exits_2_naming_the_field(tmp_path: Path, value: str, words: list[str]) -> None:
    path = _write(tmp_path, _spec(f"{{preset: H100, launch_overhead: {value}}}"))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.output
    with pytest.raises(InputError):
        check_scenario(path)


def test_set_refines_a_preset_given_by_name(tmp_path: Path) -> None:
    """``--set cluster.device.launch_overhead=0`` on ``device: H100`` keeps the preset and
    changes the one field (the name is read as ``{preset: H100}``), per node too."""
    path = _write(tmp_path, _spec("H100"))
    _, cluster = check_scenario(
        path, ["cluster.device.launch_overhead=0", "cluster.devices.n3.launch_overhead=1 us"]
    )
    assert cluster.devices["n0"].spec.name == "H100"
    assert cluster.devices["n0"].spec.launch_overhead == 0.0
    assert cluster.devices["n3"].spec.launch_overhead == 1e-6
    with pytest.raises(InputError, match="is a value, not a mapping"):
        check_scenario(path, ["name.first=x"])  # any other value is still not a mapping
