"""The first rows of an export's CSV / Parquet files, and the encoding each CSV file reads in.

CSV files are read as text, in UTF-16 when they start with its byte order mark, else UTF-8 (with or without BOM),
else GBK / GB18030 (Chinese) or cp1252 (Western European Windows text) as their first non-ASCII bytes read more
plausibly (`text_encoding`), their fields separated by the one of , ; tab | that their header line holds most of;
Parquet files keep their types.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.mapping import DELIMITERS
from pipelines.sources import CSV_NULLS, Source, header, parse_options, starts_utf16

SAMPLE_ROWS = 100_000
HEAD_BYTES = 1 << 20  # bytes of a CSV file its encoding is told from, from its first non-ASCII byte on
SCAN_BYTES = 256 << 20  # bytes searched for a first non-ASCII byte (beyond: read as UTF-8, then as FALLBACKS say)
CONTEXT_BYTES = 64  # ASCII bytes kept before the first non-ASCII one: the letters around it are the evidence
# Tried when the sample does not read in the encoding told from the first non-ASCII bytes: the start was ASCII (or
# plain GBK, or cp1252), a later row is not. GB18030 is a superset of GBK; latin-1 reads the five bytes cp1252 leaves
# undefined (0x81 0x8D 0x8F 0x90 0x9D, control characters in latin-1).
FALLBACKS = {"utf-8": ("gbk", "gb18030"), "gbk": ("gb18030",), "cp1252": ("iso8859-1",)}
WESTERN_SYMBOLS = "ºª°€£§¿¡«»‘’“”–—…·"  # non-letters a Western European text holds alone or next to a word


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
    """Return utf-16 for a file with its byte order mark, else the encoding `text_encoding` tells from the file's
    bytes from its first non-ASCII one on (utf-8 when the first SCAN_BYTES are ASCII; None when none fits)."""
    if starts_utf16(path):
        return "utf-16"
    with path.open("rb") as handle:
        for offset in range(0, SCAN_BYTES, HEAD_BYTES):
            block = handle.read(HEAD_BYTES)
            found = re.search(rb"[\x80-\xff]", block)
            if found is not None:  # every byte before it is ASCII: any offset up to it starts a character
                handle.seek(max(0, offset + found.start() - CONTEXT_BYTES))
                return text_encoding(handle.read(HEAD_BYTES))
            if len(block) < HEAD_BYTES:
                break
    return "utf-8"


def text_encoding(head: bytes) -> str | None:
    """Return the encoding of `head`, text that starts at a character: utf-8 when it decodes as UTF-8, else gbk /
    gb18030 or cp1252 (iso8859-1 when cp1252 leaves a byte undefined), whichever reading is the more plausible
    (`chinese_share`, `western_share`); None when neither reading is plausible.

    GBK decodes many Western byte pairs (an accented letter and the ASCII letter after it: "Código" is "C骴igo"),
    and cp1252 decodes almost any GBK text ("用户" is "ÓÃ»§"): decoding alone cannot tell them apart.
    """
    readings = {}
    for encoding in ("utf-8", "gbk", "gb18030", "cp1252", "iso8859-1"):
        try:
            readings[encoding] = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
    if "utf-8" in readings:
        return "utf-8"
    chinese = next((e for e in ("gbk", "gb18030") if e in readings), None)
    western = "cp1252" if "cp1252" in readings else "iso8859-1"
    chinese_share = _chinese_share(readings[chinese]) if chinese else 0.0
    western_share = _western_share(readings[western])
    if max(chinese_share, western_share) < 0.5:
        return None
    return western if western_share > chinese_share else chinese


def _runs(text: str) -> list[tuple[str, bool]]:
    """Return each run of non-ASCII characters of `text`, and whether an ASCII letter touches it on either side."""
    found = re.finditer(r"([A-Za-z]?)([^\x00-\x7f]+)(?=([A-Za-z]?))", text)
    return [(m[2], bool(m[1] or m[3])) for m in found]


def _chinese_share(text: str) -> float:
    """Return the share of non-ASCII runs of a GBK reading that read as Chinese: not a lone character glued to an
    ASCII letter (how a Western accented letter reads in GBK: "C骴igo", "Tel閒ono", "A駉")."""
    runs = _runs(text)
    return sum(not (len(run) == 1 and glued) for run, glued in runs) / len(runs) if runs else 0.0


def _western_share(text: str) -> float:
    """Return the share of non-ASCII runs of a cp1252 / latin-1 reading that read as Western European text: one or
    two letters glued to an ASCII letter ("Código", "AÑO", "Müller"), or one symbol (€, º, ’, «)."""
    runs = _runs(text)
    letters = [len(run) <= 2 and glued and all(c.isalpha() or c in WESTERN_SYMBOLS for c in run) for run, glued in runs]
    symbols = [len(run) == 1 and run in WESTERN_SYMBOLS for run, _ in runs]
    return sum(map(max, letters, symbols)) / len(runs) if runs else 0.0


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
    tried = (first, *FALLBACKS.get(first, ())) if first else ()
    for encoding in tried:
        try:
            return _csv_sample(path, encoding, rows)
        except UnicodeDecodeError:
            continue  # the start was ASCII, a later row is not: try the next encoding
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):  # Arrow's own UTF-8 reader says so this way
                continue
            raise ValueError(f"{path.name}: not a readable CSV file ({exc})") from exc
    raise ValueError(
        f"{path.name}: neither UTF-8, GBK / GB18030 nor Western European (cp1252) text (nor UTF-16 with its byte "
        "order mark): name its encoding in the mapping (`encoding: shift_jis`, `big5`, `euc-kr` ...)"
    )


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
