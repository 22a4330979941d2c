"""Read and validate the input tables: `validate_tables` returns clean frames, quarantines bad rows.

`read_table(data_dir, contract)` finds the table's file or files (`pipelines.sources.locate`), reads only
the contract's columns with pyarrow and converts each one to the contract type. Structural
problems raise `ContractError` at once: a missing file or column, or a value that cannot be
converted (the message names the column and shows the first offending rows).

Types in memory: int64 (pandas Int64 when the column is nullable or holds nulls), float64,
string as pandas `str`, bool (pandas boolean when nullable or holding nulls), date as
datetime64[ms], datetime as naive datetime64 (the file's unit). Non-nullable columns that
hold nulls are left nullable here; `pipelines.quarantine` moves those rows aside.
The frame's index is the row number in the file (0-based, header excluded); of a table read from several
files (a folder, a glob pattern: pipelines/sources.py), the row number in them all, in order, and error
examples and quarantine files name the file and the row in it (`source_file`, `source_row`).

`validate_tables(data_dir, settings.validation, quarantine_dir, report_file)` reads every table
in `settings.tables` order (parents first), then the optional tables the export has
(pipelines.mapping.OPTIONAL_TABLES: campaigns; an export without them runs as before), fails fast
on structural problems (also duplicate primary keys), moves rows that break a check or row rule to
`<quarantine_dir>/<table>.parquet` (+ .csv) with their failed rules (see pipelines/quarantine.py),
writes a JSON report, and raises `QuarantineLimitError` when a table's quarantined share exceeds its
limit. References are checked against the parent's clean rows, so a quarantined subscriber's bills
are quarantined (`known_subscriber`), and so on down to payments (`known_bill`).
Nothing is dropped silently: clean + quarantined = rows read, for every table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data_contracts.loader import Contract, ContractError, load_contract
from pipelines import quarantine
from pipelines.coerce import IdKind, coerce, csv_type, fill_column, id_kind_of, repeats, settle_ids, to_pandas
from pipelines.data_end import export_data_end
from pipelines.evidence import evidence_for
from pipelines.mapping import OPTIONAL_TABLES, MappingError, SourceMapping, mapping_for
from pipelines.quarantine import QuarantineLimitError, TableReport, ValidationResult, write_report
from pipelines.source_files import rows_by_file, rows_named_by_file
from pipelines.sources import CSV_NULLS, delimiter_hint, find, header, locate, read_files, table_path
from tiercast.errors import ConfigurationError
from tiercast.settings.validation import ValidationSettings

if TYPE_CHECKING:
    from tiercast.settings import Settings

__all__ = [
    "CSV_NULLS",
    "QuarantineLimitError",
    "RawTable",
    "TableReport",
    "ValidationResult",
    "read_table",
    "table_path",
    "validate_inputs",
    "validate_tables",
]

log = logging.getLogger(__name__)

EXAMPLES = 5
SUBSCRIBER_KEY = "subscriber_id"  # the id every input table carries; one kind (int64 or text) per export


@dataclass(frozen=True)
class RawTable:
    """A table as read: the frame in contract types (present columns only), where it came from,
    the export's columns not used, the optional columns it lacks, and the kind of its subscriber ids."""

    frame: pd.DataFrame
    path: Path
    ignored_columns: tuple[str, ...]
    absent_columns: tuple[str, ...] = ()
    id_kind: IdKind | None = None
    files: tuple[tuple[str, int], ...] = ()  # a table of several files: each file's name and rows, in order


def validate_inputs(
    settings: Settings,
    data_dir: Path | None = None,
    quarantine_dir: Path | None = None,
    report_file: Path | None = None,
    kind: str = "validate",
) -> ValidationResult:
    """Return `validate_tables` on `data_dir` (default paths.raw) through `inputs.mapping`.

    Quarantine files and the report go where given, else to this run's dated folders
    (`pipelines.evidence`, `kind` names the run: validate, features, train, ...).
    """
    paths = settings.paths
    folder = data_dir or paths.resolve(paths.raw)
    if quarantine_dir is None or report_file is None:
        evidence = evidence_for(settings, kind)
        quarantine_dir = quarantine_dir or evidence.quarantine
        report_file = report_file or evidence.report
    report = report_file
    try:
        mapping = input_mapping(settings)
    except MappingError as exc:  # the report must not keep saying the last run was fine
        write_report(report, folder, datetime.now(UTC), {}, error=str(exc), mapping=settings.inputs.mapping)
        raise
    return validate_tables(folder, settings.validation, quarantine_dir, report, mapping=mapping)


def input_mapping(settings: Settings) -> SourceMapping:
    """Return the source mapping of `inputs.mapping` (the identity mapping when none is set)."""
    path = settings.inputs.mapping
    return mapping_for(None if path is None else settings.paths.resolve(path), tuple(settings.validation.tables))


