"""`tiercast generate`: write a synthetic subscriber base (subscribers, bills, payments, contacts) as Parquet."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

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
    "and within 60 days) and subscriber_types.parquet (latent type, flea-user flag, payment habit).\n\n"
    "--export-style writes the same population the way another operator's system exports it instead "
    "(CSV files with that system's names, ids, codes, date formats, units and text encoding) and the "
    "source mapping OUT/mapping.yaml that reads it back: try "
    "tiercast validate --data OUT --mapping OUT/mapping.yaml. The truth's subscriber ids are then in "
    "the export's format, so it still joins."
)


class ExportStyle(StrEnum):
    """The export styles of tiercast/synthetic/export_styles.py."""

    crm_b = "crm-b"
    bss_a = "bss-a"


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
    export_style: Annotated[
        ExportStyle | None,
        typer.Option(
            "--export-style",
            help=(
                "Write the tables as another operator exports them, with the mapping back to tiercast's "
                "tables in OUT/mapping.yaml. crm-b: a Chinese BOSS/CRM export (GBK CSV, CRM_USER.csv ..., "
                "ids U00000001, amounts in fen, Chinese headers, names and codes); bss-a: a BSS data-warehouse "
                "extract (UTF-8 CSV with BOM, subs_extract.csv ..., 20-digit ids, ISO dates, Y/N flags, code lists)."
            ),
        ),
    ] = None,
) -> None:
    """Generate the synthetic tables (see HELP)."""
    import logging
    import time
    from functools import partial

    import pyarrow.parquet as pq
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
        if export_style is None:
            paths = run(target, n, m, s, cfg, progress=progress)
            rows = {name: pq.ParquetFile(path).metadata.num_rows for name, path in paths.items()}
        else:
            simulate = partial(run, subscribers=n, months=m, seed=s, settings=cfg, progress=progress)
            paths, rows = _generate_export(target, export_style.value, simulate, progress)
    summary = Table(title=f"tiercast generate: {time.perf_counter() - started:.1f} s")
    summary.add_column("table")
    summary.add_column("rows", justify="right")
    summary.add_column("MB", justify="right")
    summary.add_column("file")
    for name, path in paths.items():
        count = f"{rows[name]:,}" if name in rows else ""
        summary.add_row(name, count, f"{path.stat().st_size / 1e6:.1f}", str(path))
    console.print(summary)
    if export_style is not None:
        _print_next_steps(console, export_style.value, target, paths["mapping"])
    log.info("wrote %d files to %s (truth in %s)", len(paths), target, target / "_truth")


def _generate_export(
    target: Path, style: str, simulate: Callable[[Path], dict[str, Path]], progress: Progress
) -> tuple[dict[str, Path], dict[str, int]]:
    """Simulate into a temporary folder next to `target`, write export `style` into `target`; return paths and rows."""
    import logging
    import tempfile
    import time

    import pyarrow.parquet as pq

    from tiercast.synthetic.export_styles import write_export

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-canonical-") as folder:
        canonical = simulate(Path(folder))
        rows = {name: pq.ParquetFile(path).metadata.num_rows for name, path in canonical.items()}
        started = time.perf_counter()
        progress.add_task(f"writing the {style} export", total=None)
        paths = write_export(Path(folder), target, style)
        logging.getLogger("tiercast.generate").info("converted to %s in %.1f s", style, time.perf_counter() - started)
        return paths, rows


def _print_next_steps(console: Console, style: str, target: Path, mapping: Path) -> None:
    """Print where the mapping is and the command that reads the export through it."""
    console.print(f"{style} export in {target}; source mapping: {mapping}", soft_wrap=True)
    console.print(f"next: tiercast validate --data {target} --mapping {mapping}", soft_wrap=True)
