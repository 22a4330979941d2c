"""Where an input table lives in an export and how its raw columns are read (Arrow, export names).

`locate(data_dir, table, mapping)` finds the table's files (pipelines/source_files.py): the mapping's `file`
(a file, a folder, or a glob pattern), else `<table>.parquet` (preferred), `<table>.csv`, `<table>.arrow` (an Arrow
IPC file: how the nightly stages its shards), `.txt` / `.tsv` / `.dat` text, text compressed, or a `<table>/`
folder; `find` does the same for an optional table and says None when it is absent. `header(source)` lists the
columns (every file of a table must have the same ones, in any order), `read_columns(...)` reads some of them
as an Arrow table (text in the mapping's encoding: Arrow transcodes any Python text codec to UTF-8 block by
block, so GBK, cp1252 or Shift_JIS read the same whole or streamed), and `iter_batches(...)` streams them, file
after file in name order. Column names here are the export's; pipelines/ingest.py renames them to tiercast's.
"""

from __future__ import annotations

import csv
import logging
import re
import zipfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from data_contracts.loader import ContractError
from pipelines.mapping import DELIMITERS, SourceMapping
from pipelines.source_files import (
    ARROW,
    PARQUET,
    TEXT,
    csv_input,
    exists,
    file_format,
    open_binary,
    open_text,
    suffixes,
    table_files,
)

log = logging.getLogger(__name__)

KINDS = {PARQUET: "Parquet", TEXT: "CSV", ARROW: "Arrow IPC"}
# Text read as null in CSV files (pandas writes NaN/None as an empty field).
CSV_NULLS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"]
BLOCK_BYTES = 64 << 20  # CSV bytes parsed per block when streaming
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # how a UTF-16 file (Excel's "Unicode text") starts


@dataclass(frozen=True)
class Source:
    """One input table's file (or files) in an export, and how to decode them."""

    table: str
    path: Path  # the file, or the folder or glob pattern its `files` were found under
    encoding: str  # Python codec name of CSV text, any text codec (utf-8 also reads a BOM)
    delimiter: str = ","  # CSV field separator
    decimal: str = "."  # decimal mark of CSV numbers
    files: tuple[Path, ...] = ()  # the files read, in order, when not `path` alone

    @property
    def parts(self) -> tuple[Path, ...]:
        """Return the files the table is read from, in the order they are read."""
        return self.files or (self.path,)

    def part(self, path: Path) -> Source:
        """Return the source of one of its files."""
        return replace(self, path=path, files=())

    def single(self) -> Source:
        """Return the source of its one file (a folder holding one file: that file)."""
        return self.part(self.parts[0]) if self.files else self

    @property
    def is_csv(self) -> bool:
        """True for delimited text (.csv, .txt, .tsv, .dat, compressed or not)."""
        return file_format(self.parts[0]) == TEXT

    @property
    def is_arrow(self) -> bool:
        """True for an Arrow IPC file (read memory-mapped, no decoding)."""
        return file_format(self.parts[0]) == ARROW


def locate(data_dir: Path, table: str, mapping: SourceMapping | None = None) -> Source:
    """Return where `table` is in `data_dir`; ContractError naming the table and the file if it is not there.

    A table whose files are all `.tsv` is read tab-separated unless the mapping names a `delimiter`.
    """
    mapping = mapping or SourceMapping()
    names = mapping.table(table)  # the table's own encoding, delimiter and decimal mark, else the export's
    path, files = table_files(data_dir, table, names.file)
    own = mapping.tables.get(table)  # as the mapping file wrote it: None where it says nothing
    named = "delimiter" in mapping.model_fields_set or (own is not None and own.delimiter is not None)
    tabs = not named and all(suffixes(p)[0] == ".tsv" for p in files)
    delimiter = "\t" if tabs else names.delimiter or mapping.delimiter
    encoding = names.encoding or mapping.encoding
    return Source(table, path, encoding, delimiter, names.decimal or mapping.decimal, () if files == (path,) else files)


