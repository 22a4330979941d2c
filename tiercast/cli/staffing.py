"""`tiercast staffing --day D [--seats N]`: does the centre meet every tier's target, and how many agents it needs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tiercast.cli.options import DataDir, MappingFile, with_mapping

HELP = (
    "Replay day D's inbound calls under the published priorities (each caller's priority and queue from "
    "the live tier table, as the routing service does) with N seats split over the agent groups "
    "(service.groups), and say per tier whether it meets its target (high 90%, mid and low 85% answered "
    "within 20 s; black-listed calls are served last and have none: their longest wait is shown). Then find, "
    "per 30-minute interval, the fewest agents per group that meet every target (simulation), beside "
    "Erlang A's count for the same load, and write a CSV and a PNG of required vs available agents by hour. "
    "Handle times and waits come from the contacts; caller patience is fitted to them (abandons / time waited)."
)


def register(app: typer.Typer) -> None:
    """Add the `staffing` command to the CLI."""
    app.command("staffing", help=HELP)(staffing)


def staffing(
    ctx: typer.Context,
    day: Annotated[datetime, typer.Option("--day", formats=["%Y-%m-%d"], help="The day replayed, YYYY-MM-DD.")],
    seats: Annotated[int | None, typer.Option("--seats", min=1, help="Seats on duty (default: service.seats).")] = None,
    data: DataDir = None,
    mapping: MappingFile = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the CSV and PNG (default: paths.reports/staffing).")
    ] = None,
) -> None:
    """Replay a day with N seats and find the agents needed (see HELP)."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.staffing_plan import plan
    from tiercast.cli import state

    settings = with_mapping(state(ctx).settings, mapping)
    console = Console()
    result = plan(settings, data, day.date(), seats, out)
    n = seats or settings.service.seats
    table = Table(title=f"{day:%Y-%m-%d}: {len(result.calls):,} inbound calls with {n:,} seats")
    for column in ("tier", "calls", "service level", "target", "met", "intervals missed"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for row in result.verdict.to_dict("records"):
        met = "[green]yes[/green]" if row["met"] else "[red]no[/red]"
        cells = [f"{row['offered']:,}", f"{row['service_level']:.1%}", f"{row['target']:.0%}", met]
        table.add_row(str(row["tier"]), *cells, str(row["intervals_missed"]))
    console.print(table)
    longest = result.black_list_longest_wait_s
    said = "no black-listed caller that day" if longest != longest else f"{longest:.0f} s (served last)"
    console.print(f"black-listed calls' longest wait: {said}")
    console.print(f"caller patience fitted to the contacts: mean {result.patience_mean_s:.0f} s")
    peak = result.required.groupby("interval")[["required", "erlang", "available"]].sum()
    counts = peak.to_numpy(dtype="int64")
    busiest = int(counts[:, 0].argmax())
    minutes = int(peak.index.to_numpy()[busiest]) * settings.service.interval_minutes
    needed, erlang, available = (int(v) for v in counts[busiest])
    console.print(
        f"agents required at the busiest interval ({minutes // 60:02d}:{minutes % 60:02d}): {needed:,} "
        f"(Erlang A {erlang:,}; available {available:,})"
    )
    for name, path in result.files.items():
        console.print(f"{name}: {path}", highlight=False)
