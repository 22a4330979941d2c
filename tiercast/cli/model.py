"""`tiercast model list|promote|rollback`: the churn model registry by hand."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tiercast.cli import state
from tiercast.cli.exits import App

model_app = App(
    help="Registered churn model versions: list them, promote one to champion, roll back.", no_args_is_help=True
)


@model_app.command("list")
def list_versions(ctx: typer.Context) -> None:
    """List every registered version with its aliases (champion, challenger, previous-champion) and gate metric."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.registry import list_models

    settings = state(ctx).settings
    frame = list_models(settings)
    console = Console(width=None if sys.stdout.isatty() else 160)
    if frame.empty:
        console.print(f"no version of {settings.tracking.registered_model} yet: run `tiercast train`")
        return
    table = Table(title=settings.tracking.registered_model)
    for column in frame.columns:
        table.add_column(column)
    for row in frame.astype(str).itertuples(index=False):
        table.add_row(*row)
    console.print(table)


@model_app.command("promote")
def promote(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Version number to make champion.")],
) -> None:
    """Make VERSION the champion without the gate; the current champion becomes previous-champion."""
    from pipelines.registry import champion_version
    from pipelines.registry import promote as do_promote

    settings = state(ctx).settings
    before = champion_version(settings)
    try:
        do_promote(settings, version, "manual promotion (tiercast model promote)")
    except KeyError as exc:
        typer.secho(str(exc).strip("'\""), fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"champion: v{version} (was v{before})" if before else f"champion: v{version}")


@model_app.command("rollback")
def rollback(ctx: typer.Context) -> None:
    """Restore the previous champion (alias previous-champion); the rolled-back version is tagged."""
    from pipelines.registry import rollback as do_rollback

    settings = state(ctx).settings
    rolled_back, restored = do_rollback(settings)
    typer.echo(f"champion: v{restored} (rolled back from v{rolled_back})")


def register(app: typer.Typer) -> None:
    """Add the `model` command group to the CLI."""
    app.add_typer(model_app, name="model")