def find(data_dir: Path, table: str, mapping: SourceMapping | None = None) -> Source | None:
    """Return where an optional `table` is in `data_dir`, None when the export does not have it (see `locate`)."""
    if not exists(data_dir, table, (mapping or SourceMapping()).table(table).file):
        return None
    return locate(data_dir, table, mapping)


def table_path(data_dir: Path, table: str, mapping: SourceMapping | None = None) -> Path:
    """Return the file of `table` in `data_dir` (see `locate`)."""
    return locate(data_dir, table, mapping).path


def _python_encoding(encoding: str) -> str:
    return "utf-8-sig" if encoding == "utf-8" else encoding


def unreadable(source: Source, exc: Exception) -> ContractError:
    """Return the structural error for a file that cannot be read at all (truncated, corrupted, not the format)."""
    kind = KINDS.get(str(file_format(source.path)), "Parquet")
    return ContractError(source.table, f"{source.path} is not a readable {kind} file: {exc}", rule="readable")


def _arrow_file(source: Source) -> ipc.RecordBatchFileReader:
    """Open an Arrow IPC file memory-mapped (its batches are read in place, not copied)."""
    try:
        return ipc.open_file(pa.memory_map(str(source.path)))
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(source, exc) from exc


def header(source: Source) -> list[str]:
    """Return the file's column names (a CSV's first line, decoded in the source's encoding).

    A table of several files: the first's, once every file has the same columns (any order), else ContractError.
    """
    if len(source.parts) > 1:
        return _common_header(source)
    source = source.single()
    if source.is_arrow:
        return list(_arrow_file(source).schema.names)
    if not source.is_csv:
        try:
            return list(pq.read_schema(source.path).names)
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(source, exc) from exc
    try:
        with open_text(source.path, _python_encoding(source.encoding)) as handle:
            return next(csv.reader(handle, delimiter=source.delimiter), [])
    except UnicodeDecodeError as exc:
        raise ContractError(
            source.table,
            f"{source.path.name}: the header is not {source.encoding} text{encoding_hint(source)}",
            rule="encoding",
        ) from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a broken archive or compressed stream
        raise unreadable(source, exc) from exc


def _common_header(source: Source) -> list[str]:
    """Return the first file's column names; ContractError naming a file whose columns differ, and how."""
    first, *others = source.parts
    names = header(source.part(first))
    for path in others:
        found = header(source.part(path))
        if set(found) != set(names):
            lacks = [name for name in names if name not in found]
            extra = [name for name in found if name not in names]
            raise ContractError(
                source.table,
                f"{path.name} does not have the columns of {first.name}: every file of a table must have the same "
                f"columns (any order); it lacks {lacks}, has {extra} besides",
                rule="exists",
            )
    return names


def encoding_hint(source: Source) -> str:
    """Return a hint naming the encoding a CSV file that does not read in the mapping's one reads in ("" if none)."""
    # export_sample reads samples through this module; the hint is its judgement of the file's bytes
    from pipelines.export_sample import csv_encoding

    told = csv_encoding(source.path)
    if told == "utf-16":
        return " (it starts with a UTF-16 byte order mark: set `encoding: utf-16` in the mapping)"
    if source.encoding == "cp1252" and told in ("cp1252", "iso8859-1"):
        return " (a byte cp1252 leaves undefined: `encoding: latin-1` reads every byte)"
    if told is None or told == source.encoding:
        return ""
    western = " (Western European Windows text: é, ñ, ü ...)" if told == "cp1252" else ""
    alone = f", or under tables.{source.table} for this table alone" if source.table != "?" else ""
    return f" (it reads as {told}{western}: set `encoding: {told}` in the mapping{alone})"


def starts_utf16(path: Path) -> bool:
    """True when the file starts (decompressed) with a UTF-16 byte order mark."""
    with open_binary(path) as handle:
        return handle.read(2) in UTF16_BOMS


def delimiter_hint(source: Source, names: list[str]) -> str:
    """Return a hint to set the mapping's `delimiter` when a CSV header read as one column holds another separator."""
    if not source.is_csv or len(names) != 1:
        return ""
    other = [d for d in DELIMITERS if d != source.delimiter and d in names[0]]
    return f" (fields separated by {other[0]!r}? set `delimiter: {other[0]!r}` in the mapping)" if other else ""


