"""`tiercast run nightly|training`: run a flow now, the way the schedule would."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiercast.cli import state
from tiercast.cli.options import AsOf, DataDir, as_date

run_app = typer.Typer(
    help="Run a Prefect flow now (the same flow the schedule runs): [bold]nightly[/bold] or [bold]training[/bold].",
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
) -> None:
    """Validate, build features, tiers and stages per shard, score with the champion, publish atomically.

    Prints the run summary (also stored as a Prefect artifact) and where the outputs went.
    Safe to rerun for the same date: the date's outputs are replaced, never duplicated.
    """
    from flows.nightly import nightly

    config = _config(ctx)
    nightly(as_of=as_date(as_of), data_dir=_text(data), config=config, database_url=database_url)


@run_app.command("training")
def run_training(ctx: typer.Context, as_of: AsOf = None, data: DataDir = None) -> None:
    """Train on rolling snapshots, log to MLflow, register as challenger, promote only through the gate."""
    from flows.training import training

    training(as_of=as_date(as_of), data_dir=_text(data), config=_config(ctx))


def _text(path: Path | None) -> str | None:
    return str(path.resolve()) if path else None


def _config(ctx: typer.Context) -> str | None:
    config = state(ctx).config
    return str(config.resolve()) if config else None


def register(app: typer.Typer) -> None:
    """Add the `run` command group."""
    app.add_typer(run_app, name="run")
