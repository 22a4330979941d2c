"""Split an input table into clean and quarantined rows (with their failed rules); validation reports.

Rule names in reports and quarantine files:
- `<column>:not_null`: a null in a non-nullable column (such a row is reported under this rule only);
- `<column>:<check>`: a value check from the YAML (`amount:ge`, `msisdn:str_matches`);
- `<column>:unmapped_value`: a code outside a closed vocabulary (`channel`, `reason`, ...) that the
  source mapping does not map to one of tiercast's codes; the report counts each such code;
- `<column>:unique`: a value shared by several rows of a unique, non-key column (all of them go);
- `<rule>`: a named row rule from data_contracts/rules.py (`known_subscriber`, `paid_not_before_bill`).

The checks are vectorized boolean masks derived from the same YAML as the pandera schema
(`Contract.schema`), so both agree; pandera's lazy failure-case frames are too slow for millions
of failing rows. Duplicate primary keys are structural: `check_primary_key` raises ContractError.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.loader import Contract, ContractError
from data_contracts.rules import RuleContext, key_codes
from features.availability import unavailable_features
from pipelines.orphan_ids import written_otherwise
from pipelines.shards import id_numbers
from pipelines.source_files import rows_by_file
from tiercast.errors import QuarantineError

log = logging.getLogger(__name__)

OWNER_ONLY_DIR, OWNER_ONLY_FILE = 0o700, 0o600  # quarantined rows are raw input rows
RULES_COLUMN = "failed_rules"  # `;`-separated rule names of a quarantined row
ROW_COLUMN = "source_row"  # 0-based row number in the input file (header excluded)
UNKNOWN_SUBSCRIBER = "known_subscriber"  # the rule a row with an id the subscribers lack fails
EXPLAIN_SHARE = 0.01  # unknown ids on this share of a table's rows are worth explaining (orphan_ids)
LIKELY = "; likely cause: "  # what follows it in a rule's description says why its rows failed


@dataclass(frozen=True)
class Split:
    """A table split by its contract: clean rows, quarantined rows, and rows per failed rule."""

    clean: pd.DataFrame
    quarantined: pd.DataFrame
    rule_counts: dict[str, int]
    rule_descriptions: dict[str, str] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)  # column -> unknown code -> rows


def check_primary_key(
    frame: pd.DataFrame, contract: Contract, examples: int = 5, files: Sequence[tuple[str, int]] = ()
) -> None:
    """Raise ContractError if two rows share a (non-null) primary key (a table without a key passes); the example
    rows name their file and row there when the table was read from several `files` (name, rows)."""
    if not contract.primary_key:
        return
    key = frame[contract.primary_key]
    codes = key_codes(frame, contract.primary_key)
    if codes is not None and codes.parent_is_unique():  # the common case, several times faster than duplicated()
        return
    duplicated = key.duplicated(keep=False).to_numpy() & key.notna().all(axis=1).to_numpy()
    if duplicated.any():
        shown = frame[duplicated].sort_values(contract.primary_key).head(examples)
        if files:
            names, counts = zip(*files, strict=True)
            index, rows = rows_by_file(shown.index.to_numpy(dtype="int64"), counts)
            shown = shown.set_axis([f"row {r} of {names[i]}" for i, r in zip(index, rows, strict=True)])
        raise ContractError(
            contract.table,
            f"duplicate primary key {contract.primary_key}: {int(duplicated.sum())} rows share a key",
            column=",".join(contract.primary_key),
            rule="primary_key",
            examples=shown.to_string(),
        )


def rule_descriptions(contract: Contract) -> dict[str, str]:
    """Return every rule name the contract can report, with its wording."""
    described: dict[str, str] = {}
    for name, spec in contract.columns.items():
        if not spec.nullable:
            described[f"{name}:not_null"] = f"{name} is not null"
        for check in spec.column_checks:
            described[check.name] = check.describe()
        if spec.unique and contract.primary_key != [name]:
            described[f"{name}:unique"] = f"{name} is unique"
    for rule in contract.row_rules:
        described[rule.name] = rule.description or rule.name
    return described


def failures(
    frame: pd.DataFrame,
    contract: Contract,
    parents: Mapping[str, pd.DataFrame],
    data_end: date | None = None,
    repeated: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Return rule name -> boolean array, True where the row FAILS the rule (every rule of the contract)."""
    failed: dict[str, np.ndarray] = {}
    incomplete = np.zeros(len(frame), dtype=bool)
    for name, spec in contract.columns.items():
        values = frame[name]
        if not spec.nullable:
            failed[f"{name}:not_null"] = values.isna().to_numpy()
            incomplete |= failed[f"{name}:not_null"]
        for check in spec.column_checks:
            failed[check.name] = ~check.passes(values)
        if spec.unique and contract.primary_key != [name]:
            unique = (values.duplicated(keep=False) & values.notna()).to_numpy()
            elsewhere = (repeated or {}).get(name)
            if elsewhere is not None and len(elsewhere) and len(values):
                unique = unique | (np.isin(id_numbers(values), elsewhere) & values.notna().to_numpy())
            failed[f"{name}:unique"] = unique
    complete = final_types(frame[~incomplete], contract) if incomplete.any() else frame
    ctx = RuleContext(parents, data_end=data_end)
    for rule in contract.row_rules:
        passes = rule.passes(complete, ctx)
        failed[rule.name] = np.zeros(len(frame), dtype=bool)
        failed[rule.name][~incomplete] = ~passes
    for name in [n for n in failed if not n.endswith(":not_null")]:
        failed[name] = failed[name] & ~incomplete
    return failed


