"""The ``clustersim`` command: run, validate and list scenarios.

Exit codes (docs/architecture.md §5): 0 ran and every check passed; 1 a verification check failed;
2 bad input, with a one-paragraph message on stderr and no traceback; 3 the simulation itself
failed (deadlock, event limit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from clustersim.errors import InputError, SimulationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Discrete-event simulator of ML clusters with analytic cost models.",
)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a scenario field before validation: --set workload.size=1GiB"
    ),
]


def _fail(code: int, message: str) -> None:
    typer.echo(f"clustersim: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="scenario YAML file")],
    set_: SetOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object only")] = False,
    trace: Annotated[Path | None, typer.Option(help="write a Chrome trace (Perfetto)")] = None,
    timeline: Annotated[Path | None, typer.Option(help="write a timeline PNG")] = None,
) -> None:
    """Run one scenario and print its metrics, analytic prediction and checks."""
    from clustersim.report import format_table
    from clustersim.scenario.loader import load_scenario
    from clustersim.scenario.runner import run_scenario

    try:
        scenario = load_scenario(file, set_ or [])
        output = scenario.model.output
        trace_path = trace or (Path(output.trace) if output.trace else None)
        timeline_path = timeline or (Path(output.timeline) if output.timeline else None)
        result = run_scenario(scenario, trace=bool(trace_path or timeline_path))
    except InputError as exc:
        _fail(2, str(exc))
    except SimulationError as exc:
        _fail(3, f"{file}: simulation failed: {exc}")
    written = []
    if trace_path:
        from clustersim.core.chrome_trace import write_chrome_trace

        written.append(
            write_chrome_trace(
                result.trace,
                trace_path,
                metadata={"scenario": result.scenario, "seed": result.seed},
            )
        )
    if timeline_path:
        from clustersim.plot.timeline import save_timeline

        written.append(save_timeline(result.trace, timeline_path, title=result.scenario))
    if json_out:
        sys.stdout.write(result.to_json() + "\n")
    else:
        typer.echo(format_table(result))
    for path in written:
        typer.echo(f"wrote {path}", err=json_out)
    raise typer.Exit(0 if result.passed else 1)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="scenario YAML file")],
    set_: SetOption = None,
) -> None:
    """Check a scenario (schema, presets, topology) without running it."""
    from clustersim.scenario.runner import check_scenario

    try:
        scenario, cluster = check_scenario(file, set_ or [])
    except InputError as exc:
        _fail(2, str(exc))
    typer.echo(
        f"{file}: ok: scenario {scenario.name!r}, workload {scenario.kind.name!r}, "
        f"{len(cluster.ranks)} devices, {cluster.graph.number_of_edges()} links"
    )


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="scenario YAML file")],
    grid: Annotated[
        list[str], typer.Option(help="a grid axis KEY=V1,V2,...; repeat for a cartesian product")
    ],
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option(help="rows to this .csv or .jsonl as they finish")
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="worker processes (default: all cores)")] = None,
) -> None:
    """Run a scenario over a grid of overrides, one row per point (CSV or JSONL)."""
    from clustersim.scenario.sweep import parse_grid, run_sweep

    def progress(done: int, total: int, row: dict) -> None:
        typer.echo(f"[{done}/{total}] point {row['index']} done in {row['wall_s']:.2f} s", err=True)

    all_passed = True
    try:
        for row in run_sweep(
            file, parse_grid(grid), base_overrides=set_ or [], out=out, jobs=jobs, progress=progress
        ):
            all_passed &= bool(row["checks_passed"])
            if out is None:
                typer.echo(json.dumps(row))
    except InputError as exc:
        _fail(2, str(exc))
    except SimulationError as exc:
        _fail(3, f"{file}: simulation failed: {exc}")
    raise typer.Exit(0 if all_passed else 1)


@app.command("list")
def list_() -> None:
    """List workload kinds (with algorithms and formulas), topologies and presets."""
    from clustersim.listing import listing

    typer.echo(listing())


def main() -> None:
    """Console-script entry point."""
    app()
