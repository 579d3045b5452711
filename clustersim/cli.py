"""The ``clustersim`` command: run, validate, sweep, plot and list scenarios.

Exit codes (docs/architecture.md §5): 0 ran and every check passed; 1 a verification check failed;
2 bad input, with a one-paragraph message on stderr and no traceback; 3 the simulation itself
failed (deadlock, event limit); 70 an error inside clustersim itself (a bug: the message asks
for a report; 70 is ``EX_SOFTWARE`` of BSD's sysexits.h); 130 interrupted (Ctrl-C); 143 a
sweep stopped by SIGTERM (128 + 15, the shells' convention).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.core

from clustersim.errors import InputError, SimulationError


class _PlainArgument(typer.core.TyperArgument):
    """A positional argument shown by its metavar alone, as POSIX usage lines have it.

    Typer 0.2x writes a required argument as ``{FILE}`` in the usage line and as
    ``FILE <path> ... [required]`` in the argument list (``TyperArgument._usage_display_name``
    and ``get_help_record`` in ``typer/core.py``). Here: ``FILE`` (``[FILE]`` when optional,
    ``FILE...`` when repeated) and ``FILE  <help>``; a bare name in the usage line already says
    that it is required.
    """

    def _plain_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        return f"{name}..." if self.nargs != 1 else name

    def get_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [self._plain_name() if self.required else f"[{self._plain_name()}]"]

    def get_help_record(self, ctx: typer.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        text = record[1].removesuffix("  [required]") if self.required else record[1]
        return self._plain_name(), text


class _PlainCommand(typer.core.TyperCommand):
    """A Typer command whose positional arguments are :class:`_PlainArgument`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is typer.core.TyperArgument:
                param.__class__ = _PlainArgument  # same state, plainer help


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


@app.command(cls=_PlainCommand)
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
    lanes: Annotated[
        str | None,
        typer.Option(
            metavar="PATTERN",
            help="the timeline's lanes: comma-separated globs or regular expressions over "
            "'node/stream' and 'links/a->b' ('n0,links/*', 're:^n1[0-5]/'); a name alone "
            "selects a node's streams and links",
        ),
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
    if lanes is not None:
        from clustersim.plot.timeline import check_lane_patterns

        if not outputs.timeline:
            _fail(2, f"{file}: --lanes chooses the lanes of a timeline: add --timeline PATH")
        check_lane_patterns(lanes)
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

            written.append(
                save_timeline(result.trace, outputs.timeline, title=result.scenario, lanes=lanes)
            )
    except OSError as exc:
        _fail(2, f"{file}: the run finished but an output could not be written: {exc}")
    for path in written:
        typer.echo(f"wrote {path}", err=json_out)
    raise typer.Exit(0 if result.passed else 1)


def _one_blas_thread() -> None:
    """Before numpy is first imported: one OpenBLAS thread for a command that does no linear
    algebra. Importing numpy (its wheels link OpenBLAS) otherwise starts a BLAS thread per core:
    on the 2-vCPU VM about 0.1 s of the CPU time and 30 ms of the wall time of ``clustersim
    validate`` (issue 9, ``benchmarks/engine.py startup``). A value the user set is kept, and a
    process that has numpy already (a test calling the CLI in-process) is left alone, so
    nothing leaks into a later run."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@app.command(cls=_PlainCommand)
@_guarded
def validate(
    file: FileArgument,
    set_: SetOption = None,
    max_events: MaxEvents = None,
    max_memory: MaxMemory = None,
) -> None:
    """Check a scenario without running it: everything run checks before simulating."""
    _one_blas_thread()
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


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that a sweep stops as cleanly as on Ctrl-C."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated


def _sweep_progress(total: int, skipped: int) -> Any:
    """A rich progress bar on stderr (points done, failed, elapsed, ETA), or None when stderr
    is not a terminal."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("points, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn(f"({skipped} already done)" if skipped else ""),
        console=Console(stderr=True),
        redirect_stdout=False,  # rows on stdout stay on stdout, not above the bar
        redirect_stderr=False,
    )
    progress.add_task("sweep", total=total, failed=0)
    return progress


