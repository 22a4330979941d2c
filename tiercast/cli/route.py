"""`tiercast route MSISDN`: look a caller up the way the routing service does (point lookup on the view)."""

from __future__ import annotations

from typing import Annotated

import typer

from tiercast.cli.db import URL_HELP


def register(app: typer.Typer) -> None:
    """Add the `route` command to the CLI."""
    app.command("route")(route)


def route(
    ctx: typer.Context,
    msisdn: Annotated[str, typer.Argument(help="Caller's number, e.g. 13800138000 or '+86 138 0013 8000'.")],
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
) -> None:
    """Print the caller's routing row: priority (1 = served first), queue, SLA target, call-back, reason.

    The number is turned into its subscriber_key with the pseudonymisation key ($TIERCAST_PRIVACY_KEY,
    or the labelled demo key) and looked up by key in the published view, read-only. Exit code 1 when
    the caller is not in the table (a routing service would use the standard queue).
    """
    import sqlalchemy as sa
    from rich.console import Console
    from rich.table import Table

    from pipelines.database import contract_table, display_url, engine_for
    from pipelines.privacy import key_for_number, privacy_key
    from tiercast.cli import state

    settings = state(ctx).settings
    console = Console()
    try:
        key = key_for_number(msisdn, settings.privacy, privacy_key(settings.privacy))
    except ValueError as exc:
        console.print(f"[bold red]{exc}[/bold red]")
        raise typer.Exit(2) from exc
    view = contract_table("tier_table", settings.publish.tier_view, sa.MetaData())  # typed: bools, dates
    engine = engine_for(settings, url, read_only=True)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(view).where(view.c.subscriber_key == key)).mappings().first()
    except sa.exc.OperationalError as exc:
        where = f"{display_url(engine)} :: {settings.publish.tier_view}"
        console.print(f"[bold red]cannot read the published tier table[/bold red] {where}: {exc.orig}")
        console.print("has a nightly run published yet? (`tiercast publish list`, `tiercast run nightly`)")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if row is None:
        console.print(f"no row for this number (key {key[:12]}…) in {settings.publish.tier_view}")
        raise typer.Exit(1)
    table = Table(title=f"routing row, key {key[:12]}…", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for column, value in row.items():
        shown = f"{value:.4f}" if column == "churn_score" else str(value)
        table.add_row(column, "—" if value is None else shown)
    console.print(table)