def validate_tables(
    data_dir: Path,
    settings: ValidationSettings,
    quarantine_dir: Path,
    report_file: Path,
    mapping: SourceMapping | None = None,
    id_kind: IdKind | None = None,
    data_end: date | None = None,
    repeated: Mapping[str, np.ndarray] | None = None,
    previous_rows: Mapping[str, int] | None = None,
) -> ValidationResult:
    """Return the clean input tables; quarantine bad rows; raise ContractError or QuarantineLimitError.

    Tables are read through `mapping`. Subscriber ids take the kind (int64 or text) of the first
    table's, or `id_kind` when given (a shard of an export whose kind was decided on the whole).
    Rows dated after where the export's data ends (`data_end`, by default read from its bills) are
    quarantined as future_dated. `repeated` names, per unique column, values (`id_numbers`) that
    repeat in rows this call does not see (other shards): their rows fail `<column>:unique` too.
    A table with fewer rows than `settings.min_rows`, or (given `previous_rows`, the rows the last
    run read) more than `settings.max_row_drop_share` fewer, stops validation (`check_volumes`).
    """
    if quarantine_dir.resolve() == data_dir.resolve():
        raise ConfigurationError(
            f"the quarantine folder must not be the data folder ({data_dir}): it would overwrite inputs"
        )
    mapping = mapping or SourceMapping()
    contracts = [load_contract(table) for table in settings.tables]
    contracts += optional_contracts(data_dir, settings.tables, mapping)
    _check_order(contracts)
    # No stale files from an earlier run survive a failure (nor those of an optional table now absent).
    quarantine.clear(quarantine_dir, (*settings.tables, *OPTIONAL_TABLES))
    started = datetime.now(UTC)
    clean: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    try:
        if data_end is None and "bills" in settings.tables:
            data_end = export_data_end(data_dir, mapping, settings.data_end_min_share)
        for contract in contracts:
            raw = read_table(data_dir, contract, settings.examples, mapping, id_kind)
            id_kind = id_kind or raw.id_kind
            clean[contract.table], reports[contract.table] = _validate_one(
                raw, contract, clean, settings, quarantine_dir, data_end, repeated or {}
            )
    except ContractError as exc:
        write_report(report_file, data_dir, started, reports, error=str(exc), mapping=mapping.source)
        raise
    try:
        check_volumes(reports, settings, previous_rows or {})
    except ContractError as exc:
        write_report(report_file, data_dir, started, reports, error=str(exc), mapping=mapping.source)
        raise
    result = ValidationResult(clean, reports, report_file)
    write_report(report_file, data_dir, started, reports, error=None, mapping=mapping.source)
    if result.exceeded:
        raise QuarantineLimitError(result)
    return result


def optional_contracts(data_dir: Path, tables: Sequence[str], mapping: SourceMapping) -> list[Contract]:
    """Return the contracts of the OPTIONAL_TABLES (not among `tables`) that the export in `data_dir` has.

    One whose parent tables are not all among `tables` is left out with a warning (its rows could not be checked).
    """
    found = []
    for table in OPTIONAL_TABLES:
        if table in tables or find(data_dir, table, mapping) is None:
            continue
        contract = load_contract(table)
        missing = sorted(contract.parent_tables - set(tables))
        if missing:
            log.warning("%s is in %s but not read: validation.tables lacks %s", table, data_dir, missing)
            continue
        found.append(contract)
    return found


def _validate_one(
    raw: RawTable,
    full: Contract,
    parents: dict[str, pd.DataFrame],
    settings: ValidationSettings,
    out: Path,
    data_end: date | None,
    repeated: Mapping[str, np.ndarray],
) -> tuple[pd.DataFrame, TableReport]:
    start = time.perf_counter()
    contract = full.without(raw.absent_columns)
    quarantine.check_primary_key(raw.frame, contract, settings.examples, raw.files)
    parts = quarantine.split(raw.frame, contract, parents, data_end, repeated)
    if raw.files:
        parts = replace(parts, quarantined=with_source_files(parts.quarantined, raw.files))
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
        seconds={"check": round(checked - start, 3)},
        absent_columns={name: full.columns[name].when_missing for name in raw.absent_columns},
        unmapped_codes=parts.unmapped,
    )
    level = logging.WARNING if report.quarantined else logging.INFO
    log.log(level, "%s: %d clean, %d quarantined -> %s", contract.table, report.clean, report.quarantined, files[0])
    for column, effect in report.absent_columns.items():
        log.warning("%s.%s is not in this export: %s", contract.table, column, effect)
    for column, codes in parts.unmapped.items():
        log.warning("%s.%s: codes the mapping does not know (quarantined): %s", contract.table, column, codes)
    return with_absent_columns(parts.clean, full, raw.absent_columns), report


