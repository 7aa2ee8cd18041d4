"""The `concession` command.

Every command turns bad input (a `ConfigError`) into one clear line on stderr
and exit code 2, with nothing written; see `fail`.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    name="concession",
    help="Negotiator agents play repeated concession games on a referral network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Tables stay readable when the output is a file or a pipe, not a terminal.
console = Console(width=None if Console().is_terminal else 120)
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Negotiator agents play repeated concession games on a referral network."""


def fail(message: str, code: int = 2) -> None:
    """Print one line naming what is wrong and exit (2: bad input)."""
    # Escaped: a message holding "[base]" or "[0, 1]" must not be read as Rich markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM and SIGHUP (a scheduler's kill, a closed terminal) like Ctrl-C.

    The sweep then stops as it does on Ctrl-C: its workers are stopped and its
    manifest says it was interrupted; without this, the process would just vanish.
    """

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def clean_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a `ConfigError` raised by a command into `fail`: exit 2, one line, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            # Imported only now: pydantic takes 0.1 s to import, and `sweep` starts its workers
            # before anything else.
            from environments.config import ConfigError

            if isinstance(exc, ConfigError):
                fail(str(exc))
            raise

    return wrapper


@app.command()
@clean_errors
def run(
    config: Annotated[Path, typer.Argument(help="a model configuration (TOML)")],
    steps: Annotated[int | None, typer.Option(help="steps to run (default: the file's)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed (default: the file's)")] = None,
    out: Annotated[Path | None, typer.Option(help="write Parquet tables and run.json here")] = None,
) -> None:
    """Run one model and print payoff per deal by strategy, cooperation and walk-aways."""
    from experiments.single import run_single

    result = run_single(config, steps=steps, seed=seed, out=out)
    print_run_summary(result.model)
    if out is not None:
        console.print(f"wrote {out}/steps.parquet, strategies.parquet, agents.parquet, run.json")


def print_run_summary(model: Any) -> None:
    """A table of the headline figures of one run, by strategy."""
    totals = model.totals_by_strategy()
    table = Table(title=f"{model.steps} steps, {model.n} negotiators, seed {model.seed}")
    for col in (
        "strategy",
        "negotiators",
        "payoff/deal",
        "gives/deal",
        "reciprocated",
        "walk-aways",
        "wealth",
    ):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for row in totals.iter_rows(named=True):
        table.add_row(
            row["strategy"],
            str(row["negotiators"]),
            _fmt(row["payoff_per_deal"], ".3f"),
            _fmt(row["gives_per_deal"], ".3f"),
            _fmt(row["reciprocation_rate"], ".1%"),
            _fmt(row["walk_rate"], ".1%"),
            _fmt(row["wealth_mean"], ".2f"),
        )
    console.print(table)
    out = model.outcomes()
    console.print(
        f"cooperation rate {_fmt(out['cooperation_rate'], '.1%')}, "
        f"walk-away rate {_fmt(out['walk_rate'], '.1%')}, {int(out['deals'])} deals"
    )


def _fmt(value: float | None, spec: str) -> str:
    """A number for a table; '-' where it is undefined (no deals, no gives)."""
    if value is None or value != value:
        return "-"
    return format(value, spec)


@app.command()
@clean_errors
def sweep(
    spec: Annotated[
        str,
        typer.Argument(
            metavar="SPEC_OR_SCENARIO",
            help="an experiment file (TOML) or a built-in scenario's name",
        ),
    ],
    out: Annotated[Path, typer.Option(help="the results folder (resumed if it holds this spec)")],
    workers: Annotated[
        int | None,
        typer.Option(help="local worker processes (default: the cores; 0: this process)"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="run on a Dask cluster: the scheduler's address (tcp://host:8786)"),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            help="which of the spec's sizes to run: quick (default), full, or base (as written)"
        ),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="run failed runs again")
    ] = False,
    batch_runs: Annotated[
        int | None,
        typer.Option(help="runs per task (default: batches of about two seconds)", min=1),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Run a sweep: every point x replicate x pair of SPEC, into Parquet tables in --out."""
    from experiments.workers import LocalPool, default_workers

    # Local workers take a second or more to import Mesa and the model: they start first, and
    # import while this process reads the spec and the results folder. Not for a folder that
    # holds a finished sweep: there is most likely nothing to run (if there is, run_sweep starts
    # them then).
    n_workers = default_workers() if workers is None else workers
    early = scheduler is None and n_workers > 0 and (retry_failed or not _finished(out))
    pool = LocalPool(n_workers) if early else None
    try:
        from experiments.runner import run_sweep
        from experiments.spec import load_spec

        # On a Dask cluster the runs must fit the workers' memory, not this machine's (run_sweep
        # checks).
        spec_obj = load_spec(spec, size, check_memory=scheduler is None)
        with _stop_on_sigterm():
            summary = run_sweep(
                spec_obj,
                out,
                workers=workers,
                scheduler=scheduler,
                retry_failed=retry_failed,
                progress=progress,
                batch_runs=batch_runs,
                pool=pool,
            )
    except KeyboardInterrupt:
        fail(
            f"interrupted; every finished run is kept in {out}: run the same command again "
            "to resume",
            code=130,
        )
    finally:
        if pool is not None:
            pool.close(cancel=True)  # if run_sweep never had them (a bad spec): stop them now
    for note in summary.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    console.print(
        f"{spec_obj.name}: {summary.planned} runs planned, {summary.skipped} already done, "
        f"{summary.ran} run now ({summary.backend}, {summary.seconds:.1f} s); "
        f"{summary.ok} ok, {summary.failed} failed",
        highlight=False,
    )
    for row in summary.failures[:5]:
        console.print(
            f"  failed: run {row['run_id']} (point {row['point']}, replicate {row['replicate']}, "
            f"pair {row['pair']}): {row['error']}",
            highlight=False,
            soft_wrap=True,
        )
    if len(summary.failures) > 5:
        console.print(
            f"  ... and {len(summary.failures) - 5} more (see the runs table's error column)"
        )
    console.print(f"tables: {out}/runs.parquet, steps.parquet, strategies.parquet, agents.parquet")
    if summary.failed:
        console.print("rerun the same command with --retry-failed to run the failed runs again")
    raise typer.Exit(summary.exit_code)


