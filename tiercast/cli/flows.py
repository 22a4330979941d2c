"""`tiercast run nightly|training`: run a flow now, the way the schedule would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from tiercast.cli import state
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date

EXIT_FLOW_FAILED = 1
NIGHTLY_UNCHANGED = (
    "nothing is switched before the publish step succeeds (`tiercast publish list` shows what is live); "
    "a rerun for the same date replaces that date's outputs"
)
TRAINING_UNCHANGED = "`tiercast model list` shows the champion the nightly run will use"

T = TypeVar("T")

run_app = typer.Typer(
    help=(
        "Run a Prefect flow now (the same flow the schedule runs): [bold]nightly[/bold] or [bold]training[/bold]. "
        f"Exit code {EXIT_FLOW_FAILED} when the flow fails: the last lines say what failed and what is still live."
    ),
    no_args_is_help=True,
)


@run_app.command("nightly")
def run_nightly(
    ctx: typer.Context,
    as_of: AsOf = None,
    data: DataDir = None,
    database_url: Annotated[
        str | None, typer.Option("--url", help="Publish to this database URL instead of settings.publish.")
    ] = None,
    mapping: MappingFile = None,
) -> None:
    """Validate, build features, tiers and stages per shard, score with the champion, publish atomically.

    Prints the run summary (also stored as a Prefect artifact) and where the outputs went.
    Safe to rerun for the same date: the date's outputs are replaced, never duplicated.
    """
    from flows.nightly import nightly

    run_flow(
        "nightly",
        NIGHTLY_UNCHANGED,
        lambda: nightly(
            as_of=as_date(as_of),
            data_dir=_text(data),
            config=_config(ctx),
            database_url=database_url,
            mapping=_text(mapping),
        ),
    )


@run_app.command("training")
def run_training(ctx: typer.Context, as_of: AsOf = None, data: DataDir = None, mapping: MappingFile = None) -> None:
    """Train on rolling snapshots, log to MLflow, register as challenger, promote only through the gate."""
    from flows.training import training

    run_flow(
        "training",
        TRAINING_UNCHANGED,
        lambda: training(as_of=as_date(as_of), data_dir=_text(data), config=_config(ctx), mapping=_text(mapping)),
    )


def run_flow(name: str, unchanged: str, flow_call: Callable[[], T]) -> T:
    """Run a flow; on failure end with one line saying what failed and what is still in place, then exit 1.

    Prefect has already logged the traceback and the flow's failure hook its summary; a second
    traceback from the CLI would only bury them.
    """
    try:
        return flow_call()
    except Exception as exc:
        console = Console(stderr=True)
        # one unwrapped line each, so a log search for "flow failed" finds the whole message
        console.print(f"[bold red]{name} flow failed:[/bold red] {type(exc).__name__}: {exc}", soft_wrap=True)
        console.print(f"{unchanged} (Prefect's log above has the traceback)", soft_wrap=True)
        raise typer.Exit(EXIT_FLOW_FAILED) from exc


def _text(path: Path | None) -> str | None:
    return str(path.resolve()) if path else None


def _config(ctx: typer.Context) -> str | None:
    config = state(ctx).config
    return str(config.resolve()) if config else None


def register(app: typer.Typer) -> None:
    """Add the `run` command group."""
    app.add_typer(run_app, name="run")
