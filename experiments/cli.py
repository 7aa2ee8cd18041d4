"""The `concession` command.

Every command turns bad input (a `ConfigError`) into one clear line on stderr
and exit code 2, with nothing written; see `fail`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from environments.config import ConfigError

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
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def clean_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a `ConfigError` raised by a command into `fail`: exit 2, one line, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc))

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
        str | None, typer.Option(help="which of the spec's sizes to run: quick (default) or full")
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
    from experiments.runner import run_sweep
    from experiments.spec import load_spec

    spec_obj = load_spec(spec, size)
    summary = run_sweep(
        spec_obj,
        out,
        workers=workers,
        scheduler=scheduler,
        retry_failed=retry_failed,
        progress=progress,
        batch_runs=batch_runs,
    )
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


@app.command()
def scenarios() -> None:
    """List the built-in experiments, one line each (run one with `concession sweep NAME`)."""
    from experiments.spec import list_scenarios

    for name, description in list_scenarios().items():
        console.print(f"{name:26} {description}", highlight=False, soft_wrap=True)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point used by `python -m experiments.cli`."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
