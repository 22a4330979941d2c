"""`tiercast service-levels`: the contact centre's KPIs per tier from the contacts, and a chart by hour."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiercast.cli.db import URL_HELP
from tiercast.cli.options import DataDir, MappingFile, with_mapping

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from pipelines.service_levels import ServiceLevelReport


def register(app: typer.Typer) -> None:
    """Add the `service-levels` command to `app`."""
    app.command("service-levels")(service_levels)


def service_levels(
    ctx: typer.Context,
    start: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day of calls, YYYY-MM-DD (inclusive).")
    ],
    end: Annotated[
        datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of calls, YYYY-MM-DD (inclusive).")
    ],
    data: DataDir = None,
    mapping: MappingFile = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for the chart and CSV tables. Default: <paths.reports>/service_levels."
        ),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
) -> None:
    """Report the centre's service levels per tier, as it measures itself, from the contacts table.

    For inbound voice calls from --from to --to: calls offered, answered, service level (answered by a
    person within service.answer_within_seconds, 20 s, over calls offered), abandonment rate, average
    speed of answer, average handle time, first-contact resolution (no further inbound contact within
    service.fcr_window_days, 7) and complaints per 1,000 active subscribers a day; hours under the
    tier's target (service.targets: high 90%, mid and low 85%) are counted.

    Each contact's tier is its caller's row (by subscriber_key, keyed with $TIERCAST_PRIVACY_KEY, or the
    demo key) in the tier table version that was live when the contact happened: the one switched in last
    before it (publications registry, switch times in flows.timezone). Days whose version's table is no
    longer kept (publish.keep_versions) take the live table's tiers and say so; the tiers used each day
    are printed and written (the _tiers CSV, the daily CSV's tiers_from). With nothing published only the
    'all' row is shown.
    Contacts without wait_seconds, handle_seconds or abandoned still run: the KPIs that need them are
    named as not computable. Writes the per-day, per-hour and per-period tables (CSV) and a PNG of
    service level by hour per tier against its target.
    """
    from rich.console import Console

    from pipelines.service_levels import run
    from tiercast.cli import state

    if end < start:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    settings = with_mapping(state(ctx).settings, mapping)
    console = Console()
    with console.status("validating inputs and measuring ..."):
        report = run(settings, data, start.date(), end.date(), out, url)
    console.print(f"tiers: {report.tiers_from}")
    _print_days(console, report)
    _print_period(console, report, settings.service.complaints_per)
    _print_hours(console, report)
    reasons: dict[str, list[str]] = {}
    for kpi, why in report.kpis.unavailable.items():
        reasons.setdefault(why, []).append(kpi)
    for why, kpis in reasons.items():
        console.print(f"[yellow]cannot compute {', '.join(kpis)}[/yellow]: {why}")
    for kpi, how in report.kpis.caveats.items():
        console.print(f"[yellow]{kpi}[/yellow]: {how}")
    for name, path in report.files.items():
        console.print(f"wrote {name} to [bold]{path}[/bold]")


def _shown(value: float, kind: str) -> str:
    """Return a KPI value for the table: share as %, seconds, rate, or '—' when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return {"share": f"{value:.1%}", "seconds": f"{value:.1f}", "rate": f"{value:.2f}", "count": f"{value:,.0f}"}[kind]


def _is_set(flag: object) -> bool:
    """Return whether a flag read from a table is true (NaN, an unavailable flag, is not)."""
    return flag == flag and bool(flag)


def _print_days(console: Console, report: ServiceLevelReport) -> None:
    """Print where each day's tiers came from, consecutive days with the same sources on one line."""
    from rich.table import Table

    from pipelines.service_levels import tiers_per_day
    from pipelines.service_tiers import day_ranges

    lines = tiers_per_day(report.days)
    table = Table(title="Tiers per day: the tier table versions live that day (local time)")
    table.add_column("days")
    table.add_column("tiers from")
    runs = (lines["tiers_from"] != lines["tiers_from"].shift()).cumsum()
    for _, run in lines.groupby(runs.to_numpy(), sort=True):
        table.add_row(day_ranges(run["day"]), str(run["tiers_from"].iloc[0]))
    console.print(table)


def _print_period(console: Console, report: ServiceLevelReport, per: int) -> None:
    from rich.table import Table

    period = report.kpis.period
    table = Table(title=f"Inbound voice calls {report.start} to {report.end}, per tier")
    kinds = {
        "offered": "count", "answered": "count", "service_level": "share", "target": "share",
        "hours_below_target": "count", "abandon_rate": "share", "asa_s": "seconds", "aht_s": "seconds",
        "fcr": "share", "complaint_rate": "rate",
    }  # fmt: skip
    heads = {
        "service_level": "service level", "hours_below_target": "hours below / with calls", "abandon_rate": "abandoned",
        "asa_s": "ASA s", "aht_s": "AHT s", "fcr": "FCR", "complaint_rate": f"complaints per {per:,} a day",
    }  # fmt: skip
    table.add_column("tier")
    for column in kinds:
        table.add_column(heads.get(column, column), justify="right")
    for row in period.to_dict("records"):
        cells = [_shown(row[column], kind) for column, kind in kinds.items()]
        has_target = not math.isnan(row["target"])
        cells[4] = f"{cells[4]} / {row['hours']:,}" if has_target and cells[4] != "—" else "—"
        if has_target and _is_set(row["below_target"]):
            cells[2] = f"[bold red]{cells[2]}[/bold red]"
        table.add_row(str(row["tier"]), *cells)
    console.print(table)


def _print_hours(console: Console, report: ServiceLevelReport) -> None:
    from rich.table import Table

    from pipelines.service_levels import hour_profile

    if "service_level" in report.kpis.unavailable or report.kpis.hourly.empty:
        return
    profile = hour_profile(report.kpis.hourly)
    tiers = [tier for tier in report.kpis.period["tier"] if tier in set(profile["tier"])]
    grid: pd.DataFrame = profile.pivot_table(index="hour", columns="tier", values="service_level", aggfunc="first")
    targets = profile.groupby("tier")["target"].first()
    offered = profile[profile["tier"] == tiers[-1]].set_index("hour")["offered"]
    table = Table(
        title="Service level by hour of day", caption="days of the range pooled; red: under the tier's target"
    )
    table.add_column("hour")
    for tier in tiers:
        table.add_column(tier, justify="right")
    table.add_column(f"offered ({tiers[-1]})", justify="right")
    for hour, row in zip(grid.index.astype(int), grid.to_dict("records"), strict=True):
        cells = []
        for tier in tiers:
            text = _shown(row.get(tier, math.nan), "share")
            cells.append(f"[red]{text}[/red]" if row.get(tier, math.nan) < targets[tier] else text)
        table.add_row(f"{hour:02d}:00", *cells, f"{int(offered.get(hour, 0)):,}")
    console.print(table)
