"""`tiercast monitor backfill|report`: replay the nightly's monitoring over past dates, and report on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from tiercast.cli.exits import App
from tiercast.cli.options import DataDir, MappingFile, with_mapping

Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]


def register(app: typer.Typer) -> None:
    """Add the `monitor` command group to the CLI."""
    group = App(
        help="Production monitoring (the nightly runs it after scoring, before publishing): drift of inputs, "
        "scores and mixes against the champion's reference and yesterday; label-free performance estimates; "
        "realised performance once the churn horizon has passed. History: <paths.monitoring>/history, the "
        "`monitoring` table of the publish database, and the MLflow experiment `tiercast-monitoring`."
    )
    group.command("backfill")(backfill)
    group.command("report")(report)
    app.add_typer(group, name="monitor")


def backfill(
    ctx: typer.Context,
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First night, YYYY-MM-DD.")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last night, YYYY-MM-DD.")],
    data: DataDir = None,
    mapping: MappingFile = None,
    every: Annotated[int, typer.Option("--every", min=1, help="Days between replayed nights.")] = 1,
) -> None:
    """Replay the nightly's monitoring for each night from --from to --to with today's champion: features,
    scores, tiers and lists as the champion would have given them, drift, estimates and (for nights whose
    horizon has passed in the data) realised performance. Nothing is published and no lifecycle state is
    kept; the monitoring history, table and MLflow series get each night's rows (a rerun replaces them).
    A night whose inputs look like a broken export is recorded and reported, not raised."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress

    from pipelines.nightly_run import Inline, replay_night
    from tiercast.cli import state

    settings = with_mapping(state(ctx).settings, mapping)
    if end < start:
        raise typer.BadParameter("--to is before --from")
    nights = [start.date() + timedelta(days=d) for d in range(0, (end - start).days + 1, every)]
    console = Console(stderr=True)
    alerts = blocked = 0
    with Progress(console=console) as progress:
        task = progress.add_task("replaying", total=len(nights))
        for night in nights:
            progress.update(task, description=f"night {night}")
            result = replay_night(settings, data, night, Inline())
            if result is not None:
                alerts += len(result.alerts)
                blocked += bool(result.blocked)
                if result.blocked:
                    console.print(f"[red]{escape(f'{night}: {result.blocked}')}[/red]")
            progress.advance(task)
    where = settings.paths.resolve(settings.paths.monitoring) / "history"
    console.print(
        f"{len(nights)} night(s) replayed: {alerts} alert row(s), {blocked} night(s) looked like a broken export; "
        f"history in {where}"
    )
    console.print("next: tiercast monitor report")


def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG charts.")] = Path("monitoring-report"),
    start: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First night recorded.")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last night recorded.")] = None,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Also log the charts to MLflow.")] = True,
) -> None:
    """Print the latest night's drift table (largest PSI first) and the alerts of the period; write
    psi_over_time.png, roc_auc_over_time.png (estimated vs realised ROC AUC, alarms marked) and
    churn_rate_over_time.png (expected vs realised churn rate, overall and per tier) to --out and log
    them to the MLflow experiment `tiercast-monitoring`. Concept drift (the same inputs meaning a
    different churn risk) cannot be seen without labels: it shows once the horizon has passed, as a
    realised ROC AUC below its estimate or a realised churn rate away from the expected one."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from pipelines.monitoring_report import build_report, log_report
    from tiercast.cli import state
    from tiercast.errors import ConfigurationError

    settings = state(ctx).settings
    try:
        built = build_report(settings, out, start.date() if start else None, end.date() if end else None)
    except FileNotFoundError as exc:
        raise ConfigurationError(str(exc)) from None
    console = Console()
    table = Table(title=f"drift against the champion's reference, night {built.history['recorded_on'].max():%Y-%m-%d}")
    for column in ("feature", "role", "psi", "missing", "level", "message"):
        table.add_column(column, justify="right" if column in ("psi", "missing") else "left")
    style = {"moderate": "yellow", "significant": "red", "guardrail": "bold red"}
    for row in built.drift.to_dict("records"):
        cells = [str(row["feature"]), str(row["role"]), f"{row['psi']:.3f}", f"{row['missing']:.1%}"]
        table.add_row(*cells, str(row["level"]), str(row["message"]), style=style.get(str(row["level"])))
    console.print(table)
    console.print(f"{len(built.alerts)} alert row(s) in the period")
    for alert in built.alerts.drop_duplicates("message").head(20).to_dict("records"):
        console.print(escape(f"  {alert['recorded_on']:%Y-%m-%d} [{alert['level']}] {alert['message']}"))
    for path in built.charts.values():
        console.print(f"chart: {path}")
    if track:
        console.print(
            f"logged to MLflow experiment {settings.monitoring.experiment}, run {log_report(settings, built)}"
        )
