"""`tiercast mapping draft`: guess a first source mapping for an operator's export, for a person to finish."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiercast.cli.exits import App

if TYPE_CHECKING:
    from rich.console import Console

    from pipelines.draft import Draft

EXIT_USAGE = 2  # --out exists without --force, or --data holds no CSV / Parquet file
SAMPLE_ROWS = 100_000  # rows read from the start of each file (pipelines.export_sample.SAMPLE_ROWS)

DRAFT_HELP = (
    "Guess a source mapping for the export in --data and write it to --out (YAML) for a person to finish.\n\n"
    "[bold]What is guessed[/bold]: which file is which table (words in its name such as CRM_USER, BILL_MONTHLY, "
    "PAYMENT, CONTACT_LOG, 用户, 账单, 缴费, 接触, and its content: 11-digit mobile numbers and dates, billing months "
    "and amounts, due and paid dates, date-times with codes); which column is which tiercast column (a list of "
    "English, BOSS, Chinese and Spanish names such as USER_ID, SERIAL_NUMBER, 入网日期, 账期, Fecha de alta, then "
    "the values: mobile numbers (+86 too), the subscribers' ids, YYYYMM or mm/yyyy months, dates, amounts); the "
    "strptime format of text dates (day or month first: as the export's other dates when the values cannot tell), "
    "integer YYYYMMDD / YYYYMM dates, and epoch seconds or milliseconds (dates: epoch_s | epoch_ms, with a "
    "timezone: for a person to answer; a 10-digit YYYYMMDDHH is asked, never guessed); amounts with a currency "
    "mark (¥, 元, RMB, €, $) read as numbers; "
    "a tiercast value for each code of the closed vocabularies (deactivation_reason, contract_type, list_flag, "
    "channel, reason; the campaigns file's group, offer, outcome), with the codes' counts; scales (whole amounts in "
    "the thousands on a bill are probably fen: 0.01); the CSV encoding (UTF-16 by its byte order mark, else UTF-8 "
    "with or without BOM, else GBK / GB18030 or Western cp1252, whichever reads as text; any other Python text "
    "encoding can be set by hand), field separator (, ; tab |) and decimal mark (1.234,50: decimal "
    "comma). The optional campaigns table is drafted when a file looks like it. Only the first --rows rows of each "
    "file are "
    "read, so a large export takes seconds; codes are counted over those rows.\n\n"
    "[bold]How guesses are marked[/bold]: every guessed entry ends in a comment [cyan]# guess: <why>[/cyan]; "
    'what could not be guessed is [cyan]"?"[/cyan] with [cyan]# needed: <what>[/cyan]. Files not placed, '
    "optional columns not found and export columns not used are listed in comments. Nothing is guessed silently.\n\n"
    '[bold]Next[/bold]: check each guess, replace each "?" (a mapping with a "?" code is refused), then run '
    "[bold]tiercast validate --data DIR --mapping FILE[/bold]: it names every code the mapping does not know yet. "
    "An existing --out is kept unless --force."
)

mapping_app = App(
    help="Source mappings: how an operator's export (file and column names, codes, date formats, units, "
    "encoding) maps onto tiercast's tables. [bold]draft[/bold] guesses a first one.",
    no_args_is_help=True,
)


@mapping_app.command("draft", help=DRAFT_HELP)
def draft(
    data: Annotated[
        Path,
        typer.Option("--data", "-d", exists=True, file_okay=False, help="Folder of the export (CSV or Parquet files)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="Mapping YAML file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out when it exists.")] = False,
    rows: Annotated[
        int, typer.Option("--rows", min=1, help="Rows read from the start of each file to guess from.")
    ] = SAMPLE_ROWS,
) -> None:
    """Write a draft mapping of the export in `data` to `out` and print what was guessed; exit 0 (2: usage)."""
    from rich.console import Console

    from pipelines.export_sample import export_files
    from pipelines.mapping_draft import draft_mapping
    from pipelines.mapping_text import draft_text
    from pipelines.source_files import COMPRESSIONS, FORMATS

    console = Console()
    if out.exists() and not force:
        console.print(f"[bold red]error[/bold red] {out} exists: pass --force to overwrite it", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if not export_files(data):
        readable = ", ".join(FORMATS) + " (text also " + ", ".join(COMPRESSIONS) + "), or folders of them"
        console.print(f"[bold red]error[/bold red] no file tiercast reads in {data}: {readable}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    with console.status(f"Reading the first {rows:,} rows of each file in {data}..."):
        drafted = draft_mapping(data, rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(draft_text(drafted, out), encoding="utf-8")
    show_draft(console, drafted, out)


def show_draft(console: Console, drafted: Draft, out: Path) -> None:
    """Print per table its file, each required column's guess (or ?) and how it was guessed, and the ? left."""
    from rich.markup import escape
    from rich.table import Table

    from data_contracts.loader import load_contract

    table = Table(title=f"Draft mapping of {escape(str(drafted.data_dir))}")
    for name in ("table", "file", "? left", "required column", "export's column", "guessed from"):
        table.add_column(name, justify="right" if name == "? left" else "left")
    for part in drafted.tables.values():
        file = escape(part.file.value) + ("" if part.file.unknown else f" ({part.file.how})")
        for at, column in enumerate(load_contract(part.table).required_columns):
            guess = part.columns[column]
            shown = "[red]?[/red]" if guess.unknown else escape(guess.value)
            first = (part.table, file, str(part.unknowns)) if at == 0 else ("", "", "")
            table.add_row(*first, column, shown, guess.how or "-", end_section=False)
        table.add_section()
    console.print(table)
    for note in drafted.unplaced:
        console.print(f"[yellow]file not placed[/yellow] {escape(note)}", highlight=False)
    left = sum(part.unknowns for part in drafted.tables.values())
    to_fill = f'{left} "?" to fill (a "# needed:" comment says what each needs)' if left else "no ? to fill"
    console.print(f"Wrote {escape(str(out))}: every guess is marked '# guess:'; {to_fill}.", highlight=False)
    then = "check the guesses, fill the ?, then run" if left else "check the guesses, then run"
    command = f"tiercast validate --data {escape(str(drafted.data_dir))} --mapping {escape(str(out))}"
    console.print(f"Next: {then}: [bold]{command}[/bold]", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `mapping` command group."""
    app.add_typer(mapping_app, name="mapping")
