"""`tiercast score-publish`: the nightly's steps in this process, one shard, no Prefect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tiercast.cli.db import URL_HELP
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date, with_mapping

if TYPE_CHECKING:
    from rich.console import Console

    from pipelines.run_summary import NightlySummary


HELP = (
    "Score every subscriber active at AS_OF with the champion churn model and publish the results: "
    "exactly the steps of the nightly flow (`tiercast run nightly`), run in this process with one shard "
    "and without Prefect, so both publish the same rows.\n\n"
    "Steps: validate the input tables -> features, value tiers, lifecycle (yesterday's stages from "
    "paths.state/lifecycle) -> churn score and reasons -> subscriber_key (keyed HMAC of the MSISDN; no "
    "phone number is ever written) -> routing priority -> retention lists. The tier table is written as a "
    "new version and switched live in one transaction after the guardrails pass (publish.guardrails); "
    "otherwise the previous version stays live (exit 6). Retention lists go to the same database and to "
    "<paths.retention>/<as_of>/<desk>.parquet and .csv; today's stages to paths.state/lifecycle. "
    "Rerunning the same AS_OF replaces that day."
)


def register(app: typer.Typer) -> None:
    """Add the `score-publish` command to the CLI."""
    app.command("score-publish", help=HELP)(score_publish)


def score_publish(
    ctx: typer.Context,
    data: DataDir = None,
    mapping: MappingFile = None,
    as_of: AsOf = None,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
) -> None:
    """Score and publish (see HELP)."""
    from rich.console import Console

    from pipelines.nightly_run import Inline, run_nightly
    from tiercast.cli import state

    settings = with_mapping(state(ctx).settings, mapping)
    if url:
        settings = settings.model_copy(update={"publish": settings.publish.model_copy(update={"url": url})})
    console = Console()
    with console.status("Scoring and publishing..."):
        summary = run_nightly(settings, data, as_date(as_of), Inline(), shards=1)
    show(console, summary)


def show(console: Console, summary: NightlySummary) -> None:
    """Print what was published and where."""
    from rich.table import Table

    p = summary.publication
    console.print(
        f"[bold green]published[/bold green] {p['view']} v{p['version']}: {p['rows']:,} subscribers as of "
        f"{summary.as_of}, model v{summary.model_version}, run {summary.run_id}\n  database: {p['database']}"
    )
    desks = Table(title=f"retention lists for {summary.as_of}")
    for column in ("desk", "listed", "daily capacity"):
        desks.add_column(column, justify="left" if column == "desk" else "right")
    for desk, (listed, capacity) in summary.retention.items():
        desks.add_row(desk, f"{listed:,}", f"{capacity:,}")
    console.print(desks)
    for name, where in summary.outputs.items():
        console.print(f"  {name}: {where}", highlight=False)
    show_monitoring(console, summary.monitoring)


def show_monitoring(console: Console, monitoring: dict) -> None:
    """Print tonight's monitoring: alerts first, then the estimate and where the history went."""
    from rich.markup import escape

    if not monitoring:
        return
    if monitoring.get("note"):
        console.print(f"monitoring: {escape(monitoring['note'])}")
    alerts = monitoring.get("alerts") or []
    colour = "yellow" if alerts else "green"
    console.print(f"[{colour}]monitoring: {len(alerts)} alert(s)[/{colour}]")
    for alert in alerts[:10]:
        console.print(f"  {escape(alert)}", highlight=False)
    auc = (monitoring.get("estimate") or {}).get("roc_auc")
    if auc:
        console.print(f"  estimated ROC AUC {auc[0]:.3f} (band {auc[1]:.3f} to {auc[2]:.3f})")
    if monitoring.get("history"):
        console.print(f"  monitoring history: {monitoring['history']}", highlight=False)
