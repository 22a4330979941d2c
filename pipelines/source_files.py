"""Which files hold an input table, and how their bytes are opened (decompressed as they are read).

A table is one file, a folder of files (named for the table, or by the mapping's `file:`), or the
files the mapping's `file:` matches as a glob pattern (`bills_*.csv.gz`); several files are one table
read in sorted name order. A file is Parquet (`.parquet`), Arrow IPC (`.arrow`) or delimited text
(`.csv`, `.txt`, `.tsv`, `.dat`); text may be compressed: `.gz`, `.bz2` and `.zst` decompress in
pyarrow as they are read, a `.zip` holding exactly one file streams through Python's zipfile (nothing
is extracted to disk). Names starting with `.` or `_` are not data (Spark's `_SUCCESS`, `.crc` files).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from data_contracts.loader import ContractError

log = logging.getLogger(__name__)

PARQUET, ARROW, TEXT = "parquet", "arrow", "text"
FORMATS = {".parquet": PARQUET, ".csv": TEXT, ".arrow": ARROW, ".txt": TEXT, ".tsv": TEXT, ".dat": TEXT}
CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}  # pyarrow's (its own detection reads lower case only)
COMPRESSIONS = (*CODECS, ".zip")
SUPPORTED = ".parquet, .arrow, .csv, .txt, .tsv or .dat files (text also compressed: .gz, .bz2, .zst, .zip)"
GLOB_CHARS = "*?["
LINE_BYTES = 1 << 20  # bytes read at a time when counting lines


def suffixes(path: Path) -> tuple[str, str]:
    """Return a file name's format suffix and compression suffix ("" when none): ("csv", "gz") for bills.CSV.gz."""
    name = path.name.lower()
    compression = next((c for c in COMPRESSIONS if name.endswith(c)), "")
    return Path(name[: len(name) - len(compression)]).suffix, compression


def file_format(path: Path) -> str | None:
    """Return PARQUET, ARROW or TEXT for a file tiercast reads; None for any other (compressed Parquet included)."""
    suffix, compression = suffixes(path)
    kind = FORMATS.get(suffix)
    return None if compression and kind != TEXT else kind


def is_data(path: Path) -> bool:
    """True unless the name marks a file as no data (`.crc`, `_SUCCESS`, `.DS_Store`)."""
    return path.name[0] not in "._"


def table_files(data_dir: Path, table: str, named: str | None) -> tuple[Path, tuple[Path, ...]]:
    """Return where `table` is read from (a file, folder or pattern) and its files, in the order they are read.

    ContractError naming the table when it is not there, or a file of it is no format tiercast reads.
    """
    if named is None:
        return _default_files(data_dir, table)
    path = data_dir / named
    if any(char in named for char in GLOB_CHARS):
        matches = _matches(data_dir, named)
        if not matches:
            raise ContractError(table, f"missing table: no file in {data_dir} matches {named!r}", rule="exists")
        return path, _one_format(table, matches, f"the files matching {named!r}")
    if path.is_dir():
        return path, folder_files(table, path)
    if file_format(path) is None:
        raise ContractError(table, f"mapping names file {named!r}: only {SUPPORTED} are read", rule="exists")
    if not path.is_file():
        raise ContractError(table, f"missing table: the mapping names file {named}, not in {data_dir}", rule="exists")
    return path, (path,)


def default_names(table: str) -> list[str]:
    """Return the file names a table without a mapping entry is looked for under, preferred first."""
    plain = [f"{table}{suffix}" for suffix in FORMATS]
    return plain + [f"{table}{s}{c}" for c in COMPRESSIONS for s, kind in FORMATS.items() if kind == TEXT]


def _default_files(data_dir: Path, table: str) -> tuple[Path, tuple[Path, ...]]:
    found = [data_dir / name for name in default_names(table) if (data_dir / name).is_file()]
    if (data_dir / table).is_dir():
        found.append(data_dir / table)
    if not found:
        raise ContractError(
            table,
            f"missing table: no {table}.parquet or {table}.csv or {table}.arrow (nor .txt, .tsv, .dat, text "
            f"compressed .gz / .bz2 / .zst / .zip, nor a folder {table}/) in {data_dir}",
            rule="exists",
        )
    if len(found) > 1:
        others = ", ".join(path.name for path in found[1:])
        log.warning("%s: %s found in %s too; reading %s", table, others, data_dir, found[0].name)
    path = found[0]
    return path, folder_files(table, path) if path.is_dir() else (path,)


