"""Options several commands share, declared once so they read and behave the same everywhere."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option("--data", "-d", help="Folder of the input tables (<table>.parquet or .csv). Default: paths.raw."),
]

AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="As-of date D, YYYY-MM-DD: nothing after it is used. Default: the last day the bills cover.",
    ),
]


def as_date(value: datetime | None) -> date | None:
    """Return the calendar day of an --as-of value (None stays None)."""
    return value.date() if value else None