def final_types(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Return `frame` with non-nullable int/bool columns back in numpy int64/bool (they must hold no nulls)."""
    numpy_types = {"int64": "int64", "bool": "bool"}
    casts = {
        name: numpy_types["int64" if spec.type == "id" else spec.type]
        for name, spec in contract.columns.items()
        if not spec.nullable
        and (spec.type in numpy_types or (spec.type == "id" and str(frame[name].dtype) == "Int64"))
        and str(frame[name].dtype) != numpy_types["int64" if spec.type == "id" else spec.type]
    }
    return frame.astype(casts) if casts else frame


def split(
    frame: pd.DataFrame,
    contract: Contract,
    parents: Mapping[str, pd.DataFrame],
    data_end: date | None = None,
    repeated: Mapping[str, np.ndarray] | None = None,
) -> Split:
    """Return the clean rows (in contract types) and the quarantined rows with their failed rules.

    `repeated`: per unique column, values (`pipelines.shards.id_numbers`) repeated in rows not in `frame`.
    """
    failed = failures(frame, contract, parents, data_end, repeated)
    bad = np.logical_or.reduce(list(failed.values())) if failed else np.zeros(len(frame), dtype=bool)
    counts = {name: int(np.count_nonzero(mask)) for name, mask in failed.items()}
    labels = np.full(int(np.count_nonzero(bad)), "", dtype=object)
    for name, mask in failed.items():
        if counts[name]:
            labels = np.where(mask[bad], labels + ";" + name, labels)
    quarantined = frame[bad].assign(**{RULES_COLUMN: [label.lstrip(";") for label in labels]})
    quarantined.insert(0, ROW_COLUMN, frame.index[bad].to_numpy())
    clean = final_types(frame[~bad] if bad.any() else frame, contract).reset_index(drop=True)
    unmapped = unmapped_codes(frame, contract, failed)
    descriptions = rule_descriptions(contract)
    unknown = failed.get(UNKNOWN_SUBSCRIBER)
    if unknown is not None and counts[UNKNOWN_SUBSCRIBER] >= max(1.0, EXPLAIN_SHARE * len(frame)):
        known = parents["subscribers"]["subscriber_id"]
        hint = written_otherwise(frame["subscriber_id"][unknown], known, contract.table)
        if hint:
            descriptions[UNKNOWN_SUBSCRIBER] += LIKELY + hint
    return Split(clean, quarantined.reset_index(drop=True), counts, descriptions, unmapped)


def unmapped_codes(
    frame: pd.DataFrame, contract: Contract, failed: Mapping[str, np.ndarray]
) -> dict[str, dict[str, int]]:
    """Return, per closed-vocabulary column, each code outside it with its number of rows (most frequent first)."""
    found: dict[str, dict[str, int]] = {}
    for name, spec in contract.columns.items():
        for check in spec.column_checks:
            mask = failed.get(check.name)
            if check.kind == "isin" and mask is not None and mask.any():
                counts = frame[name][mask].astype("object").value_counts()
                found[name] = {str(code): int(rows) for code, rows in counts.items()}
    return found


def clear(folder: Path, tables: Iterable[str]) -> None:
    """Delete the quarantine files of `tables` left in `folder` by an earlier run."""
    for table in tables:
        for suffix in (".parquet", ".csv"):
            (folder / f"{table}{suffix}").unlink(missing_ok=True)


def write_quarantine(quarantined: pd.DataFrame, folder: Path, table: str, csv: bool) -> list[Path]:
    """Write the quarantined rows to `<folder>/<table>.parquet` (and .csv), even when there are none.

    They are input rows (phone numbers included): the folder and files are readable by their owner only.
    """
    folder.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    folder.chmod(OWNER_ONLY_DIR)
    paths = [folder / f"{table}.parquet"] + ([folder / f"{table}.csv"] if csv else [])
    for path in paths:
        path.touch(mode=OWNER_ONLY_FILE)
        path.chmod(OWNER_ONLY_FILE)  # before writing: the rows never sit in a file others can read
    quarantined.to_parquet(paths[0], index=False)
    if csv:
        quarantined.to_csv(paths[1], index=False)
    return paths


@dataclass(frozen=True)
class TableReport:
    """What validation did to one table."""

    table: str
    source: Path
    rows_read: int
    clean: int
    quarantined: int
    limit: float
    rules: dict[str, int]
    descriptions: dict[str, str]
    quarantine_files: list[Path]
    ignored_columns: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    absent_columns: dict[str, str] = field(default_factory=dict)  # optional column -> what tiercast does without it
    unmapped_codes: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Quarantined rows as a share of rows read (0 for an empty table)."""
        return self.quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def exceeded(self) -> bool:
        """True when the quarantined share is above the table's limit."""
        return self.share > self.limit

    def to_json(self) -> dict[str, Any]:
        """Return the report entry as JSON-ready values."""
        return {
            "source": str(self.source),
            "rows_read": self.rows_read,
            "clean": self.clean,
            "quarantined": self.quarantined,
            "quarantined_share": self.share,
            "limit": self.limit,
            "exceeded": self.exceeded,
            "rules": {
                name: {"rows": rows, "description": self.descriptions.get(name, "")}
                for name, rows in self.rules.items()
            },
            "quarantine_files": [str(path) for path in self.quarantine_files],
            "ignored_columns": list(self.ignored_columns),
            "absent_columns": self.absent_columns,
            "unmapped_codes": self.unmapped_codes,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class ValidationResult:
    """Clean frames per table (contract types, fresh RangeIndex) and what happened to each table."""

    tables: dict[str, pd.DataFrame]
    reports: dict[str, TableReport]
    report_file: Path

    @property
    def exceeded(self) -> list[TableReport]:
        """Tables whose quarantined share is above their limit."""
        return [report for report in self.reports.values() if report.exceeded]

    @property
    def absent(self) -> dict[str, tuple[str, ...]]:
        """Optional columns the export lacks, per table."""
        return {name: tuple(report.absent_columns) for name, report in self.reports.items()}


class QuarantineLimitError(QuarantineError, RuntimeError):
    """Too many rows of some table were quarantined; `result` still holds everything that was checked."""

    def __init__(self, result: ValidationResult) -> None:
        self.result = result
        parts = [
            f"{r.table}: {r.quarantined} of {r.rows_read} rows quarantined ({r.share:.2%}), limit {r.limit:.2%}"
            + "".join(f" ({rule}{d[d.index(LIKELY) :]})" for rule, d in r.descriptions.items() if LIKELY in d)
            for r in result.exceeded
        ]
        super().__init__("quarantine limit exceeded: " + "; ".join(parts))


def write_report(
    path: Path,
    data_dir: Path,
    started: datetime,
    reports: dict[str, TableReport],
    error: str | None,
    mapping: Path | None = None,
) -> None:
    """Write the JSON validation report (also after a structural error, then with `error` set)."""
    absent = {name: tuple(report.absent_columns) for name, report in reports.items()}
    document = {
        "data_dir": str(data_dir),
        "mapping": None if mapping is None else str(mapping),
        "started_at": started.isoformat(timespec="seconds"),
        "ok": error is None and not any(r.exceeded for r in reports.values()),
        "error": error,
        "unavailable_features": unavailable_features(absent),
        "tables": {name: report.to_json() for name, report in reports.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    log.info("validation report written to %s", path)
