"""`tiercast campaigns report`: what the retention campaigns achieved against their random control groups."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiercast.cli.exits import App
from tiercast.cli.options import DataDir, MappingFile, with_mapping

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console


HELP = "\n\n".join(
    [
        "Measure what each retention campaign achieved: churn of the customers it called against a random control "
        "group it did not call.",
        "[bold]Treated[/bold]: the members drawn to be called, reached or not (intention to treat: the effect of "
        "putting a customer on a desk's list). [bold]Control[/bold]: members held out at random, never called. A "
        "member [bold]churned[/bold] when deactivated in (campaign_date, campaign_date + churn.horizon_days], 60 "
        "days by default.",
        "A campaign has [bold]matured[/bold] once that horizon has passed in the data: campaign_date + 60 days on "
        "or before the last day the bills cover. Campaigns not matured yet are listed with the day they mature, "
        "not measured.",
        "Per campaign date x desk x tier x offer, per campaign date x desk, per campaign date and overall: churn "
        "rate treated and control; lift = control churn - treated churn (> 0: the calls kept customers); relative "
        "lift = lift / control churn; customers saved = lift x treated; value saved (CNY) = (value lost per "
        "control member - per treated member) x treated, a leaver's value being models.retention.value_if_lost; "
        "each with a percentile bootstrap 95% interval. Tier and value are as known the day before the campaign.",
        "Prints the desks' and campaigns' rows; writes every level as CSV and Parquet and a PNG of lift with its "
        "interval per campaign date and desk (default <paths.reports>/campaigns); logs one run to the MLflow "
        "experiment [bold]tiercast-campaigns[/bold] (metrics at step = campaign date, the table and files as "
        "artifacts). No campaigns table in the export: exit 3.",
    ]
)


def register(app: typer.Typer) -> None:
    """Add the `campaigns` command group to the CLI."""
    group = App(
        help="Retention campaigns (the optional `campaigns` input table): measured lift against the random "
        "control group, once a campaign's churn horizon has passed.",
        no_args_is_help=True,
    )
    group.command("report", help=HELP)(report)
    app.add_typer(group, name="campaigns")


def report(
    ctx: typer.Context,
    data: DataDir = None,
    mapping: MappingFile = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the CSV, Parquet and PNG. Default: <paths.reports>/campaigns."),
    ] = None,
    boot: Annotated[int, typer.Option("--boot", min=100, help="Bootstrap replicates per interval.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the report to MLflow.")] = True,
) -> None:
    """Print, write and log the campaign report (HELP says what it measures)."""
    from rich.console import Console

    from pipelines.campaigns import EXPERIMENT, run
    from tiercast.cli import state

    settings = with_mapping(state(ctx).settings, mapping)
    console = Console()
    with console.status("validating inputs and measuring the campaigns ..."):
        built = run(settings, data, out, n_boot=boot, seed=seed, track=track)
    console.print(f"data end {built.data_end}; horizon {built.horizon_days} days")
    if built.table.empty:
        console.print("[yellow]no campaign has matured yet[/yellow]")
    else:
        _print_table(console, built.table)
    for row in built.pending.to_dict("records"):
        console.print(
            f"not matured yet: {row['campaign_date']:%Y-%m-%d} {row['desk']} ({row['members']:,} members), "
            f"matures on {row['matures_on']:%Y-%m-%d}"
        )
    for name, path in built.files.items():
        console.print(f"wrote {name} to [bold]{path}[/bold]")
    if built.run_id:
        from pipelines.tracking import experiment_link, tracking_uri

        where = f"{tracking_uri(settings)} {experiment_link(settings, EXPERIMENT)}"
        console.print(f"logged to MLflow experiment {EXPERIMENT}, run {built.run_id} ({where})")


def _interval(value: float, low: float, high: float, kind: str) -> str:
    """Return 'value [low, high]' as shares (points) or counts, '—' when unknown."""
    if math.isnan(value):
        return "—"
    shown = {"share": "{:+.1%}", "rate": "{:.1%}", "count": "{:,.0f}"}[kind]
    if math.isnan(low):
        return shown.format(value)
    return f"{shown.format(value)} [{shown.format(low)}, {shown.format(high)}]"


def _print_table(console: Console, table: pd.DataFrame) -> None:
    from rich.table import Table

    from pipelines.campaigns import CAMPAIGN, DESKS, OVERALL

    rows = table[table["level"].isin([DESKS, CAMPAIGN, OVERALL])]
    # each campaign's desks, then the campaign over all its desks; everything matured last
    rows = rows.assign(_last=rows["level"].map({DESKS: 0, CAMPAIGN: 1, OVERALL: 2}))
    rows = rows.sort_values([CAMPAIGN, "_last"], na_position="last", kind="stable")
    shown = Table(title="Retention campaigns: treated (called) vs control (held out), 95% intervals")
    for head in ("campaign", "desk", "treated", "control", "churn treated", "churn control", "lift"):
        shown.add_column(head, justify="left" if head in ("campaign", "desk") else "right")
    shown.add_column("customers saved", justify="right")
    shown.add_column("value saved CNY", justify="right")
    for row in rows.to_dict("records"):
        level = row["level"]
        when = "all matured" if level == OVERALL else f"{row[CAMPAIGN]:%Y-%m-%d}"
        desk = str(row["desk"]) if level == DESKS else "all desks"
        shown.add_row(
            when,
            desk,
            f"{row['n_treated']:,}",
            f"{row['n_control']:,}",
            _interval(row["churn_rate_treated"], math.nan, math.nan, "rate"),
            _interval(row["churn_rate_control"], math.nan, math.nan, "rate"),
            _interval(row["lift"], row["lift_low"], row["lift_high"], "share"),
            _interval(row["customers_saved"], row["customers_saved_low"], row["customers_saved_high"], "count"),
            _interval(row["value_saved"], row["value_saved_low"], row["value_saved_high"], "count"),
            style="bold" if level != DESKS else None,
        )
    console.print(shown)
