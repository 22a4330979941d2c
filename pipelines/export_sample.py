"""The first rows of an export's CSV / Parquet files, and the encoding each CSV file reads in.

CSV files are read as text, in UTF-16 when they start with its byte order mark, else UTF-8 (with or without BOM),
else GBK, else GB18030, their fields separated by the one of , ; tab | that their header line holds most of;
Parquet files keep their types.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.mapping import DELIMITERS
from pipelines.sources import CSV_NULLS, Source, header, parse_options, starts_utf16

SAMPLE_ROWS = 100_000
HEAD_BYTES = 1 << 20  # bytes of a CSV file its encoding is told from
TEXT_ENCODINGS = ("utf-8", "gbk", "gb18030")  # tried in this order; UTF-16 is told by its byte order mark


@dataclass(frozen=True)
class Sample:
    """The first rows of one export file, and how its text was decoded."""

    name: str
    table: pa.Table
    encoding: str | None  # CSV: the codec it reads in; Parquet: None
    complete: bool  # the sample is the whole file
    delimiter: str | None = None  # CSV: the field separator; Parquet: None

    @property
    def rows(self) -> str:
        """Return which rows the sample holds, in words."""
        return f"the first {self.table.num_rows:,} rows" + (" (the whole file)" if self.complete else "")


def export_files(data_dir: Path) -> list[Path]:
    """Return the export's CSV and Parquet files (not hidden ones), sorted by name."""
    suffixes = (".csv", ".parquet")
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes and p.name[0] != ".")


def csv_encoding(path: Path) -> str | None:
    """Return utf-16 for a file with its byte order mark, else the first of utf-8 / gbk / gb18030 the start of a
    CSV file decodes in (None when none does)."""
    if starts_utf16(path):
        return "utf-16"
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for encoding in TEXT_ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def read_sample(path: Path, rows: int = SAMPLE_ROWS) -> Sample:
    """Return the first `rows` rows of a file (CSV as text); ValueError when it cannot be read."""
    if path.suffix.lower() == ".parquet":
        parquet = pq.ParquetFile(path)
        batches = []
        for batch in parquet.iter_batches(batch_size=rows):
            batches.append(batch)
            if sum(b.num_rows for b in batches) >= rows:
                break
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow).slice(0, rows)
        return Sample(path.name, table, None, parquet.metadata.num_rows <= rows)
    first = csv_encoding(path)
    tried = ["utf-16"] if first == "utf-16" else TEXT_ENCODINGS[TEXT_ENCODINGS.index(first) :] if first else []
    for encoding in tried:
        try:
            return _csv_sample(path, encoding, rows)
        except UnicodeDecodeError:
            continue  # the start was ASCII, a later row is not: try the next encoding
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):  # Arrow's own UTF-8 reader says so this way
                continue
            raise ValueError(f"{path.name}: not a readable CSV file ({exc})") from exc
    raise ValueError(f"{path.name}: neither UTF-8 nor GBK / GB18030 text (nor UTF-16 with its byte order mark)")


def csv_delimiter(path: Path, encoding: str) -> str:
    """Return the field separator of a CSV file: the one of , ; tab | its header line holds most of (, if none)."""
    with path.open(newline="", encoding="utf-8-sig" if encoding == "utf-8" else encoding) as handle:
        line = handle.readline()
    counts = {delimiter: line.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_sample(path: Path, encoding: str, rows: int) -> Sample:
    source = Source("?", path, encoding, csv_delimiter(path, encoding))
    names = header(source)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), null_values=CSV_NULLS, strings_can_be_null=True
    )
    options = pa_csv.ReadOptions(encoding=encoding, block_size=4 << 20)
    reader = pa_csv.open_csv(path, read_options=options, parse_options=parse_options(source), convert_options=convert)
    batches, read = [], 0
    for batch in reader:  # reads block by block: stops one block after `rows`
        batches.append(batch)
        read += batch.num_rows
        if read > rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows)
    return Sample(path.name, table, encoding, read <= rows, source.delimiter)
