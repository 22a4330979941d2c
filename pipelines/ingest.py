"""Read and validate the input tables: `validate_tables` returns clean frames, quarantines bad rows.

`read_table(data_dir, contract)` finds `<table>.parquet` (preferred) or `<table>.csv`, reads only
the contract's columns with pyarrow and converts each one to the contract type. Structural
problems raise `ContractError` at once: a missing file or column, or a value that cannot be
converted (the message names the column and shows the first offending rows).

Types in memory: int64 (pandas Int64 when the column is nullable or holds nulls), float64,
string as pandas `str`, bool (pandas boolean when nullable or holding nulls), date as
datetime64[ms], datetime as naive datetime64 (the file's unit). Non-nullable columns that
hold nulls are left nullable here; `pipelines.quarantine` moves those rows aside.
The frame's index is the row number in the file (0-based, header excluded).

`validate_tables(data_dir, settings.validation, quarantine_dir, report_file)` reads every table
in `settings.tables` order (parents first), fails fast on structural problems (also duplicate
primary keys), moves rows that break a check or row rule to `<quarantine_dir>/<table>.parquet`
(+ .csv) with their failed rules (see pipelines/quarantine.py), writes a JSON report, and raises
`QuarantineLimitError` when a table's quarantined share exceeds its limit. References are checked
against the parent's clean rows, so a quarantined subscriber's bills are quarantined
(`known_subscriber`), and so on down to payments (`known_bill`).
Nothing is dropped silently: clean + quarantined = rows read, for every table.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data_contracts.loader import ColumnSpec, Contract, ContractError, load_contract
from pipelines import quarantine
from pipelines.quarantine import QuarantineLimitError, TableReport, ValidationResult, write_report
from tiercast.settings.validation import ValidationSettings

if TYPE_CHECKING:
    from tiercast.settings import Settings

__all__ = [
    "QuarantineLimitError",
    "RawTable",
    "TableReport",
    "ValidationResult",
    "read_table",
    "validate_inputs",
    "validate_tables",
]

log = logging.getLogger(__name__)

FORMATS = ("parquet", "csv")
# Text read as null in CSV files (pandas writes NaN/None as an empty field).
CSV_NULLS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"]
EXAMPLES = 5


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


# Arrow source types each contract type may be converted from (anything else is a wrong type).
_SOURCES: dict[str, tuple[Callable[[pa.DataType], bool], ...]] = {
    "int64": (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, _is_text),
    "float64": (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, _is_text),
    "string": (_is_text, pa.types.is_integer),
    "category": (_is_text, pa.types.is_integer),
    "bool": (pa.types.is_boolean, pa.types.is_integer, _is_text),
    "date": (pa.types.is_date, pa.types.is_timestamp, _is_text),
    "datetime": (pa.types.is_timestamp, pa.types.is_date, _is_text),
}


@dataclass(frozen=True)
class RawTable:
    """A table as read: the frame in contract types, where it came from, and columns ignored."""

    frame: pd.DataFrame
    path: Path
    ignored_columns: tuple[str, ...]


def validate_inputs(
    settings: Settings,
    data_dir: Path | None = None,
    quarantine_dir: Path | None = None,
    report_file: Path | None = None,
) -> ValidationResult:
    """Return `validate_tables` on `data_dir` (default paths.raw), with folders from `settings.paths`."""
    paths = settings.paths
    return validate_tables(
        data_dir or paths.resolve(paths.raw),
        settings.validation,
        quarantine_dir or paths.resolve(paths.quarantine),
        report_file or paths.resolve(paths.reports) / settings.validation.report_file,
    )


def validate_tables(
    data_dir: Path, settings: ValidationSettings, quarantine_dir: Path, report_file: Path
) -> ValidationResult:
    """Return the clean input tables; quarantine bad rows; raise ContractError or QuarantineLimitError."""
    if quarantine_dir.resolve() == data_dir.resolve():
        raise ValueError(f"the quarantine folder must not be the data folder ({data_dir}): it would overwrite inputs")
    contracts = [load_contract(table) for table in settings.tables]
    _check_order(contracts)
    quarantine.clear(quarantine_dir, settings.tables)  # no stale files from an earlier run survive a failure
    started = datetime.now(UTC)
    clean: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    try:
        for contract in contracts:
            clean[contract.table], reports[contract.table] = _validate_one(
                data_dir, contract, clean, settings, quarantine_dir
            )
    except ContractError as exc:
        write_report(report_file, data_dir, started, reports, error=str(exc))
        raise
    result = ValidationResult(clean, reports, report_file)
    write_report(report_file, data_dir, started, reports, error=None)
    if result.exceeded:
        raise QuarantineLimitError(result)
    return result


def _validate_one(
    data_dir: Path, contract: Contract, parents: dict[str, pd.DataFrame], settings: ValidationSettings, out: Path
) -> tuple[pd.DataFrame, TableReport]:
    start = time.perf_counter()
    raw = read_table(data_dir, contract, settings.examples)
    read = time.perf_counter()
    quarantine.check_primary_key(raw.frame, contract, settings.examples)
    parts = quarantine.split(raw.frame, contract, parents)
    checked = time.perf_counter()
    files = quarantine.write_quarantine(parts.quarantined, out, contract.table, settings.quarantine_csv)
    report = TableReport(
        table=contract.table,
        source=raw.path,
        rows_read=len(raw.frame),
        clean=len(parts.clean),
        quarantined=len(parts.quarantined),
        limit=settings.limit(contract.table),
        rules=parts.rule_counts,
        descriptions=parts.rule_descriptions,
        quarantine_files=files,
        ignored_columns=raw.ignored_columns,
        seconds={"read": round(read - start, 3), "check": round(checked - read, 3)},
    )
    level = logging.WARNING if report.quarantined else logging.INFO
    log.log(level, "%s: %d clean, %d quarantined -> %s", contract.table, report.clean, report.quarantined, files[0])
    return parts.clean, report


def _check_order(contracts: list[Contract]) -> None:
    seen: set[str] = set()
    for contract in contracts:
        missing = sorted(contract.parent_tables - seen)
        if missing:
            raise ContractError(contract.table, f"validation.tables must list {missing} before {contract.table}")
        seen.add(contract.table)


def table_path(data_dir: Path, table: str) -> Path:
    """Return `<data_dir>/<table>.parquet`, else `<table>.csv`; ContractError if neither exists."""
    candidates = [data_dir / f"{table}.{fmt}" for fmt in FORMATS]
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise ContractError(table, f"missing table: no {table}.parquet or {table}.csv in {data_dir}", rule="exists")
    if len(found) > 1:
        log.warning("%s: both Parquet and CSV found in %s; reading %s", table, data_dir, found[0].name)
    return found[0]


def read_table(data_dir: Path, contract: Contract, examples: int = EXAMPLES) -> RawTable:
    """Return the table `contract.table` from `data_dir`, every contract column in its contract type."""
    path = table_path(data_dir, contract.table)
    present = _csv_header(path) if path.suffix == ".csv" else pq.read_schema(path).names
    missing = [name for name in contract.columns if name not in present]
    if missing:
        raise ContractError(
            contract.table, f"missing column(s) {missing} in {path.name}; found {present}", missing[0], "exists"
        )
    ignored = tuple(name for name in present if name not in contract.columns)
    if ignored and contract.strict:
        raise ContractError(contract.table, f"unexpected column(s) {list(ignored)} in {path.name} (strict contract)")
    arrow = _read_csv(path, contract) if path.suffix == ".csv" else pq.read_table(path, columns=contract.column_names)
    columns = {
        name: _to_pandas(spec, _coerce(contract.table, spec, arrow.column(name), examples))
        for name, spec in contract.columns.items()
    }
    del arrow
    frame = pd.DataFrame(columns, copy=False)
    log.info("read %s: %d rows from %s", contract.table, len(frame), path)
    return RawTable(frame=frame, path=path, ignored_columns=ignored)


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def _read_csv(path: Path, contract: Contract) -> pa.Table:
    """Read the contract columns, typed; on a conversion error, as text so `_coerce` can point at the rows."""
    options = {"include_columns": contract.column_names, "null_values": CSV_NULLS, "strings_can_be_null": True}
    typed = {name: _arrow_type(spec, pa.string()) for name, spec in contract.columns.items()}
    try:
        return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=typed, **options))
    except pa.ArrowInvalid:
        text = dict.fromkeys(contract.column_names, pa.string())
        return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=text, **options))


def _arrow_type(spec: ColumnSpec, source: pa.DataType) -> pa.DataType:
    """The Arrow type a column is converted to before it becomes pandas (timestamps keep ms/us/ns)."""
    if spec.type == "datetime":
        keep = pa.types.is_timestamp(source) and source.unit != "s"
        return pa.timestamp(source.unit) if keep else pa.timestamp("ms")
    if spec.type in ("string", "category"):
        return source if pa.types.is_large_string(source) else pa.string()
    return {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "date": pa.date32()}[spec.type]


def _coerce(table: str, spec: ColumnSpec, column: pa.ChunkedArray, examples: int) -> pa.ChunkedArray:
    """Return `column` cast to the contract type; ContractError naming the first rows that do not convert."""
    source = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_dictionary(column.type):
        column = column.cast(source)
    target = _arrow_type(spec, source)
    if source == target:
        return column
    if spec.type == "date" and _is_text(source):
        try:
            return pc.cast(column, target)
        except pa.ArrowInvalid:  # "2024-01-01 00:00:00": read as timestamps, then insist on midnight
            column = _coerce(table, spec.model_copy(update={"type": "datetime"}), column, examples)
            source = column.type
    if not pa.types.is_null(source) and not any(accepts(source) for accepts in _SOURCES[spec.type]):
        raise ContractError(table, f"wrong type: expected {spec.type}, found {source}", spec.name, "type")
    try:
        cast = _cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        rows = _failing_rows(column, target, examples)
        raise ContractError(
            table, f"wrong type: values cannot be read as {spec.type} ({exc})", spec.name, "type", _show(column, rows)
        ) from exc
    lossy = _lossy_rows(column, cast, spec)[:examples]
    if lossy:
        raise ContractError(
            table, f"wrong type: values are not {spec.type} (found {source})", spec.name, "type", _show(column, lossy)
        )
    return cast


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """Cast safely; integers written as decimals ("3.0", as pandas writes them to CSV) go through float64."""
    try:
        return pc.cast(column, target)
    except pa.ArrowInvalid:
        if not (pa.types.is_integer(target) and _is_text(column.type)):
            raise
        return pc.cast(pc.cast(column, pa.float64()), target)


def _lossy_rows(column: pa.ChunkedArray, cast: pa.ChunkedArray, spec: ColumnSpec) -> list[int]:
    """Rows a cast would silently change: a time of day in a date column, a 2 in a bool column."""
    if spec.type == "date" and pa.types.is_timestamp(column.type):
        changed = pc.not_equal(pc.cast(cast, column.type), column)
    elif spec.type == "bool" and pa.types.is_integer(column.type):
        changed = pc.invert(pc.is_in(column, value_set=pa.array([0, 1], column.type)))
    else:
        return []
    positions = pc.indices_nonzero(pc.fill_null(changed, False)).to_pylist()
    return [int(p) for p in positions[:EXAMPLES]]


def _failing_rows(column: pa.ChunkedArray, target: pa.DataType, limit: int) -> list[int]:
    """Return the first rows whose value does not cast to `target` (bisection: a few casts of halves)."""
    found: list[int] = []

    def visit(start: int, length: int) -> None:
        if length == 0 or len(found) >= limit:
            return
        try:
            _cast(column.slice(start, length), target)
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if length == 1:
                found.append(start)
                return
        half = length // 2
        visit(start, half)
        visit(start + half, length - half)

    visit(0, len(column))
    return found


def _show(column: pa.ChunkedArray, rows: list[int]) -> str:
    values = [column[row].as_py() for row in rows]
    return "\n".join(f"  row {row}: {value!r}" for row, value in zip(rows, values, strict=True))


def _to_pandas(spec: ColumnSpec, column: pa.ChunkedArray) -> pd.Series:
    """Convert an Arrow column already in the contract type to its pandas dtype."""
    extension = {"int64": pd.Int64Dtype(), "bool": pd.BooleanDtype()}.get(spec.type)
    if extension is not None and (spec.nullable or column.null_count > 0):
        return column.to_pandas(types_mapper={column.type: extension}.get)
    series = column.to_pandas(date_as_object=False)
    return series.astype("category") if spec.type == "category" else series
