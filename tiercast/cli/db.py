"""`tiercast db init`: create the publish database schema and, on PostgreSQL, the routing service's read-only role."""

from __future__ import annotations

from typing import Annotated

import typer

from tiercast.cli.exits import App

URL_HELP = "Database URL (e.g. postgresql+psycopg://user@host:5432/tiercast); default: publish.url or the SQLite file."


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the CLI."""
    group = App(help="Set up the database the tier table and retention lists are published to.")
    group.command("init")(init)
    app.add_typer(group, name="db")


def init(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
) -> None:
    """Create the publications registry and retention table; on PostgreSQL also the read-only role.

    The role (publish.reader_role) may log in and SELECT the published view only: it gets no rights on
    the versioned tables behind the view, cannot create anything, and its sessions default to
    read-only. Set its password yourself (ALTER ROLE ... PASSWORD) or map it in pg_hba.conf.
    Safe to run again.
    """
    from rich.console import Console

    from pipelines.database import display_url, engine_for, ensure_reader_role, init_schema
    from tiercast.cli import state

    settings = state(ctx).settings
    console = Console()
    engine = engine_for(settings, url)
    try:
        init_schema(engine, settings.publish)
        role = ensure_reader_role(engine, settings.publish)
    finally:
        engine.dispose()
    console.print(f"schema ready in [bold]{display_url(engine)}[/bold]")
    if role:
        console.print(
            f"read-only role [bold]{settings.publish.reader_role}[/bold]: SELECT on view "
            f"[bold]{settings.publish.tier_view}[/bold] only (granted at each publication)"
        )
    else:
        console.print("SQLite has no roles: give the routing service a read-only file (tiercast route opens it so)")
