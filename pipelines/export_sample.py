"""The first rows of an export's CSV / Parquet files, and the encoding each CSV file reads in.

An export's entries (`export_files`) are its files tiercast reads (pipelines/source_files.py: Parquet, Arrow IPC,
delimited text .csv / .txt / .tsv / .dat, text compressed .gz / .bz2 / .zst / .zip), its folders of such files (one
table in parts), and files whose names differ only in their digits (`bills_202401.csv`, `bills_202402.csv`: one
table a month), given as one glob pattern (`bills_*.csv`): exactly what a mapping's `file:` names. The sample of a
folder or pattern is the first rows of its files in name order.

CSV files are read as text, in UTF-16 when they start with its byte order mark, else UTF-8 (with or without BOM),
else GBK / GB18030 (Chinese) or cp1252 (Western European Windows text) as their first non-ASCII bytes read more
plausibly (`text_encoding`), their fields separated by the one of , ; tab | that their header line holds most of;
Parquet files keep their types.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data_contracts.loader import ContractError
from pipelines.mapping import DELIMITERS
from pipelines.source_files import ARROW, PARQUET, csv_input, file_format, is_data, open_binary, open_text, table_files
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
    def ascii(self) -> bool:
        """True when the sample's names and text are all ASCII: it reads the same in any encoding but UTF-16."""
        if not all(name.isascii() for name in self.table.column_names):
            return False
        texts = [c for c in self.table.columns if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)]
        return all(pc.all(pc.string_is_ascii(c)).as_py() in (True, None) for c in texts)

    @property
    def rows(self) -> str:
        """Return which rows the sample holds, in words."""
        return f"the first {self.table.num_rows:,} rows" + (" (the whole file)" if self.complete else "")


def export_files(data_dir: Path) -> list[Path]:
    """Return the export's entries, sorted by name: files tiercast reads, folders holding them, and one glob pattern
    for files whose names differ only in digits (not hidden ones: `.x`, `_SUCCESS`)."""
    entries = sorted(p for p in data_dir.iterdir() if is_data(p))
    folders = [p for p in entries if p.is_dir() and any(is_data(f) and file_format(f) for f in p.iterdir())]
    groups: dict[str, list[Path]] = {}
    for path in (p for p in entries if p.is_file() and file_format(p) is not None):
        groups.setdefault(re.sub(r"\d+", "*", path.name), []).append(path)
    found = list(folders)
    for pattern, files in groups.items():
        whole = len(files) > 1 and sorted(p for p in data_dir.glob(pattern) if is_data(p)) == files
        found += [data_dir / pattern] if whole and len({_columns(p) for p in files}) == 1 else files
    return sorted(found, key=lambda p: p.name)


def _columns(path: Path) -> frozenset[str] | None:
    """Return a file's column names as its header line spells them (text read as latin-1: any bytes, compared
    only); None when it cannot be read."""
    try:
        if file_format(path) == ARROW:
            with pa.ipc.open_file(pa.memory_map(str(path))) as reader:
                return frozenset(reader.schema.names)
        if file_format(path) == PARQUET:
            return frozenset(pq.read_schema(path).names)
        with open_text(path, "latin-1") as handle:
            line = handle.readline().rstrip("\r\n")
        return frozenset(line.split(max(DELIMITERS, key=line.count)))
    except (OSError, ValueError, EOFError, pa.ArrowException):
        return None


def entry_files(path: Path) -> tuple[Path, ...]:
    """Return the files of an export entry (a file, a folder, a glob pattern), in the order they are read;
    ValueError when one is not a file tiercast reads."""
    try:
        return table_files(path.parent, "?", path.name)[1]
    except ContractError as exc:
        raise ValueError(f"{path.name}: {str(exc).removeprefix('?: ')}") from exc


def csv_encoding(path: Path) -> str | None:
    """Return utf-16 for a file with its byte order mark, else the encoding `text_encoding` tells from the file's
    bytes from its first non-ASCII one on (utf-8 when the first SCAN_BYTES are ASCII; None when none fits)."""
    if starts_utf16(path):
        return "utf-16"
    with open_binary(path) as handle:  # decompressed: a compressed stream reads forward only
        kept = b""
        for _ in range(0, SCAN_BYTES, HEAD_BYTES):
            block = handle.read(HEAD_BYTES)
            found = re.search(rb"[\x80-\xff]", block)
            if found is not None:  # every byte before it is ASCII: any offset up to it starts a character
                start = len(kept) + found.start() - CONTEXT_BYTES
                head = (kept + block)[max(0, start) :]
                return text_encoding((head + handle.read(HEAD_BYTES))[:HEAD_BYTES])
            if len(block) < HEAD_BYTES:
                break
            kept = block[-CONTEXT_BYTES:]
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
    """Return the first `rows` rows of an export entry (CSV as text; a folder or pattern: of its files in order,
    which must have the same columns); ValueError when it cannot be read."""
    files = entry_files(path)
    if len(files) == 1:
        return replace(_file_sample(files[0], rows), name=path.name)
    samples: list[Sample] = []
    for file in files:
        samples.append(_file_sample(file, rows - sum(s.table.num_rows for s in samples)))
        if sum(s.table.num_rows for s in samples) >= rows:
            break
    return _joined(path.name, samples, complete=len(samples) == len(files) and samples[-1].complete)


def _joined(name: str, samples: list[Sample], complete: bool) -> Sample:
    """Return the samples of one table's files as one (same columns, one encoding and separator)."""
    first = samples[0]
    for sample in samples[1:]:
        if set(sample.table.column_names) != set(first.table.column_names):
            lacks = [c for c in first.table.column_names if c not in sample.table.column_names]
            extra = [c for c in sample.table.column_names if c not in first.table.column_names]
            raise ValueError(
                f"{name}: {sample.name} does not have the columns of {first.name}: it lacks {lacks}, has {extra} "
                "besides (one table's files must have the same columns)"
            )
    encodings = {s.encoding for s in samples} - {"utf-8"}  # ASCII-only files read in any encoding
    if len(encodings) > 1:
        raise ValueError(f"{name}: its files read in different encodings {sorted(map(str, encodings))}")
    delimiters = {s.delimiter for s in samples if s.table.num_columns > 1}
    tables = [s.table.select(first.table.column_names) for s in samples]
    return Sample(
        name,
        pa.concat_tables(tables, promote_options="permissive"),
        next(iter(encodings), first.encoding),
        complete,
        next(iter(delimiters), first.delimiter) if len(delimiters) <= 1 else first.delimiter,
    )


def _file_sample(path: Path, rows: int) -> Sample:
    """Return the first `rows` rows of one file."""
    kind = file_format(path)
    if kind == ARROW:
        with pa.ipc.open_file(pa.memory_map(str(path))) as reader:
            table = pa.Table.from_batches(
                [reader.get_batch(i) for i in range(reader.num_record_batches)], schema=reader.schema
            )
        return Sample(path.name, table.slice(0, rows), None, table.num_rows <= rows)
    if kind == PARQUET:
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
    with open_text(path, "utf-8-sig" if encoding == "utf-8" else encoding) as handle:
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
    with csv_input(path) as data:
        reader = pa_csv.open_csv(
            data, read_options=options, parse_options=parse_options(source), convert_options=convert
        )
        batches, read = [], 0
        for batch in reader:  # reads block by block: stops one block after `rows`
            batches.append(batch)
            read += batch.num_rows
            if read > rows:
                break
    table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows)
    return Sample(path.name, table, encoding, read <= rows, source.delimiter)
