"""`tiercast run nightly|training`: run a flow now, the way the schedule would."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from tiercast.cli import state
from tiercast.cli.exits import App
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date
from tiercast.errors import TiercastError

EXIT_FLOW_FAILED = 1
NIGHTLY_RERUN = "a rerun for the same date replaces that date's outputs (`tiercast publish list` shows every version)"
TRAINING_UNCHANGED = "`tiercast model list` shows the champion the nightly run will use"
URL_ENV = "TIERCAST__PUBLISH__URL"

T = TypeVar("T")

run_app = App(
    help=(
        "Run a Prefect flow now (the same flow the schedule runs): [bold]nightly[/bold] or [bold]training[/bold]. "
        "When the flow fails, the last lines say what failed and what is live now, and the exit code is the "
        f"failure's (see `tiercast --help`; {EXIT_FLOW_FAILED} for an unexpected one)."
    ),
    no_args_is_help=True,
)


@run_app.command("nightly")
def run_nightly(
    ctx: typer.Context,
    as_of: AsOf = None,
    data: DataDir = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar=URL_ENV,
            help="Publish to this database URL instead of settings.publish (also $TIERCAST__PUBLISH__URL). "
            "Handed to the flow through its environment, never as a flow parameter (Prefect stores those).",
        ),
    ] = None,
    mapping: MappingFile = None,
) -> None:
    """Validate, build features, tiers and stages per shard, score with the champion, publish atomically.

    Prints the run summary (also stored as a Prefect artifact) and where the outputs went.
    Safe to rerun for the same date: the date's outputs are replaced, never duplicated.
    """
    from flows.nightly import nightly
    from pipelines.nightly_results import live_state

    settings = state(ctx).settings
    if database_url:
        settings = settings.model_copy(update={"publish": settings.publish.model_copy(update={"url": database_url})})
    with scoped_environ({URL_ENV: database_url}):
        run_flow(
            "nightly",
            lambda: f"{live_state(settings)}; {NIGHTLY_RERUN}",
            lambda: nightly(as_of=as_date(as_of), data_dir=_text(data), config=_config(ctx), mapping=_text(mapping)),
        )


@contextmanager
def scoped_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set environment variables (None: leave as is) for a flow run in this process, restored afterwards.

    Flows load their settings from the config file and the environment: this is how a command hands
    a flow a setting that must not be a flow parameter (Prefect stores and shows those).
    """
    chosen = {name: value for name, value in values.items() if value is not None}
    before = {name: os.environ.get(name) for name in chosen}
    os.environ.update(chosen)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@run_app.command("training")
def run_training(ctx: typer.Context, as_of: AsOf = None, data: DataDir = None, mapping: MappingFile = None) -> None:
    """Train on rolling snapshots, log to MLflow, register as challenger, promote only through the gate."""
    from flows.training import training

    run_flow(
        "training",
        TRAINING_UNCHANGED,
        lambda: training(as_of=as_date(as_of), data_dir=_text(data), config=_config(ctx), mapping=_text(mapping)),
    )


def run_flow(name: str, unchanged: str | Callable[[], str], flow_call: Callable[[], T]) -> T:
    """Run a flow; on failure end with one line saying what failed and what is in place now, then exit 1.

    Prefect has already logged the traceback and the flow's failure hook its summary; a second
    traceback from the CLI would only bury them.
    """
    try:
        return flow_call()
    except Exception as exc:  # the flow's own error, re-raised by Prefect: reported, then its exit code
        console = Console(stderr=True)
        code = exc.exit_code if isinstance(exc, TiercastError) else EXIT_FLOW_FAILED
        # one unwrapped line each, so a log search for "flow failed" finds the whole message
        console.print(
            f"[bold red]{name} flow failed[/bold red] (exit {code}): {type(exc).__name__}: {escape(str(exc))}",
            soft_wrap=True,
            highlight=False,
        )
        now = unchanged() if callable(unchanged) else unchanged
        console.print(f"{now} (Prefect's log above has the traceback)", soft_wrap=True)
        raise typer.Exit(code) from exc


def _text(path: Path | None) -> str | None:
    return str(path.resolve()) if path else None


def _config(ctx: typer.Context) -> str | None:
    config = state(ctx).config
    return str(config.resolve()) if config else None


def register(app: typer.Typer) -> None:
    """Add the `run` command group."""
    app.add_typer(run_app, name="run")
