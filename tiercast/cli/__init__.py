"""The `tiercast` command line. Each command lives in its own module with a `register(app)` function.

Command modules import heavy libraries (pandas, mlflow, prefect) inside the command body,
so `tiercast --help` stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from tiercast.cli.exits import App, exit_code_table
from tiercast.settings import Settings, SettingsError, load_settings

# One module per command group; each defines `register(app: typer.Typer) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "tiercast.cli.demo",
    "tiercast.cli.validate",
    "tiercast.cli.mapping",
    "tiercast.cli.db",
    "tiercast.cli.publish",
    "tiercast.cli.route",
    "tiercast.cli.evaluate_table",
    "tiercast.cli.generate",
    "tiercast.cli.features",
    "tiercast.cli.score_publish",
    "tiercast.cli.flows",
    "tiercast.cli.serve",
    "tiercast.cli.train",
    "tiercast.cli.model",
    "tiercast.cli.monitor",
    "tiercast.cli.service_levels",
    "tiercast.cli.staffing",
    "tiercast.cli.uplift",
    "tiercast.cli.campaigns",
)

app = App(
    name="tiercast",
    help=(
        "Customer value tiers, lifecycle stages, churn scores, routing priorities and retention "
        "lists for a telecom contact centre.\n\n"
        "Start with [bold]tiercast demo[/bold]; every command explains itself with --help. "
        "Settings come from the packaged defaults, then --config FILE (or $TIERCAST_CONFIG), "
        "then TIERCAST__SECTION__KEY environment variables.\n\n"
        "[bold]Exit codes[/bold] (every command; the last line on stderr says what happened):\n\n" + exit_code_table()
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


@dataclass(frozen=True)
class State:
    """What every command receives through the typer context."""

    settings: Settings
    verbose: bool
    config: Path | None = None


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML file overriding the packaged defaults.", envvar="TIERCAST_CONFIG"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
) -> None:
    from tiercast.runtime import configure_logging, prepare_environment

    try:
        settings = load_settings(config)
    except (SettingsError, ValueError) as exc:
        typer.secho(f"configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    prepare_environment(settings)
    configure_logging(verbose)
    ctx.obj = State(settings=settings, verbose=verbose, config=config)


def state(ctx: typer.Context) -> State:
    """Return the settings and flags the root callback prepared."""
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def _register_commands() -> None:
    """Add every command group to `app` (the command modules import `state` from here: defined above)."""
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)


_register_commands()  # so that `tiercast.cli.app` is the real, complete app for every caller


def main() -> None:
    """Entry point of the `tiercast` script."""
    app()
