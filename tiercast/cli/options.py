"""Options several commands share, declared once so they read and behave the same everywhere."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from tiercast.settings import with_mapping

__all__ = ["AsOf", "DataDir", "MappingFile", "as_date", "with_mapping"]

DataDir = Annotated[
    Path | None,
    typer.Option("--data", "-d", help="Folder of the input tables (<table>.parquet or .csv). Default: paths.raw."),
]

MappingFile = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        "-M",
        exists=True,
        dir_okay=False,
        help="Source mapping YAML: how the export's files, column names, codes, date formats, units and CSV "
        "encoding map onto tiercast's tables (README 'Pointing it at real data'; `tiercast mapping draft` "
        "writes a first one). Default: inputs.mapping, else tiercast's own names.",
    ),
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