def with_source_files(quarantined: pd.DataFrame, files: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """Return quarantined rows of a table read from several files with the file each came from (`source_file`)
    and its row there (`source_row`), instead of its row in all of them."""
    names, counts = zip(*files, strict=True)
    index, rows = rows_by_file(quarantined[quarantine.ROW_COLUMN].to_numpy(dtype="int64"), counts)
    found = quarantined.assign(**{quarantine.ROW_COLUMN: rows})
    found.insert(0, "source_file", np.asarray(names, dtype=object)[index])
    return found


def with_absent_columns(frame: pd.DataFrame, contract: Contract, absent: tuple[str, ...]) -> pd.DataFrame:
    """Return `frame` with every contract column in contract order, absent optional ones holding their fill value."""
    if not absent:
        return frame
    filled = {name: fill_column(contract.columns[name], len(frame)) for name in absent}
    return frame.assign(**filled)[contract.column_names]


def check_volumes(
    reports: Mapping[str, TableReport], settings: ValidationSettings, previous_rows: Mapping[str, int]
) -> None:
    """Raise ContractError (rule min_rows or max_drop) for an input table that is empty or has shrunk."""
    for table, report in reports.items():
        least = settings.min_rows.get(table, 0)
        if report.rows_read < least:
            raise ContractError(
                table,
                f"{report.rows_read} rows in {report.source}, at least {least} expected "
                "(validation.min_rows): an empty or cut export",
                rule="min_rows",
            )
        before = previous_rows.get(table)
        if before and report.rows_read < (1 - settings.max_row_drop_share) * before:
            raise ContractError(
                table,
                f"{report.rows_read:,} rows in {report.source}, the previous run read {before:,}: more than "
                f"{settings.max_row_drop_share:.0%} fewer (validation.max_row_drop_share); a shrunken export",
                rule="max_drop",
            )


def _check_order(contracts: list[Contract]) -> None:
    seen: set[str] = set()
    for contract in contracts:
        missing = sorted(contract.parent_tables - seen)
        if missing:
            raise ContractError(contract.table, f"validation.tables must list {missing} before {contract.table}")
        seen.add(contract.table)


def read_table(
    data_dir: Path,
    contract: Contract,
    examples: int = EXAMPLES,
    mapping: SourceMapping | None = None,
    id_kind: IdKind | None = None,
) -> RawTable:
    """Return the table `contract.table` from `data_dir` through `mapping`, each present column in its contract type.

    Required columns must be there (ContractError); optional ones the export lacks are listed in
    `absent_columns` and left out of the frame. The frame's index is the row number in the file.
    """
    mapping = mapping or SourceMapping()
    source = locate(data_dir, contract.table, mapping)
    names = mapping.table(contract.table)
    present = header(source)
    wanted = {name: names.source_name(name) for name in contract.columns}
    renamed = [name for name in names.columns if wanted[name] not in present]
    if renamed:
        name = renamed[0]
        raise ContractError(
            contract.table,
            f"the mapping reads {name} from column {wanted[name]!r}, which {source.path.name} does not have; "
            f"found {present}{delimiter_hint(source, present)}",
            name,
            "exists",
        )
    missing = [name for name in contract.required_columns if wanted[name] not in present]
    if missing:
        raise ContractError(
            contract.table,
            f"missing required column(s) {missing} in {source.path.name}; found {present} "
            f"(a column under another name: map it under columns: in the mapping){delimiter_hint(source, present)}",
            missing[0],
            "exists",
        )
    absent = tuple(name for name in contract.optional_columns if wanted[name] not in present)
    used = {name: wanted[name] for name in contract.columns if name not in absent}
    ignored = tuple(column for column in present if column not in used.values())
    if ignored and contract.strict:
        raise ContractError(
            contract.table, f"unexpected column(s) {list(ignored)} in {source.path.name} (strict contract)"
        )
    csv_types = {used[name]: csv_type(contract.columns[name], names) for name in used}
    repeating = [used[name] for name in used if repeats(contract.columns[name], names)]
    arrow, counts = read_files(source, list(used.values()), csv_types, repeating)
    files = tuple(zip(_file_names(data_dir, source.parts), counts, strict=True)) if len(counts) > 1 else ()
    columns = {}
    try:
        for name, column in used.items():
            spec = contract.columns[name]
            values = coerce(contract.table, spec, arrow.column(column), names)
            if name == SUBSCRIBER_KEY:
                id_kind = id_kind or id_kind_of(values)
                values = settle_ids(contract.table, spec, values, id_kind)
            elif spec.type == "id":
                values = settle_ids(contract.table, spec, values, id_kind_of(values))
            columns[name] = to_pandas(spec, values)
    except ContractError as exc:
        if files:  # its example rows are positions in all the files: name each one's file and row
            exc.args = (rows_named_by_file(str(exc), [n for n, _ in files], counts),)
        raise
    del arrow
    frame = pd.DataFrame(columns, copy=False)
    log.info("read %s: %d rows from %s", contract.table, len(frame), source.path)
    return RawTable(frame, source.path, ignored, absent, id_kind, files)


def _file_names(data_dir: Path, files: Sequence[Path]) -> list[str]:
    """Return the files' paths relative to the export's folder (their names when outside it)."""
    return [str(p.relative_to(data_dir)) if p.is_relative_to(data_dir) else p.name for p in files]
