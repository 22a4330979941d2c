"""The first rows of an export's CSV / Parquet files, and the encoding each CSV file reads in.

CSV files are read as text, in UTF-8 (with or without BOM), else GBK, else GB18030; Parquet files keep their types.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.mapping import ENCODINGS
from pipelines.sources import CSV_NULLS, Source, header

SAMPLE_ROWS = 100_000
HEAD_BYTES = 1 << 20  # bytes of a CSV file its encoding is told from


@dataclass(frozen=True)
class Sample:
    """The first rows of one export file, and how its text was decoded."""

    name: str
    table: pa.Table
    encoding: str | None  # CSV: the codec it reads in; Parquet: None
    complete: bool  # the sample is the whole file

    @property
    def rows(self) -> str:
        """Return which rows the sample holds, in words."""
        return f"the first {self.table.num_rows:,} rows" + (" (the whole file)" if self.complete else "")


def export_files(data_dir: Path) -> list[Path]:
    """Return the export's CSV and Parquet files (not hidden ones), sorted by name."""
    suffixes = (".csv", ".parquet")
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes and p.name[0] != ".")


def csv_encoding(path: Path) -> str | None:
    """Return the first of utf-8 / gbk / gb18030 the start of a CSV file decodes in (None when none does)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for encoding in ENCODINGS:
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
    for encoding in ENCODINGS[ENCODINGS.index(first) :] if first else ():
        try:
            return _csv_sample(path, encoding, rows)
        except UnicodeDecodeError:
            continue  # the start was ASCII, a later row is not: try the next encoding
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):  # Arrow's own UTF-8 reader says so this way
                continue
            raise ValueError(f"{path.name}: not a readable CSV file ({exc})") from exc
    raise ValueError(f"{path.name}: neither UTF-8 nor GBK / GB18030 text")


def _csv_sample(path: Path, encoding: str, rows: int) -> Sample:
    names = header(Source("?", path, encoding))
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), null_values=CSV_NULLS, strings_can_be_null=True
    )
    options = pa_csv.ReadOptions(encoding=encoding, block_size=4 << 20)
    reader = pa_csv.open_csv(path, read_options=options, convert_options=convert)
    batches, read = [], 0
    for batch in reader:  # reads block by block: stops one block after `rows`
        batches.append(batch)
        read += batch.num_rows
        if read > rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows)
    return Sample(path.name, table, encoding, read <= rows)
