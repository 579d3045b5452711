"""The ``clustersim`` command: run, validate, sweep and list scenarios.

Exit codes (docs/architecture.md §5): 0 ran and every check passed; 1 a verification check failed;
2 bad input, with a one-paragraph message on stderr and no traceback; 3 the simulation itself
failed (deadlock, event limit); 70 an error inside clustersim itself (a bug: the message asks
for a report; 70 is ``EX_SOFTWARE`` of BSD's sysexits.h); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from clustersim.errors import InputError, SimulationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no "<bool>" type tags on flags
    help="Discrete-event simulator of ML clusters with analytic cost models.",
)

EXIT_INTERNAL = 70
"""An unexpected exception: clustersim's fault, never the user's (BSD sysexits EX_SOFTWARE)."""

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a scenario field before validation: --set workload.size=1GiB",
    ),
]
FileArgument = Annotated[Path, typer.Argument(metavar="FILE", help="scenario YAML file")]
MaxEvents = Annotated[
    int | None,
    typer.Option(
        "--max-events",
        metavar="N",
        help="refuse a run estimated above N simulation events (default 10,000,000, or "
        "CLUSTERSIM_MAX_EVENTS)",
    ),
]
MaxMemory = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        metavar="SIZE",
        help="refuse a numeric replay estimated above SIZE, e.g. 8GiB (default half the "
        "available memory, or CLUSTERSIM_MAX_MEMORY)",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def _fail(code: int, message: str) -> None:
    typer.echo(f"clustersim: {message}", err=True)
    raise typer.Exit(code)


def _guarded(command: F) -> F:
    """Map clustersim's errors to exit codes, and anything else to a one-line bug report."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except InputError as exc:
            _fail(2, str(exc))
        except SimulationError as exc:
            _fail(3, f"simulation failed: {exc}")
        except KeyboardInterrupt:
            _fail(130, "interrupted")
        except Exception as exc:  # a bug in clustersim: say so in one line, with its own code
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            at = (
                f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}"
                if where
                else ""
            )
            _fail(
                EXIT_INTERNAL,
                f"internal error{at}: {type(exc).__name__}: {exc}. This is a bug in clustersim, "
                "not in your input: please report it with the scenario file and the command.",
            )

    return wrapper  # type: ignore[return-value]


def _progress_line() -> Callable[[int, float], None]:
    """A progress indicator for a long run: one line on stderr, rewritten in place."""
    import time

    started = time.perf_counter()

    def show(events: int, simulated: float) -> None:
        elapsed = time.perf_counter() - started
        if elapsed > 2.0:
            typer.echo(
                f"\r  {events:,} events, simulated t = {simulated:.6g} s, {elapsed:.0f} s",
                err=True,
                nl=False,
            )

    return show


@app.command()
@_guarded
def run(
    file: FileArgument,
    set_: SetOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object only")] = False,
    trace: Annotated[
        Path | None, typer.Option(metavar="PATH", help="write a Chrome trace (.json, Perfetto)")
    ] = None,
    timeline: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="write a timeline picture (.png, .pdf or .svg)"),
    ] = None,
    max_events: MaxEvents = None,
    max_memory: MaxMemory = None,
) -> None:
    """Run one scenario and print its metrics, analytic prediction and checks."""
    from clustersim.report import format_table
    from clustersim.scenario.limits import RunLimits
    from clustersim.scenario.loader import load_scenario
    from clustersim.scenario.outputs import resolve_outputs
    from clustersim.scenario.runner import run_scenario

    limits = RunLimits.from_environment(max_events, max_memory)
    scenario = load_scenario(file, set_ or [])
    outputs = resolve_outputs(
        scenario.model.output, trace=trace, timeline=timeline, source=str(file)
    )
    progress = _progress_line() if sys.stderr.isatty() else None
    result = run_scenario(scenario, trace=outputs.traced, limits=limits, progress=progress)
    if progress is not None:
        typer.echo("\r\x1b[2K", err=True, nl=False)  # clear the progress line
    # The result first: whatever happens to the files below, the numbers are not lost.
    if json_out:
        sys.stdout.write(result.to_json() + "\n")
    else:
        typer.echo(format_table(result))
    written = []
    try:
        if outputs.json:
            outputs.json.parent.mkdir(parents=True, exist_ok=True)
            outputs.json.write_text(result.to_json(indent=1) + "\n", encoding="utf-8")
            written.append(outputs.json)
        if outputs.trace:
            from clustersim.core.chrome_trace import write_chrome_trace

            metadata = {"scenario": result.scenario, "seed": result.seed}
            written.append(write_chrome_trace(result.trace, outputs.trace, metadata=metadata))
        if outputs.timeline:
            from clustersim.plot.timeline import save_timeline

            written.append(save_timeline(result.trace, outputs.timeline, title=result.scenario))
    except OSError as exc:
        _fail(2, f"{file}: the run finished but an output could not be written: {exc}")
    for path in written:
        typer.echo(f"wrote {path}", err=json_out)
    raise typer.Exit(0 if result.passed else 1)


@app.command()
@_guarded
def validate(
    file: FileArgument,
    set_: SetOption = None,
    max_events: MaxEvents = None,
    max_memory: MaxMemory = None,
) -> None:
    """Check a scenario without running it: everything run checks before simulating."""
    from clustersim.scenario.limits import RunLimits
    from clustersim.scenario.outputs import resolve_outputs
    from clustersim.scenario.runner import check_scenario

    limits = RunLimits.from_environment(max_events, max_memory)
    scenario, cluster = check_scenario(file, set_ or [], limits=limits)
    resolve_outputs(scenario.model.output, source=str(file))
    typer.echo(
        f"{file}: ok: scenario {scenario.name!r}, workload {scenario.kind.name!r}, "
        f"{len(cluster.ranks)} devices, {cluster.graph.number_of_edges()} links"
    )


@app.command()
@_guarded
def sweep(
    file: FileArgument,
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
    for row in run_sweep(
        file, parse_grid(grid), base_overrides=set_ or [], out=out, jobs=jobs, progress=progress
    ):
        all_passed &= bool(row["checks_passed"]) and row.get("expectations_met", True)
        if out is None:
            typer.echo(json.dumps(row))
    raise typer.Exit(0 if all_passed else 1)


@app.command("list")
@_guarded
def list_() -> None:
    """List workload kinds (with algorithms and formulas), topologies and presets."""
    from clustersim.listing import listing

    typer.echo(listing())


def main() -> None:
    """Console-script entry point."""
    app()