_STATUS_MEANING = {
    "ok": "every check passed, every expectation met",
    "checks_failed": "a check failed or an expectation was missed",
    "sim_failed": "the simulation failed (deadlock, event limit)",
    "error": "an unexpected error in clustersim (a bug)",
    "lost": "its worker process died on every attempt",
}


def _sweep_summary(run: Any, elapsed: float, stopped: str | None) -> None:
    """The final table on stderr: rows per status, what was skipped or not run, the outputs,
    and the first failed points with their errors."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from clustersim.scenario.sweep_point import point_label

    console = Console(stderr=True, highlight=False)
    console.print(f"sweep of {run.source}: {len(run.points)} points, {elapsed:.1f} s")
    table = Table(box=box.SIMPLE if console.is_terminal else box.ASCII)
    table.add_column("status")
    table.add_column("points", justify="right")
    table.add_column("meaning")
    for status, count in run.status_counts().items():
        if count:
            table.add_row(status, str(count), _STATUS_MEANING[status])
    if run.skipped:
        table.add_row("(resumed)", str(run.skipped), "of the rows above were in --out already")
    if run.not_run:
        table.add_row("not run", str(run.not_run), stopped or "")
    console.print(table)
    failed = sorted((r for r in run.finished if r["status"] != "ok"), key=lambda r: r["index"])
    by_index = {p.index: p for p in run.points}
    for row in failed[:5]:
        console.print(
            f"  point {row['index']} ({point_label(by_index[row['index']].values)}): "
            f"{row['status']}: {row.get('error', '')}",
            soft_wrap=True,
        )
    if len(failed) > 5:
        console.print(f"  ... and {len(failed) - 5} more: see the rows' status and error columns")
    if run.output is not None:
        console.print("rows: " + ", ".join(str(p) for p in run.output.paths))


@app.command(cls=_PlainCommand)
@_guarded
def sweep(
    file: FileArgument,
    grid: Annotated[
        list[str],
        typer.Option(
            metavar="KEY=V1,V2,...", help="a grid axis; repeat it for a cartesian product"
        ),
    ],
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="rows to this .csv (with its .jsonl journal beside it) or .jsonl, as they "
            "finish; without it, rows go to stdout as JSON lines",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(metavar="N", help="worker processes (default: all cores; 1: in this process)"),
    ] = None,
    scheduler: Annotated[
        str,
        typer.Option(
            metavar="local|dask|tcp://HOST:PORT",
            help="where points run: a local process pool, a Dask LocalCluster of --jobs "
            "workers, or a running Dask scheduler (pip install -e '.[dask]')",
        ),
    ] = "local",
    resume: Annotated[
        bool, typer.Option("--resume", help="keep the rows already in --out, run the rest")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace an existing --out")
    ] = False,
    retries: Annotated[
        int, typer.Option(metavar="N", help="more attempts for a point whose worker process died")
    ] = 2,
    max_events: MaxEvents = None,
    max_memory: MaxMemory = None,
) -> None:
    """Run a scenario over a grid of overrides, one row per point (CSV or JSONL).

    Every point is validated first (as validate does); a point that fails while it runs is a
    row with its status and error. Exit 0 all ran and passed, 1 a check or expectation failed,
    3 a point failed to simulate, 130 interrupted (143 on SIGTERM): the finished rows are kept.
    """
    import signal
    import threading
    import time

    from clustersim.scenario.limits import RunLimits
    from clustersim.scenario.sweep import parse_grid, run_sweep

    started = time.perf_counter()
    limits = RunLimits.from_environment(max_events, max_memory)
    stopped = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    progress = None
    run = None
    try:
        run = run_sweep(
            file,
            parse_grid(grid),
            base_overrides=set_ or [],
            out=out,
            jobs=jobs,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
            limits=limits,
            retries=retries,
        )
        progress = _sweep_progress(len(run.todo), run.skipped)
        with run:
            if progress is not None:
                progress.start()
            failed = 0
            for row in run:
                failed += row["status"] != "ok"
                if out is None:
                    sys.stdout.write(json.dumps(row) + "\n")
                    sys.stdout.flush()
                if progress is not None:
                    progress.update(progress.task_ids[0], advance=1, failed=failed)
    except _Terminated:
        stopped = "terminated by SIGTERM"
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        if progress is not None:
            progress.stop()
    code = {None: 0, "interrupted": 130, "terminated by SIGTERM": 143}[stopped]
    if run is None:  # stopped while the points were being validated
        _fail(code, stopped or "stopped")
    _sweep_summary(run, time.perf_counter() - started, stopped)
    code = code or run.exit_code()
    messages = {
        1: "some points ran but failed a check or missed an expectation",
        3: "some points failed to simulate",
        130: "interrupted: the finished rows are kept; --resume runs the rest",
        143: "terminated: the finished rows are kept; --resume runs the rest",
    }
    if code:
        typer.echo(f"clustersim: sweep exit {code}: {messages[code]}", err=True)
    raise typer.Exit(code)


@app.command(cls=_PlainCommand)
@_guarded
def plot(
    rows: Annotated[Path, typer.Argument(metavar="ROWS", help="a sweep's rows (.csv or .jsonl)")],
    x: Annotated[str, typer.Option("--x", metavar="KEY", help="column on the x axis")],
    y: Annotated[str, typer.Option("--y", metavar="KEY", help="column on the y axis")],
    hue: Annotated[
        str | None, typer.Option(metavar="KEY", help="one series (colour) per value of KEY")
    ] = None,
    analytic: Annotated[
        bool,
        typer.Option("--analytic", help="draw analytic_<y> as a line where the rows have one"),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(metavar="PNG", help="picture to write (.png, .pdf, .svg; default ROWS.png)"),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="keep only the rows where KEY is VALUE"),
    ] = None,
    logx: Annotated[bool, typer.Option("--logx", help="logarithmic x axis")] = False,
    logy: Annotated[bool, typer.Option("--logy", help="logarithmic y axis")] = False,
    title: Annotated[str | None, typer.Option(metavar="TEXT", help="the figure's title")] = None,
) -> None:
    """Draw a sweep's rows: y against x, simulated as points, analytic as lines."""
    from clustersim.plot.sweep import save_sweep_plot
    from clustersim.scenario.loader import parse_override
    from clustersim.scenario.sweep_store import read_rows

    table = read_rows(rows)
    filters = [parse_override(item) for item in where or []]
    target = out or rows.with_suffix(".png")
    written = save_sweep_plot(
        table,
        target,
        x=x,
        y=y,
        hue=hue,
        analytic=analytic,
        where=filters,
        logx=logx,
        logy=logy,
        title=title or f"{y} against {x} ({rows.name})",
    )
    typer.echo(f"wrote {written}")


@app.command("list", cls=_PlainCommand)
@_guarded
def list_() -> None:
    """List workload kinds (with algorithms and formulas), topologies and presets."""
    from clustersim.listing import listing

    typer.echo(listing())


def main() -> None:
    """Console-script entry point.

    Pydantic plugins are switched off for the command's process (unless the user set
    ``PYDANTIC_DISABLE_PLUGINS`` themselves): finding them scans every installed package's
    entry points, about 28 ms of a 0.3 s ``validate``, and a plugin has nothing to observe in a
    scenario's schema. Typer does the same around its own argument adapters
    (``typer._adapters.try_build_adapter``); the variable is pydantic's own switch (added in
    pydantic/pydantic#8767, read by ``pydantic.plugin._loader.get_plugins``).
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    app()
