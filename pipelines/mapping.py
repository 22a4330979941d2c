"""A source mapping: how an operator's export (its file names, column names, codes, date formats,
units and text encoding) maps onto tiercast's canonical input tables.

The mapping is applied once, at read time (pipelines/ingest.py, pipelines/staging.py); nothing
downstream knows an export's own names. YAML, every key optional (README "Pointing it at real data"):

    encoding: gbk                 # CSV text encoding: any Python codec (utf-8 tolerates a BOM; gbk, cp1252, utf-16 ...)
    delimiter: ";"                # CSV field separator: , (default) ; tab or |
    decimal: ","                  # decimal mark of CSV numbers: . (default) or , ("1.234,50")
    timezone: Asia/Shanghai       # the operator's local time: epoch instants become its wall times
    tables:
      subscribers:
        file: users.csv           # relative to --data: a file (.csv, .txt, .parquet, ... .gz), a folder or a glob
        columns: {subscriber_id: USER_ID, msisdn: SERIAL_NUMBER}   # tiercast name: export's name
        dates: {activation_date: "%Y%m%d"}                         # strptime format of text or integer dates
      contacts:
        dates: {contact_time: epoch_s}                             # or epoch_ms / epoch_us: an instant (needs timezone)
        values:
          deactivation_reason: {主动离网: voluntary, 欠费停机: non_payment}   # export's code: tiercast's
          list_flag: {VIP: red, 黑名单: black, 普通: ""}                      # "": missing (nullable columns)
      bills:
        scales: {amount: 0.01}    # multiply: integer fen -> CNY

The YAML is read with every scalar as text (`yes`, `N`, `01` stay the codes they are), so a code
never turns into a boolean or a number on the way.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from data_contracts.loader import Contract, ContractError, load_contract
from tiercast.errors import ConfigurationError

# An export's CSV may be in any text encoding Python's codecs know, named as codecs.lookup spells it; these are
# the ones exports come in (utf-8 also reads a BOM; utf-16 is Excel's "Unicode text", told by its BOM; cp1252 is
# Western European Windows / Excel text), shown when a name is not known.
ENCODINGS = ("utf-8", "gbk", "gb18030", "utf-16", "cp1252", "latin-1", "shift_jis", "big5", "euc-kr")
# Names folded into the one tiercast reads them as: a UTF-8 BOM is always tolerated; GBK is a superset of GB2312.
CANONICAL_ENCODINGS = {"utf-8-sig": "utf-8", "gb2312": "gbk"}
# Text codecs that are no file's character set (escapes, domain names, the codec that refuses everything).
NOT_FILE_TEXT = ("idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined")
# CSV field separators (Excel writes ";" where the decimal mark is a comma, "\t" as Unicode text) and decimal marks.
DELIMITERS = (",", ";", "\t", "|")
DECIMALS = (".", ",")
# Input tables an export may leave out (read and validated when present, after validation.tables):
# campaign records (data_contracts/campaigns.yaml). A mapping may always name them.
OPTIONAL_TABLES = ("campaigns",)
# `dates:` entries that read integers (or digit text) as instants since 1970-01-01 UTC, and their Arrow unit.
EPOCH_FORMATS = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us"}


class MappingError(ConfigurationError, ValueError):
    """A mapping file that cannot be used: the message names the file, table and key."""


def _supported(what: str, value: str, allowed: tuple[str, ...]) -> str:
    """Return `value` when it is one of `allowed`, else raise a ValueError naming it and the choices."""
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not supported; use one of {', '.join(map(repr, allowed))}")
    return value


def text_encoding(name: str) -> str:
    """Return the codec name CSV text in encoding `name` is read with (Python's spelling: latin-1 -> iso8859-1,
    windows-1252 -> cp1252; utf-8-sig -> utf-8, gb2312 -> gbk); ValueError naming it when no text codec has it."""
    examples = f"a Python text codec such as {', '.join(ENCODINGS)}"
    try:
        codec = codecs.lookup(name).name
        if codec in NOT_FILE_TEXT:
            raise ValueError(f"encoding {name!r} is not a file's character set; use {examples}")
        "".encode(codec)  # str.encode refuses bytes-to-bytes codecs (base64, zlib, hex ...): not text
    except LookupError as exc:
        raise ValueError(f"encoding {name!r} is not a text encoding Python knows; use {examples}") from exc
    return CANONICAL_ENCODINGS.get(codec, codec)


def time_zone(name: str) -> str:
    """Return `name` when Arrow knows it as a time zone (IANA: Asia/Shanghai, UTC; or +08:00), else ValueError."""
    try:
        if not name.strip():
            raise pa.ArrowInvalid("empty")
        pc.local_timestamp(pa.scalar(0, pa.timestamp("s", tz=name)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"timezone {name!r} is not a time zone; use an IANA name such as Asia/Shanghai") from exc
    return name


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def field_separator(delimiter: str) -> str:
    """Return a CSV field separator the mapping may name (`tab` and `\\t` are a tab); ValueError otherwise."""
    return _supported("delimiter", {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter), DELIMITERS)


# How the export's text is read, for the whole export or one table: key -> the check that returns its value.
READING_KEYS: dict[str, Callable[[str], str]] = {
    "encoding": text_encoding,
    "delimiter": field_separator,
    "decimal": lambda decimal: _supported("decimal", decimal, DECIMALS),
    "timezone": time_zone,
}


class TableMapping(_Spec):
    """How one canonical table is found in the export and how its columns read (`codes` is the YAML's `values`)."""

    file: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    dates: dict[str, str] = Field(default_factory=dict)
    codes: dict[str, dict[str, str]] = Field(default_factory=dict, alias="values")
    scales: dict[str, float] = Field(default_factory=dict)
    decimal: str | None = None  # text numbers' decimal mark; None: the export's (SourceMapping.table fills it in)
    # a table from another system than the rest (a CRM's GBK file beside the billing's UTF-8 ones); None: the export's
    encoding: str | None = None
    delimiter: str | None = None
    timezone: str | None = None  # local time of epoch instants; None: the export's (SourceMapping.table fills it in)
    leading_zeros: Literal["keep", "strip"] = "keep"  # the export's (SourceMapping.table fills it in)

    @field_validator(*READING_KEYS)
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else READING_KEYS[str(info.field_name)](value)

    @field_validator("dates")
    @classmethod
    def _known_epochs(cls, dates: dict[str, str]) -> dict[str, str]:
        wrong = {name: fmt for name, fmt in dates.items() if fmt.startswith("epoch") and fmt not in EPOCH_FORMATS}
        if wrong:
            raise ValueError(f"dates {wrong}: epoch formats are {', '.join(EPOCH_FORMATS)}")
        return dates

    @field_validator("scales")
    @classmethod
    def _finite_scales(cls, scales: dict[str, float]) -> dict[str, float]:
        bad = {name: value for name, value in scales.items() if not (math.isfinite(value) and value > 0)}
        if bad:
            raise ValueError(f"scales must be positive numbers, got {bad}")
        return scales

    def source_name(self, column: str) -> str:
        """Return the export's name of the canonical column `column` (its own name when not mapped)."""
        return self.columns.get(column, column)

    @cached_property
    def canonical_names(self) -> dict[str, str]:
        """Export column name -> canonical name, for the columns the mapping renames."""
        return {source: name for name, source in self.columns.items()}

    def staged(self) -> TableMapping:
        """Return this mapping for a copy of the table renamed to canonical names (dates, codes, scales kept)."""
        return self.model_copy(update={"file": None, "columns": {}, "encoding": None, "delimiter": None})


class SourceMapping(_Spec):
    """A whole export's mapping: its CSV encoding and one `TableMapping` per canonical table."""

    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    # The operator's local time zone, which epoch instants (dates: epoch_s ...) are read in. Required when a table
    # reads epochs: contract times are the operator's wall times, and a wrong zone would move every contact by hours
    # without any error; the mapping is read without the settings, so it does not borrow flows.timezone.
    timezone: str | None = None
    # strip: text ids are read without their leading zeros, where the export writes one id two ways (00012345 in
    # one file, 12345 in another, as a spreadsheet leaves them); keep: 0123 and 123 are two customers
    leading_zeros: Literal["keep", "strip"] = "keep"
    tables: dict[str, TableMapping] = Field(default_factory=dict)
    source: Path | None = Field(default=None, exclude=True)  # the file it was read from, for messages

    @field_validator(*READING_KEYS)
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else READING_KEYS[str(info.field_name)](value)

    def table(self, name: str) -> TableMapping:
        """Return the mapping of canonical table `name` (an empty one when the file says nothing of it),
        carrying the export's decimal mark and time zone unless it has its own."""
        table = self.tables.get(name, TableMapping())
        update = {
            "encoding": table.encoding or self.encoding,
            "delimiter": table.delimiter or self.delimiter,
            "decimal": table.decimal or self.decimal,
            "timezone": table.timezone or self.timezone,
            "leading_zeros": table.leading_zeros if "leading_zeros" in table.model_fields_set else self.leading_zeros,
        }
        return table.model_copy(update=update)

    def staged(self) -> SourceMapping:
        """Return the mapping for tables already renamed to canonical names and written as Parquet by staging."""
        tables = {name: self.table(name).staged() for name in self.tables}
        return self.model_copy(update={"tables": tables, "encoding": "utf-8", "delimiter": ","})

    def check(self, contracts: Mapping[str, Contract]) -> SourceMapping:
        """Return self if every table and canonical column it names exists and fits its use; else MappingError."""
        where = f"mapping {self.source}" if self.source else "mapping"
        unknown = sorted(set(self.tables) - set(contracts))
        if unknown:
            raise MappingError(f"{where}: unknown table(s) {unknown}; tiercast's tables are {sorted(contracts)}")
        for name, table in self.tables.items():
            contract = contracts[name]
            kinds: dict[str, tuple[Mapping[str, Any], tuple[str, ...] | None]] = {
                "columns": (table.columns, None),
                "dates": (table.dates, ("date", "datetime")),
                "values": (table.codes, ("string",)),
                "scales": (table.scales, ("float64", "int64")),
            }
            for key, (entries, types) in kinds.items():
                for column in entries:
                    spec = contract.columns.get(column)
                    if spec is None:
                        raise MappingError(
                            f"{where}: tables.{name}.{key} names {column!r}, which is not a column of {name} "
                            f"(tiercast's columns: {', '.join(contract.column_names)})"
                        )
                    if types is not None and spec.type not in types:
                        raise MappingError(
                            f"{where}: tables.{name}.{key}.{column}: {column} is a {spec.type} column, "
                            f"{key} apply to {' / '.join(types)} columns only"
                        )
            epochs = sorted(column for column, fmt in table.dates.items() if fmt in EPOCH_FORMATS)
            if epochs and self.table(name).timezone is None:
                raise MappingError(
                    f"{where}: tables.{name}.dates reads {', '.join(epochs)} as epoch instants: say which local time "
                    f"they become with timezone: at the top of the mapping (the operator's, e.g. Asia/Shanghai)"
                )
            sources = list(table.columns.values())
            repeated = sorted({s for s in sources if sources.count(s) > 1})
            if repeated:
                raise MappingError(f"{where}: tables.{name}.columns maps several tiercast columns to {repeated}")
            for column, codes in table.codes.items():
                spec = contract.columns[column]
                allowed = spec.closed_values
                missing = [""] if spec.nullable else []  # "" reads the code as missing (e.g. 普通: neither list)
                wrong = sorted(
                    {code for code in codes.values() if allowed is not None and code not in allowed + missing}
                )
                if wrong:
                    raise MappingError(
                        f"{where}: tables.{name}.values.{column} maps codes to {wrong}, "
                        f"which are not tiercast's {column} values {allowed}"
                    )
        return self


def _as_text(node: Any) -> Any:
    """Return a YAML tree read by yaml.BaseLoader with empty mappings for empty values."""
    return {} if node == "" else node


def load_mapping(
    path: Path, tables: tuple[str, ...] = ("subscribers", "bills", "payments", "contacts")
) -> SourceMapping:
    """Return the mapping in YAML file `path`, checked against the input contracts of `tables` and of the
    OPTIONAL_TABLES; MappingError if not."""
    if not path.is_file():
        raise MappingError(f"mapping file {path} does not exist")
    try:
        # BaseLoader builds plain str / list / dict only (safe), and keeps every code as the text it is.
        document = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=yaml.BaseLoader) or {}  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping {path}: not readable YAML (UTF-8): {exc}") from exc
    if not isinstance(document, dict):
        raise MappingError(
            f"mapping {path}: expected keys encoding / tables at the top, found {type(document).__name__}"
        )
    document = {**document, "tables": {t: _as_text(m) for t, m in _as_text(document.get("tables", {})).items()}}
    for table in document["tables"].values():
        if isinstance(table, dict):
            for key in ("columns", "dates", "values", "scales"):
                if key in table:
                    table[key] = _as_text(table[key])
    try:
        mapping = SourceMapping.model_validate({**document, "source": path})
    except ValidationError as exc:
        raise MappingError(f"mapping {path}: {_first_errors(exc)}") from exc
    try:
        contracts = {name: load_contract(name) for name in (*tables, *OPTIONAL_TABLES)}
    except ContractError as exc:
        raise MappingError(str(exc)) from exc
    return mapping.check(contracts)


def _first_errors(exc: ValidationError) -> str:
    """Return pydantic's errors as `tables.bills.scales.amount: message` lines."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def mapping_for(
    path: Path | None, tables: tuple[str, ...] = ("subscribers", "bills", "payments", "contacts")
) -> SourceMapping:
    """Return the mapping in `path`, or the identity mapping (canonical names, UTF-8) when `path` is None."""
    return SourceMapping() if path is None else load_mapping(path, tables)