def _read_options(source: Source, block_size: int | None = None) -> pa_csv.ReadOptions:
    options = pa_csv.ReadOptions(encoding=source.encoding)
    if block_size is not None:
        options.block_size = block_size
    return options


def parse_options(source: Source) -> pa_csv.ParseOptions:
    """Return how the CSV file's fields are separated."""
    return pa_csv.ParseOptions(delimiter=source.delimiter)


def read_columns(
    source: Source, columns: list[str], csv_types: Mapping[str, pa.DataType], repeating: Collection[str] = ()
) -> pa.Table:
    """Return the export's `columns` of the file (CSV columns typed as `csv_types` says, else as text).

    Text columns named in `repeating` (dates, flags, codes) come dictionary-encoded, so the converter
    reads each distinct value once. Several files are one table, in order (`read_files`).
    """
    if len(source.parts) > 1:
        return read_files(source, columns, csv_types, repeating)[0]
    source = source.single()
    if source.is_arrow:
        table = _arrow_file(source).read_all().select(columns)
        for name in repeating:  # as Parquet's read_dictionary gives them
            if name in columns and pa.types.is_string(table.schema.field(name).type):
                table = table.set_column(table.schema.get_field_index(name), name, table[name].dictionary_encode())
        return table
    if not source.is_csv:
        try:
            schema = pq.read_schema(source.path)
            text = [name for name in repeating if name in schema.names and pa.types.is_string(schema.field(name).type)]
            return pq.read_table(source.path, columns=columns, read_dictionary=text or None)
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(source, exc) from exc
    typed = {name: csv_types.get(name, pa.string()) for name in columns}
    for name in repeating:
        if pa.types.is_string(typed.get(name, pa.int8())):
            typed[name] = pa.dictionary(pa.int32(), pa.string())
    names = header(source)
    missing = [name for name in columns if name not in names]
    if missing:
        raise ContractError(
            source.table,
            f"missing column(s) {missing} in {source.path.name}; found {names}{delimiter_hint(source, names)}",
            missing[0],
            "exists",
        )
    for _ in columns:
        try:
            return _read_csv(source, columns, typed)
        except pa.ArrowInvalid as exc:  # e.g. "1,234.50": that column as text, the converter reads it
            failed = re.search(r"CSV column #(\d+)", str(exc))
            column = names[int(failed[1])] if failed and int(failed[1]) < len(names) else None
            if column is None or typed.get(column) == pa.string():
                break
            typed[column] = pa.string()
    return _read_csv(source, columns, dict.fromkeys(columns, pa.string()))


def read_files(
    source: Source, columns: list[str], csv_types: Mapping[str, pa.DataType], repeating: Collection[str] = ()
) -> tuple[pa.Table, tuple[int, ...]]:
    """Return `read_columns` of every file of the source as one table, and each file's number of rows.

    A text column one file holds as text (a value that is not its type) is read as text from every file.
    """
    if len(source.parts) == 1:
        table = read_columns(source, columns, csv_types, repeating)
        return table, (table.num_rows,)
    header(source)  # every file has the same columns, or ContractError naming the one that differs
    types = dict(csv_types)
    while True:
        tables = [read_columns(source.part(path), columns, types, repeating).select(columns) for path in source.parts]
        differ = [name for name in columns if len({str(table.schema.field(name).type) for table in tables}) > 1]
        if not source.is_csv or not differ or all(types.get(name) == pa.string() for name in differ):
            break
        types.update(dict.fromkeys(differ, pa.string()))
    try:
        joined = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # Parquet parts whose types do not unify (int64 and text)
        column = (differ or columns)[0]
        types = {path.name: table.schema.field(column).type for path, table in zip(source.parts, tables, strict=True)}
        raise _types_differ(source.table, column, types) from exc
    return joined, tuple(table.num_rows for table in tables)


def _types_differ(table: str, column: str, types: Mapping[str, pa.DataType]) -> ContractError:
    """Return the structural error for files of one table holding `column` in types that do not unify."""
    shown = ", ".join(f"{name}: {kind}" for name, kind in types.items())
    return ContractError(
        table, f"the files hold it in different types ({shown}): one type in every file", column, "type"
    )


