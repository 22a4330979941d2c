"""A draft source mapping: guesses marked with why, per table and for the whole export (`tiercast mapping draft`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

UNKNOWN = "?"  # a guess's value where nothing could be guessed


@dataclass(frozen=True)
class Guess:
    """A guessed value (UNKNOWN when there is none), why it was guessed or what is needed, and how."""

    value: str
    why: str
    how: str = ""  # short: name, values, name + values, same name, file name + content ...

    @property
    def unknown(self) -> bool:
        """True when nothing could be guessed."""
        return self.value == UNKNOWN


@dataclass(frozen=True)
class Codes:
    """A closed column's codes in the sample: (code, rows) most frequent first, empties, and guesses."""

    counts: tuple[tuple[str, int], ...] | None  # None: too many distinct values to be codes
    empty: int
    entries: dict[str, Guess]  # export's code -> tiercast's, for codes that are not tiercast's own


@dataclass(frozen=True)
class TableDraft:
    """The draft mapping of one table."""

    table: str
    file: Guess
    sampled: str = ""
    columns: dict[str, Guess] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # optional columns not found
    unused: tuple[str, ...] = ()  # export columns not mapped
    dates: dict[str, Guess] = field(default_factory=dict)
    codes: dict[str, Codes] = field(default_factory=dict)
    scales: dict[str, Guess] = field(default_factory=dict)
    encoding: Guess | None = None  # its file's own encoding, where it differs from the export's
    delimiter: Guess | None = None  # its file's own field separator, where it differs from the export's

    @property
    def unknowns(self) -> int:
        """Return the number of "?" entries left to fill."""
        guesses = [self.file, *self.columns.values(), *self.dates.values(), *self.scales.values()]
        guesses += [g for codes in self.codes.values() for g in codes.entries.values()]
        return sum(g.unknown for g in guesses)


@dataclass(frozen=True)
class Draft:
    """A whole export's draft mapping: encoding, delimiter, decimal mark, time zone, one TableDraft per table, files
    not placed."""

    data_dir: Path
    encoding: Guess
    tables: dict[str, TableDraft]
    unplaced: tuple[str, ...]
    delimiter: Guess | None = None  # None: the default (,) fits, no entry needed
    decimal: Guess | None = None
    timezone: Guess | None = None  # None: no table reads epoch instants, no entry needed


def row_count(count: int) -> str:
    """Return a number of rows in words: "1 row", "2,345 rows"."""
    return f"{count:,} row" + "s" * (count != 1)