def _finished(out: Path) -> bool:
    """Whether the results folder `out` says it holds a finished sweep (its manifest)."""
    # `ResultsFolder.manifest()` reads the same file, but importing the store (polars) here
    # would delay starting the workers, which is what this check is for.
    try:
        return json.loads((out / "manifest.json").read_text()).get("status") == "complete"
    except (OSError, ValueError, AttributeError):
        return False


@app.command()
@clean_errors
def report(
    results: Annotated[
        Path, typer.Argument(metavar="RESULTS_DIR", help="a results folder (a sweep's --out)")
    ],
    snapshot: Annotated[
        bool, typer.Option(help="draw a network snapshot (replays one or two runs)")
    ] = True,
) -> None:
    """Write RESULTS_DIR/report.html (figures and tables in one page) and the figures as PNG and SVG."""
    from analysis.report import build_report
    from analysis.summary import load_results

    path = build_report(results, snapshot=snapshot)
    counts = load_results(results).counts
    state = f"{counts.ok} runs, {counts.failed} failed"
    if counts.missing:
        state += f", {counts.missing} of {counts.planned} not run yet (an unfinished sweep)"
    console.print(f"report of {state}; figures in {path.parent / 'figures'}", highlight=False)
    console.print(str(path.resolve()), highlight=False, soft_wrap=True)


@app.command()
def scenarios() -> None:
    """List the built-in experiments, one line each (run one with `concession sweep NAME`)."""
    from experiments.spec import list_scenarios

    for name, description in list_scenarios().items():
        console.print(f"{name:26} {description}", highlight=False, soft_wrap=True)


@app.command()
@clean_errors
def dashboard(
    port: Annotated[int, typer.Option(help="port to serve on", min=1, max=65535)] = 8765,
    host: Annotated[
        str, typer.Option(help="address to bind (0.0.0.0: reachable from other machines)")
    ] = "127.0.0.1",
) -> None:
    """Start the classroom dashboard (Solara) in the browser; Ctrl-C stops it (docs/classroom.md)."""
    import importlib.util

    # Solara comes with the optional `viz` extra; nothing else imports it.
    if importlib.util.find_spec("solara") is None:
        fail("the dashboard needs the viz extra: pip install -e '.[viz]' (make install does it)")
    if not host.strip():
        fail("--host is empty; give an address such as 127.0.0.1")
    from analysis.dashboard import serve

    try:
        serve(host=host.strip(), port=port)
    except OSError as exc:
        fail(f"could not start the dashboard server: {exc}", code=1)


@app.command()
@clean_errors
def validate(
    quick: Annotated[
        bool, typer.Option("--quick", help="the reduced form CI runs (the default): minutes")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="every point and replicate: 7 to 20 minutes on 2 cores")
    ] = False,
    out: Annotated[
        Path, typer.Option(help="folder for the table (Markdown, CSV, JSON) and the figures")
    ] = Path("validation"),
    only: Annotated[
        str | None,
        typer.Option(help="comma-separated parts: exact, axelrod, direct, network, indirect"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="worker processes (default: the cores; 0: this process)", min=0),
    ] = None,
    seed: Annotated[int, typer.Option(help="root seed of every replicate", min=0)] = 2006,
) -> None:
    """Reproduce classic results of reciprocity research: theory against measured (docs/validation.md)."""
    import importlib.util

    from analysis import validation

    if quick and full:
        fail("--quick and --full exclude each other; give one of them")
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file; give a folder")
    parts = validation.parse_parts(only)
    if "axelrod" in parts and importlib.util.find_spec("axelrod") is None:
        fail(
            "the Axelrod cross-check needs the dev extra (pip install -e '.[dev]'); "
            "or leave it out with --only"
        )
    size = validation.FULL if full else validation.QUICK

    def progress(part: str, rows: list, seconds: float) -> None:
        ok = sum(r.ok for r in rows)
        console.print(f"{part}: {ok} of {len(rows)} within tolerance ({seconds:.1f} s)")

    rows, seconds = validation.run_validation(parts, size, seed, workers, on_part=progress)
    table = Table(title=f"validation ({size.name}, seed {seed})", show_lines=True)
    for col in ("result", "setup", "theory", "measured", "within tolerance?"):
        table.add_column(col)
    for r in rows:
        cells = (escape(x) for x in (r.result, r.setup, r.theory, r.measured))
        table.add_row(*cells, "yes" if r.ok else "[bold red]no[/]")
    console.print(table)
    validation.write_outputs(rows, out, size=size, seed=seed, seconds=seconds)
    bad = sum(not r.ok for r in rows)
    console.print(
        f"{len(rows) - bad} of {len(rows)} within tolerance in {sum(seconds.values()):.0f} s; "
        f"table and figures in {out}/",
        highlight=False,
    )
    raise typer.Exit(1 if bad else 0)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point used by `python -m experiments.cli`."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
