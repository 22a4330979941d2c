"""`tiercast features`: the feature table with value tiers and lifecycle stages as of a date, to Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiercast.cli import state
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date, with_mapping


def register(app: typer.Typer) -> None:
    """Add the `features` command to `app`."""
    app.command("features")(features)


def features(
    ctx: typer.Context,
    data: DataDir = None,
    mapping: MappingFile = None,
    as_of: AsOf = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Parquet file to write. Default: paths.features/features_<as-of>.parquet."),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="Yesterday's feature table (Parquet with subscriber_id, lifecycle_stage): stages then change "
            "only beyond the hysteresis margins.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Build features as of a date, assign high/mid/low value tiers (red/black lists, flea-user flag) and
    lifecycle stages, check the result against data_contracts/features.yaml, and write it to Parquet.

    Prints subscriber counts by tier x lifecycle stage and where the file went.
    """
    from rich.console import Console
    from rich.table import Table

    from pipelines.features import build_feature_table, read_previous_stages, stage_counts, write_feature_table

    settings = with_mapping(state(ctx).settings, mapping)
    console = Console()
    day = as_date(as_of)
    previous_stages = read_previous_stages(previous) if previous else None
    with console.status("validating inputs and building features ..."):
        table = build_feature_table(settings, data, day, previous_stages=previous_stages)
    built_day = table["as_of"].iloc[0].date() if len(table) else day
    target = out or settings.paths.resolve(settings.paths.features) / f"features_{built_day}.parquet"
    write_feature_table(table, target)

    counts = stage_counts(table)
    grid = Table(title=f"Subscribers by tier x lifecycle stage, as of {built_day}")
    grid.add_column("tier")
    for stage in counts.columns:
        grid.add_column(str(stage), justify="right")
    for tier, row in counts.iterrows():
        grid.add_row(str(tier), *(f"{int(v):,}" for v in row))
    console.print(grid)
    console.print(
        f"red list {int(table['is_red_list'].sum()):,}, black list {int(table['is_black_list'].sum()):,}, "
        f"flea users flagged {int(table['flea_flag'].sum()):,}"
    )
    console.print(f"wrote {len(table):,} rows to [bold]{target}[/bold]")
