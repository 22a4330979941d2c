"""`tiercast publish list|rollback`: the published tier table versions, and switching back to an earlier one."""

from __future__ import annotations

from typing import Annotated

import typer

from tiercast.cli.db import URL_HELP
from tiercast.cli.exits import App

TIER_ORDER = ("high", "mid", "low")


def register(app: typer.Typer) -> None:
    """Add the `publish` command group to the CLI."""
    group = App(
        help="Inspect the tier table publications and roll back to a kept version. "
        "Publishing itself is done by `tiercast score-publish` (or the nightly flow)."
    )
    group.command("list")(list_versions)
    group.command("rollback")(rollback)
    app.add_typer(group, name="publish")


def list_versions(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many, newest first.")] = 20,
) -> None:
    """Show the publications: version, as_of, run, rows, tier mix, status (live / retained / rejected ...)."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.database import display_url, engine_for
    from pipelines.publish import publications
    from tiercast.cli import state

    settings = state(ctx).settings
    engine = engine_for(settings, url)
    try:
        history = publications(engine, settings.publish)[:limit]
    finally:
        engine.dispose()
    table = Table(title=f"{settings.publish.tier_view} publications in {display_url(engine)}")
    for column in ("version", "as_of", "run_id", "model", "rows", "retention", "tier mix", "status"):
        right = column in ("version", "rows", "retention")
        # every column keeps its values on one line (a run_id squeezed into a narrow terminal is unreadable);
        # the tier mix, one tier a line already, takes what width is left
        table.add_column(
            column,
            justify="right" if right else "left",
            no_wrap=column != "tier mix",
            min_width=max((len(p.run_id) for p in history), default=6) if column == "run_id" else None,
        )
    style = {"live": "bold green", "rejected": "red", "failed": "red", "dropped": "dim"}
    for p in history:
        order = sorted(p.tier_mix, key=lambda t: (TIER_ORDER.index(t) if t in TIER_ORDER else len(TIER_ORDER), t))
        mix = "\n".join(f"{tier} {p.tier_mix[tier]:.1%}" for tier in order)
        table.add_row(
            str(p.version), str(p.as_of), p.run_id, p.model_version, f"{p.rows:,}", f"{p.retention_rows:,}", mix,
            p.status, style=style.get(p.status),
        )  # fmt: skip
    Console().print(table if history else "nothing published yet")


def rollback(
    ctx: typer.Context,
    to: Annotated[
        int | None, typer.Option("--to", help="Version to switch to (default: the newest kept one before the live).")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP, envvar="TIERCAST__PUBLISH__URL")] = None,
) -> None:
    """Point the tier table view back at an earlier kept version, in one transaction.

    Only the tier table moves; retention lists are per as_of and stay as they are. The version rolled
    back from is kept (status rolled_back) until pruned, so `--to` can switch forward again.
    """
    from rich.console import Console

    from pipelines.database import engine_for
    from pipelines.publish import live_publication
    from pipelines.publish import rollback as switch_back
    from tiercast.cli import state

    settings = state(ctx).settings
    console = Console()
    engine = engine_for(settings, url)
    try:
        before = live_publication(engine, settings.publish)
        target = switch_back(engine, settings.publish, to)
    finally:
        engine.dispose()
    assert before is not None
    console.print(
        f"{settings.publish.tier_view} now serves [bold]v{target.version}[/bold] (as_of {target.as_of}, "
        f"run {target.run_id}, {target.rows:,} rows); v{before.version} kept as rolled_back"
    )
