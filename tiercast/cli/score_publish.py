"""`tiercast score-publish`: score the base with the champion model and publish the tier table and retention lists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiercast.cli.db import URL_HELP
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date, with_mapping

if TYPE_CHECKING:
    from rich.console import Console

    from pipelines.score import ScorePublishResult


HELP = (
    "Score every subscriber active at AS_OF with the champion churn model and publish the results.\n\n"
    "Steps: validate the input tables -> features, value tiers, lifecycle -> churn score and reasons "
    "-> subscriber_key (keyed HMAC of the MSISDN; no phone number is ever written) -> routing priority "
    "-> retention lists. The tier table is written as a new version and switched live in one "
    "transaction after the guardrails pass (publish.guardrails); otherwise the previous version stays "
    "live and the command exits 1. Retention lists go to the same database and to "
    "<paths.retention>/<as_of>/<desk>.parquet and .csv. Rerunning the same AS_OF replaces that day."
)


def register(app: typer.Typer) -> None:
    """Add the `score-publish` command to the CLI."""
    app.command("score-publish", help=HELP)(score_publish)


def score_publish(
    ctx: typer.Context,
    data: DataDir = None,
    mapping: MappingFile = None,
    as_of: AsOf = None,
    previous_stages: Annotated[
        Path | None,
        typer.Option(
            "--previous-stages",
            help="Parquet with yesterday's subscriber_id, lifecycle_stage (turns on lifecycle hysteresis).",
        ),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
) -> None:
    """Score and publish (see HELP)."""
    import pandas as pd
    from rich.console import Console

    from pipelines.score import score_publish as run
    from tiercast.cli import state

    settings = with_mapping(state(ctx).settings, mapping)
    console = Console()
    day = as_date(as_of)
    previous = (
        pd.read_parquet(previous_stages, columns=["subscriber_id", "lifecycle_stage"]) if previous_stages else None
    )
    with console.status("Scoring and publishing..."):
        result = run(settings, data, day, previous, url=url)
    show(console, result, settings.publish.tier_view)


def show(console: Console, result: ScorePublishResult, view: str) -> None:
    """Print what was published and where."""
    from rich.table import Table

    p, table = result.publication, result.score.tier_table
    console.print(
        f"[bold green]published[/bold green] {view} v{p.version}: {p.rows:,} subscribers as of {p.as_of}, "
        f"model v{p.model_version}, run {p.run_id}\n  database: {result.database}"
    )
    queues = Table(title="routing: subscribers per queue and priority (1 = served first)")
    for column in ("queue", "priority", "subscribers", "share"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    counts = table.groupby(["queue", "priority"]).size().rename("n").reset_index().sort_values(["priority", "queue"])
    for queue, priority, n in counts.itertuples(index=False):
        queues.add_row(str(queue), str(priority), f"{n:,}", f"{n / len(table):.1%}")
    console.print(queues)
    desks = Table(title=f"retention lists for {result.score.as_of}")
    for column in ("desk", "listed", "daily capacity"):
        desks.add_column(column, justify="left" if column == "desk" else "right")
    for desk, (listed, capacity) in result.desks.items():
        desks.add_row(desk, f"{listed:,}", f"{capacity:,}")
    console.print(desks)
    folders = sorted({str(path.parent) for path in result.files})
    console.print(f"  list files: {', '.join(folders)} (<desk>.parquet and <desk>.csv)")