def exists(data_dir: Path, table: str, named: str | None) -> bool:
    """True when the export has something `table_files` would read `table` from (it may still be refused)."""
    if named is None:
        return (data_dir / table).is_dir() or any((data_dir / n).is_file() for n in default_names(table))
    if any(char in named for char in GLOB_CHARS):
        return bool(_matches(data_dir, named))
    return (data_dir / named).exists()


def _matches(data_dir: Path, pattern: str) -> list[Path]:
    """Return the data files a glob pattern (relative to `data_dir`, or absolute) matches, sorted by path."""
    if Path(pattern).is_absolute():
        anchor = Path(Path(pattern).anchor)
        data_dir, pattern = anchor, str(Path(pattern).relative_to(anchor))
    return sorted(path for path in data_dir.glob(pattern) if path.is_file() and is_data(path))


def folder_files(table: str, folder: Path) -> tuple[Path, ...]:
    """Return the data files of a table's folder, sorted by name; ContractError for a subfolder or another file."""
    entries = sorted(p for p in folder.iterdir() if is_data(p))
    nested = [p.name for p in entries if p.is_dir()]
    if nested:
        raise ContractError(
            table,
            f"{folder} holds folders {nested}: a partitioned table (bill_month=202410/ ...) keeps a column in the "
            "folder names, which is not read; export the column in the files",
            rule="readable",
        )
    if not entries:
        raise ContractError(table, f"missing table: the folder {folder} holds no data file", rule="exists")
    return _one_format(table, entries, f"the folder {folder}")


def _one_format(table: str, files: list[Path], where: str) -> tuple[Path, ...]:
    """Return `files` when each is a format tiercast reads and all are the same one (text compressed or not)."""
    other = [p.name for p in files if file_format(p) is None]
    if other:
        raise ContractError(table, f"{where}: {other} are not {SUPPORTED}", rule="readable")
    kinds = sorted({str(file_format(p)) for p in files})
    if len(kinds) > 1:
        raise ContractError(
            table, f"{where} mixes {' and '.join(kinds)} files: one table is one format", rule="readable"
        )
    return tuple(files)


def _zip_member(path: Path) -> IO[bytes]:
    """Return the stream of the one file a zip archive holds; ValueError for another archive."""
    with zipfile.ZipFile(path) as archive:  # the member keeps the archive's file open until it is closed
        members = [m for m in archive.infolist() if not m.is_dir() and is_data(Path(m.filename))]
        if len(members) != 1:
            raise ValueError(f"a .zip must hold exactly one file, it holds {[m.filename for m in members]}")
        return archive.open(members[0])


def open_binary(path: Path) -> IO[bytes]:
    """Return a file's bytes as a stream, decompressed (.gz, .bz2, .zst, the one file of a .zip)."""
    compression = suffixes(path)[1]
    if compression == ".zip":
        return _zip_member(path)
    if compression:
        return pa.input_stream(str(path), compression=CODECS[compression])
    return path.open("rb")


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    """Return a text file's decoded lines (newlines kept as written: csv reads them)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline="")


@contextmanager
def csv_input(path: Path) -> Iterator[str | IO[bytes]]:
    """Yield what pyarrow's CSV readers take for a text file: its path, or its decompressed stream."""
    if not suffixes(path)[1]:
        yield str(path)
        return
    with open_binary(path) as stream:
        yield stream


def count_lines(path: Path) -> int:
    """Return the number of lines of a text file (decompressed; a last line without its newline counts)."""
    lines, last = 0, b"\n"
    with open_binary(path) as handle:
        while block := handle.read(LINE_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def rows_by_file(positions: np.ndarray, counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return, for row positions in a table read from files of `counts` rows, each row's file and its row there."""
    starts = np.cumsum([0, *counts])
    index = np.searchsorted(starts, positions, side="right") - 1
    return index, positions - starts[index]


def rows_named_by_file(message: str, names: Sequence[str], counts: Sequence[int]) -> str:
    """Return an error message whose `  row N:` example lines name the file and its row instead."""

    def named(found: re.Match[str]) -> str:
        index, rows = rows_by_file(np.array([int(found[1])]), counts)
        return f"  row {int(rows[0])} of {names[int(index[0])]}:"

    return re.sub(r"^  row (\d+):", named, message, flags=re.MULTILINE)
