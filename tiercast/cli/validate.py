"""`tiercast validate`: check the input tables against their contracts and quarantine bad rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiercast.cli.options import MappingFile, with_mapping

if TYPE_CHECKING:
    from rich.console import Console

    from pipelines.ingest import ValidationResult


HELP = (
    "Check the input tables against data_contracts/*.yaml and quarantine the rows that break a rule.\n\n"
    "Read through a source mapping (--mapping) an operator's export is checked under its own file names, "
    "column names, codes, date formats and encoding. Only the required columns must be there; a missing "
    "optional column is reported with the features that are then not available.\n\n"
    "Structural problems (missing table or required column, a value of the wrong type, duplicate primary key, "
    "an unreadable file, an empty table) stop at once with exit code 3 and name the table, column, rule and "
    "first offending rows.\n\n"
    "Rows that break a check or row rule go to the quarantine folder (one Parquet + CSV file per table, "
    "each row with its failed_rules), and validation continues with the clean rows. References are "
    "checked against the parent's clean rows: a quarantined subscriber's bills are quarantined too "
    "(known_subscriber), their payments as well (known_bill).\n\n"
    "Exit code 4 when a table's quarantined share is above its limit "
    "(validation.max_quarantined_share, default 1%), 2 for a mapping or option that cannot be used, else 0. "
    "Counts per table and rule are printed and written to a JSON report."
)


def register(app: typer.Typer) -> None:
    """Add the `validate` command to the CLI."""
    app.command("validate", help=HELP)(validate)


def validate(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Folder holding subscribers, bills, payments, contacts as <table>.parquet or <table>.csv, "
            "or the files the mapping names (default: paths.raw).",
        ),
    ] = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine",
            "-q",
            help="Folder for quarantined rows, one file per table (default: this run's dated folder under "
            "paths.quarantine; paths.quarantine/latest points at it).",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            "-r",
            help="JSON report to write (default: this run's dated folder under paths.reports, also reached as "
            "paths.reports/latest/validation.json).",
        ),
    ] = None,
    mapping: MappingFile = None,
) -> None:
    """Validate the input tables in `data` (see HELP); exit 0, 3 (structural) or 4 (over the limit)."""
    from rich.console import Console

    from pipelines.ingest import QuarantineLimitError, validate_inputs
    from tiercast.cli import state

    settings = with_mapping(state(ctx).settings, mapping)
    console = Console()
    try:
        with console.status("Validating input tables..."):
            result = validate_inputs(settings, data, quarantine, report)
    except QuarantineLimitError as exc:
        show_result(console, exc.result)  # what was checked, then the one line and exit code 4
        raise
    show_result(console, result)


def show_result(console: Console, result: ValidationResult) -> None:
    """Print rows read, clean and quarantined per table and per rule, and where the files went."""
    from rich.table import Table

    tables = Table(title="Input tables")
    for header in ("table", "rows read", "clean", "quarantined", "share", "limit", "status"):
        tables.add_column(header, justify="left" if header in ("table", "status") else "right", no_wrap=True)
    for report in result.reports.values():
        status = "[red]over limit[/red]" if report.exceeded else "[green]ok[/green]"
        tables.add_row(
            report.table,
            f"{report.rows_read:,}",
            f"{report.clean:,}",
            f"{report.quarantined:,}",
            f"{report.share:.3%}",
            f"{report.limit:.2%}",
            status,
        )
    console.print(tables)
    rules = Table(title="Quarantined rows per rule (a row may fail several)")
    for header in ("table", "rule", "rows", "rule means"):
        rules.add_column(header, justify="right" if header == "rows" else "left")
    for report in result.reports.values():
        for name, rows in report.rules.items():
            if rows:
                rules.add_row(report.table, name, f"{rows:,}", report.descriptions.get(name, ""))
    if rules.row_count:
        console.print(rules)
    else:
        console.print("No row broke a rule: nothing quarantined.")
    show_export_gaps(console, result)
    sources = sorted({str(report.source.parent) for report in result.reports.values()})
    folders = sorted({str(path.parent) for r in result.reports.values() for path in r.quarantine_files})
    console.print(f"Read from: {', '.join(sources)}")
    console.print(f"Quarantine files: {', '.join(folders)}")
    console.print(f"Report: {result.report_file}")


def show_export_gaps(console: Console, result: ValidationResult) -> None:
    """Print the optional columns the export lacks, the features then unavailable, unmapped codes, ignored columns."""
    from rich.table import Table

    from features.availability import unavailable_features

    absent = Table(title="Optional columns not in this export (the run goes on without them)")
    for header in ("table", "column", "what tiercast does without it"):
        absent.add_column(header)
    for report in result.reports.values():
        for column, effect in report.absent_columns.items():
            absent.add_row(report.table, column, effect)
    if absent.row_count:
        console.print(absent)
        console.print(f"Features not available: {', '.join(unavailable_features(result.absent)) or 'none'}")
    for report in result.reports.values():
        for column, codes in report.unmapped_codes.items():
            shown = ", ".join(f"{code!r} ({rows:,} rows)" for code, rows in codes.items())
            console.print(
                f"[yellow]{report.table}.{column}: codes the mapping does not know[/yellow] {shown}: "
                f"add them under tables.{report.table}.values.{column} in the mapping",
                highlight=False,
            )
        if report.ignored_columns:
            console.print(f"{report.table}: columns not used: {', '.join(report.ignored_columns)}", highlight=False)
