"""`tiercast generate`: write a synthetic subscriber base (subscribers, bills, payments, contacts) as Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HELP = (
    "Simulate a telecom subscriber base month by month and write the four input tables "
    "(subscribers, bills, payments, contacts) as Parquet, matching data_contracts/*.yaml.\n\n"
    "N (--subscribers) is the active base on the first day of the window; lines leave every month "
    "(voluntarily, or suspended for non-payment) and about as many new lines join, so the table of "
    "subscribers holds more than N rows. The window is --months full calendar months ending with "
    "generator.end_month (default 2026-10: data through 2026-10-31); today's date is never used. "
    "The same seed, sizes and settings give byte-identical files.\n\n"
    "The simulation's truth goes to OUT/_truth/ (never read by the pipeline): "
    "churn_probability.parquet (per subscriber and month end: the true chance of leaving next month "
    "and within 60 days) and subscriber_types.parquet (latent type, flea-user flag, payment habit)."
)


def register(app: typer.Typer) -> None:
    """Add the `generate` command to the CLI."""
    app.command("generate", help=HELP)(generate)


def generate(
    ctx: typer.Context,
    subscribers: Annotated[
        int | None,
        typer.Option(
            "--subscribers",
            "-n",
            min=1,
            help="Active subscribers on the first day of the window (default: generator.subscribers).",
        ),
    ] = None,
    months: Annotated[
        int | None,
        typer.Option(
            "--months", "-m", min=1, max=120, help="Full calendar months to simulate (default: generator.months)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="Random seed (default: generator.seed).")
    ] = None,
    end_month: Annotated[
        str | None,
        typer.Option("--end-month", help="Last simulated month, YYYY-MM (default: generator.end_month)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder to write the tables to (default: paths.raw). Files are replaced."),
    ] = None,
) -> None:
    """Generate the synthetic tables (see HELP)."""
    import logging
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from tiercast.cli import state
    from tiercast.settings.generator import GeneratorSettings
    from tiercast.synthetic import generate as run

    settings = state(ctx).settings
    cfg = settings.generator
    if end_month is not None:
        try:
            cfg = GeneratorSettings.model_validate({**cfg.model_dump(), "end_month": end_month})
        except ValueError as exc:
            raise typer.BadParameter(f"--end-month must be YYYY-MM: {exc}") from exc
    target = out or settings.paths.resolve(settings.paths.raw)
    n, m, s = subscribers or cfg.subscribers, months or cfg.months, cfg.seed if seed is None else seed
    log = logging.getLogger("tiercast.generate")
    log.info(
        "generating %s subscribers x %s months (seed %s, ending %s) into %s", f"{n:,}", m, s, cfg.end_month, target
    )
    started = time.perf_counter()
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        paths = run(target, n, m, s, cfg, progress=progress)
    summary = Table(title=f"tiercast generate: {time.perf_counter() - started:.1f} s")
    summary.add_column("table")
    summary.add_column("rows", justify="right")
    summary.add_column("MB", justify="right")
    summary.add_column("file")
    import pyarrow.parquet as pq

    for name, path in paths.items():
        rows = pq.ParquetFile(path).metadata.num_rows
        summary.add_row(name, f"{rows:,}", f"{path.stat().st_size / 1e6:.1f}", str(path))
    console.print(summary)
    log.info("wrote %d tables to %s (truth in %s)", len(paths), target, target / "_truth")