def _read_csv(source: Source, columns: list[str], types: Mapping[str, pa.DataType]) -> pa.Table:
    convert = pa_csv.ConvertOptions(
        include_columns=columns,
        column_types=dict(types),
        null_values=CSV_NULLS,
        strings_can_be_null=True,
        decimal_point=source.decimal,
    )
    try:
        with csv_input(source.path) as data:
            return pa_csv.read_csv(
                data, read_options=_read_options(source), parse_options=parse_options(source), convert_options=convert
            )
    except UnicodeDecodeError as exc:
        raise not_text(source, exc) from exc
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" in str(exc):  # UTF-8 is not transcoded: Arrow checks it, and says so this way
            raise not_text(source, exc) from exc
        if "CSV conversion error" in str(exc):
            raise  # a value of the wrong type: read_columns reads that column as text and the converter names rows
        raise unreadable(source, exc) from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # a broken compressed stream or archive
        raise unreadable(source, exc) from exc


def iter_batches(source: Source, columns: list[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Yield the file's rows in batches (all of its columns, or `columns`); CSV columns stay text.

    Several files: one after the other, each streamed, their columns in the first file's order (or `columns`').
    """
    if len(source.parts) > 1:
        yield from _iter_files(source, columns, batch_rows)
        return
    source = source.single()
    if source.is_arrow:
        reader = _arrow_file(source)
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            yield batch if columns is None else batch.select(columns)
        return
    if not source.is_csv:
        try:
            yield from pq.ParquetFile(source.path).iter_batches(batch_size=batch_rows, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(source, exc) from exc
        return
    names = header(source)
    convert = pa_csv.ConvertOptions(
        include_columns=columns or names,
        column_types=dict.fromkeys(columns or names, pa.string()),
        null_values=CSV_NULLS,
        strings_can_be_null=True,
    )
    try:
        with csv_input(source.path) as data:
            reader = pa_csv.open_csv(
                data,
                read_options=_read_options(source, BLOCK_BYTES),
                parse_options=parse_options(source),
                convert_options=convert,
            )
            yield from reader
    except UnicodeDecodeError as exc:  # the codec's own error, raised while transcoding a later block
        raise not_text(source, exc) from exc
    except pa.ArrowInvalid as exc:
        raise (not_text if "invalid UTF8" in str(exc) else unreadable)(source, exc) from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # a broken compressed stream or archive
        raise unreadable(source, exc) from exc


def _iter_files(source: Source, columns: list[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Yield the batches of every file of the source in order, as the first file's schema (ContractError if not)."""
    wanted = columns or header(source)
    if columns is not None:
        header(source)  # every file has the same columns, or ContractError naming the one that differs
    schema: pa.Schema | None = None
    for path in source.parts:
        for raw in iter_batches(source.part(path), wanted, batch_rows):
            batch = raw.select(wanted)
            if schema is None:
                schema = batch.schema
            elif batch.schema != schema:
                try:
                    batch = batch.cast(schema)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                    column = next(f.name for f in schema if batch.schema.field(f.name).type != f.type)
                    types = {
                        source.parts[0].name: schema.field(column).type,
                        path.name: batch.schema.field(column).type,
                    }
                    raise _types_differ(source.table, column, types) from exc
            yield batch


def not_text(source: Source, exc: Exception) -> ContractError:
    """Return the structural error for CSV bytes that do not decode in the mapping's encoding."""
    return ContractError(
        source.table, f"{source.path.name}: not {source.encoding} text ({exc}){encoding_hint(source)}", rule="encoding"
    )


def text_schema(source: Source) -> pa.Schema:
    """Return the file's schema (a CSV's columns all as text; several files: the first's, see `header`)."""
    if len(source.parts) > 1:
        header(source)
    source = source.single()
    if source.is_arrow:
        return _arrow_file(source).schema
    if not source.is_csv:
        return pq.read_schema(source.path)
    return pa.schema([(name, pa.string()) for name in header(source)])
