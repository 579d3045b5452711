"""The timeline's basics: one labelled row per busy lane, time units, axes, saving, lazy import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clustersim.core.trace import Tracer
from clustersim.plot import plot_timeline, save_timeline
from tests.paths import REPO
from tests.plot.helpers import labels, legend

LABELS = ["n0/compute", "n0/comm", "links/n0->n1"]


def _tracer() -> Tracer:
    t = Tracer(enabled=True)
    t.span(("n0", "compute"), "matmul", "compute", 0.5e-3, 1.5e-3)
    t.span(("n0", "comm"), "allreduce", "comm", 1.5e-3, 2.5e-3)
    t.span(("links", "n0->n1"), "flow", "network", 1.6e-3, 2.4e-3)
    t.span(("n0", "compute"), "noop", "compute", 3e-3, 3e-3)
    t.instant(("n0", "compute"), "checkpoint", 2e-3)
    t.counter("active_flows", 1.6e-3, {"flows": 1})
    return t


def test_plot_has_one_labelled_row_per_lane() -> None:
    from matplotlib.figure import Figure

    fig = plot_timeline(_tracer(), title="unit")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert labels(fig) == LABELS
    assert "ms" in ax.get_xlabel()
    assert ax.get_title().splitlines()[0] == "unit"
    assert legend(fig) == [
        "compute: matmul",
        "compute: noop",
        "comm",
        "network",
        "instant: checkpoint",
    ]


@pytest.mark.parametrize(
    ("end", "unit"), [(2.0, "(s)"), (2e-3, "(ms)"), (2e-6, "(µs)"), (2e-9, "(ns)")]
)
def test_auto_time_unit(end: float, unit: str) -> None:
    t = Tracer(enabled=True)
    t.span(("a", "b"), "x", "c", 0.0, end)
    (ax,) = plot_timeline(t).axes
    assert ax.get_xlabel().endswith(unit)


def test_explicit_time_unit_and_bad_arguments() -> None:
    (ax,) = plot_timeline(_tracer(), time_unit="us").axes
    assert "µs" in ax.get_xlabel()
    with pytest.raises(ValueError, match="time_unit"):
        plot_timeline(_tracer(), time_unit="minutes")
    with pytest.raises(ValueError, match="max_lanes"):
        plot_timeline(_tracer(), max_lanes=0)
    with pytest.raises(ValueError, match="view"):
        plot_timeline(_tracer(), view="gantt")


def test_draws_into_given_axes() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    assert plot_timeline(_tracer(), ax=ax) is fig


def test_empty_tracer_plots() -> None:
    fig = plot_timeline(Tracer())
    assert labels(fig) == []
    assert fig.axes[0].texts[0].get_text() == "no trace events"


def test_save_timeline_writes_png(tmp_path) -> None:
    path = save_timeline(_tracer(), tmp_path / "sub" / "timeline.png")
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_import_is_lazy() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", "import sys, clustersim.plot; print('matplotlib' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    )
    assert out.stdout.strip() == "False"


def test_many_spans(tmp_path) -> None:
    t = Tracer(enabled=True)
    lanes = [(f"n{i}", k) for i in range(8) for k in ("compute", "comm")]
    for j in range(50_000):
        lane = lanes[j % len(lanes)]
        start = (j // len(lanes)) * 1e-5
        t.span(lane, "op", "compute" if lane[1] == "compute" else "comm", start, start + 8e-6)
    path = save_timeline(t, tmp_path / "big.png")
    assert path.stat().st_size > 0
