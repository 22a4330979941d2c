"""Convert an export's Arrow column to its contract type, reading values the way exports write them.

- text is trimmed (CHAR columns come space-padded) and an empty text is missing;
- dates: the mapping's strptime format, else recognised: YYYYMMDD, YYYYMM (a billing month: its
  first day), YYYYMMDDHHMMSS, YYYY-MM-DD, YYYY/MM/DD, and datetimes with seconds (and fractions);
  integers (20240315, 202410) read as the text of their digits; the mapping's `epoch_s` / `epoch_ms` /
  `epoch_us` read integers or digit text as instants, made the wall times of the mapping's `timezone`
  (10 or 13 digits without such an entry are refused: 2026080111 is an hour as much as a second);
- numbers: text with thousands separators ("1,234.50"; with the mapping's `decimal: ","` "1.234,50")
  and a currency mark or unit before or after ("¥1,234.50", "88.00元", "RMB 88", "€ 1.234,50");
  `scales` multiply (fen -> CNY: 0.01);
- booleans: true/false, t/f, 1/0, Y/N, yes/no, 是/否 (any case);
- codes: the mapping's `values` turn an export's codes into tiercast's (others are kept, and a
  closed vocabulary's check quarantines them as `<column>:unmapped_value`);
- ids (`id` columns): integers stay int64, text stays text; `settle_ids` makes a table's ids the
  kind the whole export uses.

A value that cannot be read is structural: ContractError naming the table, column and first rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.loader import ColumnSpec, ContractError
from pipelines.mapping import EPOCH_FORMATS, TableMapping

EXAMPLES = 5
IdKind = str  # "int64" or "string"
# A text id read as an integer: no sign, no leading zero, at most 18 digits (fits int64).
INTEGER_ID = r"^(0|[1-9][0-9]{0,17})$"
TRUE_TEXT = ("true", "t", "1", "y", "yes", "是")
FALSE_TEXT = ("false", "f", "0", "n", "no", "否")
# Recognised text date shapes without a mapping format: regex of the first value -> strptime format.
# None means Arrow's ISO 8601 reader (after "/" -> "-"), which also takes times and fractions.
DATE_SHAPES: tuple[tuple[str, str | None], ...] = (
    (r"^\d{8}$", "%Y%m%d"),
    (r"^\d{6}$", "%Y%m"),
    (r"^\d{14}$", "%Y%m%d%H%M%S"),
    (r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$", None),
)
# Digits that are no recognised date but an epoch instant's length: seconds (or YYYYMMDDHH), ms, us.
EPOCH_DIGITS = {10: "epoch_s", 13: "epoch_ms", 16: "epoch_us"}
# Epoch instants read from 1970-01-01 up to 2100-01-01 (seconds; x1000 per finer unit): outside, the unit is wrong.
EPOCH_END_S = 4_102_444_800
UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}
# Currency marks and units written before or after an amount (元 only after), with spaces (no-break ones too).
CURRENCY_MARKS = ("¥", "￥", "€", "$", "£", "RMB", "CNY", "USD", "EUR", "GBP", "HKD")
NO_BREAK_SPACES = ("\u00a0", "\u202f")
CURRENCY_TEXT = re.compile("|".join(map(re.escape, (*CURRENCY_MARKS, "元"))), re.IGNORECASE)
# strptime formats Arrow's ISO reader handles better (it also reads fractions of a second).
ISO_FORMATS = {"%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S"}


def is_text(arrow_type: pa.DataType) -> bool:
    """True for Arrow string types."""
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


# Arrow source types each contract type may be converted from (anything else is a wrong type).
SOURCES: dict[str, tuple[Callable[[pa.DataType], bool], ...]] = {
    "id": (pa.types.is_integer, is_text),
    "int64": (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, is_text),
    "float64": (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, is_text),
    "string": (is_text, pa.types.is_integer),
    "category": (is_text, pa.types.is_integer),
    "bool": (pa.types.is_boolean, pa.types.is_integer, is_text),
    "date": (pa.types.is_date, pa.types.is_timestamp, is_text),
    "datetime": (pa.types.is_timestamp, pa.types.is_date, is_text),
}


def csv_type(spec: ColumnSpec, mapping: TableMapping) -> pa.DataType:
    """The type a CSV column is read as: numbers typed by the CSV reader, everything else text."""
    if spec.type in ("int64", "float64") and spec.name not in mapping.codes:
        return pa.float64() if spec.type == "float64" or spec.name in mapping.scales else pa.int64()
    return pa.string()


def arrow_type(spec: ColumnSpec, source: pa.DataType) -> pa.DataType:
    """The Arrow type a column is converted to before it becomes pandas (timestamps keep ms/us/ns)."""
    if spec.type == "datetime":
        keep = pa.types.is_timestamp(source) and source.unit != "s"
        return pa.timestamp(source.unit) if keep else pa.timestamp("ms")
    if spec.type in ("string", "category") or (spec.type == "id" and is_text(source)):
        return source if pa.types.is_large_string(source) else pa.string()
    return {"id": pa.int64(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "date": pa.date32()}[
        spec.type
    ]


def coerce(table: str, spec: ColumnSpec, column: pa.ChunkedArray, mapping: TableMapping) -> pa.ChunkedArray:
    """Return `column` in the contract type of `spec`, read through the table's mapping; else ContractError.

    Text that repeats (dates, flags, codes) is converted once per distinct value.
    """
    if spec.type in ("date", "datetime") and mapping.dates.get(spec.name) in EPOCH_FORMATS:
        epochs = _epoch_times(table, spec, column, mapping.dates[spec.name], mapping.timezone)
        return _to_type(table, spec, epochs)
    if spec.type in ("date", "datetime") and pa.types.is_integer(column.type):
        column = _integer_digits(column, repeating=spec.type == "date")
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = _instants(table, spec, column, mapping.timezone)
    if (spec.name in mapping.codes or spec.phone_prefixes) and pa.types.is_integer(column.type):
        column = pc.cast(column, pa.string())  # numeric codes (1 = voice, ...) are mapped as their text; 8613800138000
    if len(column) and is_text(column.type) and repeats(spec, mapping):
        column = pa.chunked_array([column.combine_chunks().dictionary_encode()])
    if pa.types.is_dictionary(column.type):
        try:
            return _per_distinct(table, spec, column, mapping)
        except ContractError:  # again value by value, to name the rows
            column = column.cast(column.type.value_type)
    return _convert(table, spec, column, mapping)


def _integer_digits(column: pa.ChunkedArray, repeating: bool) -> pa.ChunkedArray:
    """Return integer dates (20240315, 202410) as the text of their digits: dictionary-encoded when `repeating`,
    so each distinct date is converted once."""
    if not repeating:
        return pc.cast(column, pa.string())
    encoded = column.combine_chunks().dictionary_encode()
    digits = pc.cast(encoded.dictionary, pa.string())
    return pa.chunked_array([pa.DictionaryArray.from_arrays(encoded.indices, digits)])


def _epoch_times(
    table: str, spec: ColumnSpec, column: pa.ChunkedArray, fmt: str, timezone: str | None
) -> pa.ChunkedArray:
    """Return epoch instants (integers or digit text) as naive wall times of `timezone`, in the epoch's unit.

    ContractError when there is no time zone, or naming the rows that are no whole number or fall outside
    1970..2100 (a millisecond count read as seconds).
    """
    unit = EPOCH_FORMATS[fmt]
    if timezone is None:
        raise ContractError(
            table, f"dates: {fmt} reads instants: say their local time with timezone: in the mapping", spec.name, "type"
        )
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if is_text(column.type):
        column = _clean_text(column, everywhere=False)
    elif not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_null(column.type)):
        raise ContractError(
            table, f"wrong type: {fmt} reads integers or digits, found {column.type}", spec.name, "type"
        )
    words = f"whole {UNIT_WORDS[unit]} since 1970-01-01 UTC"
    try:
        counts = pc.cast(column, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        rows = _failing_rows(column, lambda part: pc.cast(part, pa.int64()), EXAMPLES)
        raise ContractError(
            table, f"wrong type: values are not {fmt} ({words}; {exc})", spec.name, "type", show(column, rows)
        ) from exc
    end = EPOCH_END_S * {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
    low, high = pc.min_max(counts).values()
    if (low.is_valid and low.as_py() < 0) or (high.is_valid and high.as_py() >= end):
        rows = first_rows(pc.or_(pc.less(counts, 0), pc.greater_equal(counts, end)))
        raise ContractError(
            table,
            f"wrong type: values are not {fmt}: as {words} they fall outside 1970..2100 (another unit?)",
            spec.name,
            "type",
            show(column, rows),
        )
    return pc.local_timestamp(pc.cast(counts, pa.timestamp(unit, tz=timezone)))


def _instants(table: str, spec: ColumnSpec, column: pa.ChunkedArray, timezone: str | None) -> pa.ChunkedArray:
    """Return a time-zone-aware timestamp column (Spark and Hive write Parquet TIMESTAMPs as UTC instants) as naive
    wall times of `timezone`; ContractError when there is none: read as they are, a Shanghai export's times would
    be UTC clock times, 8 hours early, so the as-of day and the service-level hours would be wrong."""
    if timezone is None:
        raise ContractError(
            table,
            f"wrong type: {column.type} holds instants (time zone {column.type.tz}): say the local time they become "
            "with timezone: in the mapping",
            spec.name,
            "type",
        )
    return pc.local_timestamp(pc.cast(column, pa.timestamp(column.type.unit, tz=timezone)))


def _per_distinct(table: str, spec: ColumnSpec, column: pa.ChunkedArray, mapping: TableMapping) -> pa.ChunkedArray:
    """Return a dictionary-encoded column converted once per distinct value, then expanded."""
    unified = column.unify_dictionaries()  # one dictionary for every chunk (a Parquet row group each)
    dictionary = unified.chunk(0).dictionary if unified.num_chunks else pa.array([], pa.string())
    if len(dictionary) == 0:  # nothing but nulls
        return _convert(table, spec, column.cast(column.type.value_type), mapping)
    values = _convert(table, spec, pa.chunked_array([dictionary]), mapping).combine_chunks()
    return pa.chunked_array([pc.take(values, chunk.indices) for chunk in unified.chunks], type=values.type)


def repeats(spec: ColumnSpec, mapping: TableMapping) -> bool:
    """True for columns whose values repeat a lot: dates, flags, codes, names (plan, region, ...)."""
    return spec.type in ("date", "bool", "category") or (spec.type == "string" and not spec.unique)


def _convert(table: str, spec: ColumnSpec, column: pa.ChunkedArray, mapping: TableMapping) -> pa.ChunkedArray:
    """Return `column` in the contract type (see `coerce`), value by value."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    fast = spec.type == "datetime" or (spec.type in ("int64", "float64") and not _first_marked(column))
    if is_text(column.type) and fast and spec.name not in mapping.codes:
        try:  # well-formed numbers and times need no cleaning: one pass fewer over millions of values
            parsed = (
                _parse_dates(table, spec, column, mapping.dates.get(spec.name), report=False)
                if spec.type == "datetime"
                else _cast(_parse_numbers(column, mapping.decimal), arrow_type(spec, column.type))
            )
            return _scaled(parsed, mapping.scales[spec.name]) if spec.name in mapping.scales else parsed
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ContractError):
            pass  # padded or empty text, or bad values: the careful path below cleans, and names bad rows
    if is_text(column.type):
        column = _clean_text(column, everywhere=repeats(spec, mapping))
        if spec.type == "id" and mapping.leading_zeros == "strip":  # 00012345 and 12345: one customer
            column = without_leading_zeros(column)
        if spec.phone_prefixes:
            column = national_numbers(column, spec.phone_prefixes)
        if spec.name in mapping.codes:
            column = _recode(column, mapping.codes[spec.name])
        if spec.type in ("date", "datetime"):
            column = _parse_dates(table, spec, column, mapping.dates.get(spec.name))
        elif spec.type == "bool":
            column = _parse_bools(table, spec, column)
        elif spec.type in ("int64", "float64"):
            numbers = _to_numbers(table, spec, column, mapping.decimal)
            return numbers if spec.name not in mapping.scales else _scaled(numbers, mapping.scales[spec.name])
    cast = _to_type(table, spec, column)
    scale = mapping.scales.get(spec.name)
    return cast if scale is None else _scaled(cast, scale)


def _clean_text(column: pa.ChunkedArray, everywhere: bool) -> pa.ChunkedArray:
    """Trim white space around each text and make an empty text missing.

    `everywhere`: any Unicode white space (the ideographic space of Chinese names and codes, which are
    trimmed once per distinct value); else ASCII white space only, twice as fast on millions of ids,
    phone numbers, amounts and times.
    """
    trim = pc.utf8_trim_whitespace if everywhere else pc.ascii_trim_whitespace
    column = trim(column)  # one pass: cheaper than looking for padding first
    empty = pc.equal(column, "")
    return pc.if_else(empty, pa.scalar(None, column.type), column) if pc.any(empty).as_py() else column


def without_leading_zeros(ids: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Return text ids trimmed and without their leading zeros ("00012345" -> "12345", "0" stays "0"): the mapping's
    `leading_zeros: strip`, for an export that writes one id both ways. The nightly's staging hashes its shards on
    the same reading, so a subscriber's rows meet in one shard."""
    return pc.replace_substring_regex(pc.ascii_trim_whitespace(ids), r"^0+([0-9])", r"\1")


def national_numbers(column: pa.ChunkedArray, prefixes: tuple[str, ...]) -> pa.ChunkedArray:
    """Return phone numbers without separators and without an international prefix before 11 digits
    ("+86 138-0013-8000" -> "13800138000"); anything else is left for the checks to quarantine."""
    plain = pc.replace_substring_regex(column, r"[\s\-.()+]", "")
    for prefix in prefixes:
        prefixed = pc.and_(pc.starts_with(plain, prefix), pc.equal(pc.utf8_length(plain), len(prefix) + 11))
        plain = pc.if_else(pc.fill_null(prefixed, False), pc.utf8_slice_codeunits(plain, len(prefix)), plain)
    return plain


def _recode(column: pa.ChunkedArray, codes: dict[str, str]) -> pa.ChunkedArray:
    """Replace the export's codes by tiercast's (a code mapped to "" becomes missing); others stay as they are."""
    keys = pa.array(list(codes), type=column.type)
    found = pc.index_in(column, value_set=keys)
    targets = pa.array([value or None for value in codes.values()], type=column.type)
    return pc.if_else(pc.is_valid(found), pc.take(targets, found), column)


def _parse_dates(
    table: str, spec: ColumnSpec, column: pa.ChunkedArray, given: str | None, report: bool = True
) -> pa.ChunkedArray:
    """Return text dates as timestamps (ms), by the mapping's format or a recognised shape.

    A value that does not read raises ContractError naming the first rows (ArrowInvalid unless `report`).
    """
    first = _first_value(column)
    if first is None:
        return pc.cast(column, pa.timestamp("ms"))
    fmt = given if given is not None else _shape_of(first)
    if fmt == "unknown" and re.fullmatch(r"\d+", first) and len(first) in EPOCH_DIGITS:
        epoch = EPOCH_DIGITS[len(first)]
        hour = f' or an hour YYYYMMDDHH ({{{spec.name}: "%Y%m%d%H"}})' if len(first) == 10 else ""
        raise ContractError(
            table,
            f"wrong type: {first!r} looks like epoch {UNIT_WORDS[EPOCH_FORMATS[epoch]]}{hour}: set dates: "
            f"{{{spec.name}: {epoch}}} in the mapping, with timezone: (the local time it becomes); not guessed",
            spec.name,
            "type",
        )
    if fmt == "unknown":
        raise ContractError(
            table,
            f"wrong type: {first!r} is not a date tiercast recognises (YYYYMMDD, YYYYMM, YYYY-MM-DD, YYYY/MM/DD, "
            f"with or without a time); give its strptime format under dates: in the mapping",
            spec.name,
            "type",
        )
    iso = fmt is None or fmt.replace(".%f", "") in ISO_FORMATS
    with_time = ":" in first

    def convert(values: pa.Array) -> pa.Array:
        if fmt is not None and not iso:
            return _strptime(values, fmt)
        dashed = pc.replace_substring(values, "/", "-") if "/" in first else values
        try:
            return pc.cast(dashed, pa.timestamp("ms"))
        except pa.ArrowInvalid:  # 2023-12-1: one-digit months and days (no fractions of a second then)
            spaced = pc.replace_substring(dashed, "T", " ")
            return pc.strptime(spaced, format="%Y-%m-%d %H:%M:%S" if with_time else "%Y-%m-%d", unit="ms")

    try:
        return convert(column)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        if not report:
            raise
        shown = fmt or "YYYY-MM-DD[ HH:MM:SS]"
        rows = _failing_rows(column, lambda part: convert(part), EXAMPLES)
        raise ContractError(
            table,
            f"wrong type: values cannot be read as dates in the format {shown} ({exc})",
            spec.name,
            "type",
            show(column, rows),
        ) from exc


def _first_value(column: pa.ChunkedArray) -> str | None:
    """Return the first non-null value of a text column (None when all are null)."""
    for chunk in column.chunks:
        if chunk.null_count < len(chunk):
            return str(pc.drop_null(chunk)[0].as_py())
    return None


def _shape_of(value: str) -> str | None:
    for pattern, fmt in DATE_SHAPES:
        if re.match(pattern, value):
            return fmt
    return "unknown"


def _parse_bools(table: str, spec: ColumnSpec, column: pa.ChunkedArray) -> pa.ChunkedArray:
    lowered = pc.utf8_lower(column)
    truth = pc.is_in(lowered, value_set=pa.array(TRUE_TEXT))
    known = pc.or_(truth, pc.is_in(lowered, value_set=pa.array(FALSE_TEXT)))
    unknown = pc.and_(pc.invert(known), pc.is_valid(lowered))
    if pc.any(unknown).as_py():
        rows = first_rows(unknown)
        raise ContractError(
            table,
            "wrong type: values are not booleans (true/false, 1/0, Y/N, yes/no, 是/否)",
            spec.name,
            "type",
            show(column, rows),
        )
    return pc.if_else(pc.is_valid(column), truth, pa.scalar(None, pa.bool_()))


def _to_numbers(table: str, spec: ColumnSpec, column: pa.ChunkedArray, decimal: str | None) -> pa.ChunkedArray:
    """Return text numbers in the contract type: without thousands separators, and without currency marks when they
    do not cast as they are (looked for only then: a failed cast stops at its first bad value); else ContractError
    naming the rows, shown as the export wrote them."""
    if not _first_marked(column):
        try:
            return _cast(_parse_numbers(column, decimal), arrow_type(spec, column.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return _to_type(table, spec, _parse_numbers(without_currency(column), decimal), shown=column)


def _first_marked(column: pa.ChunkedArray) -> bool:
    """True if the first value of a text column carries a currency mark (the column is read without them at once)."""
    first = _first_value(column)
    return first is not None and CURRENCY_TEXT.search(first) is not None


def without_currency(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Return text numbers without one currency mark or unit before or after them ("¥1,234.50", "-€ 3", "88.00元",
    "RMB 88"); anything else stays for the cast to refuse ("¥¥4", "88元元", "approx 3").

    Which marks occur is found by literal searches (cheap); only those are taken off, by two anchored patterns.
    """
    symbols = [m for m in CURRENCY_MARKS if not m.isalpha() and _contains(column, m)]
    words = [m for m in CURRENCY_MARKS if m.isalpha()]
    if pc.any(pc.match_substring_regex(column, f"(?i){'|'.join(words)}")).as_py() is not True:
        words = []
    if not (symbols or words or _contains(column, "元")):
        return column
    for space in NO_BREAK_SPACES:
        column = pc.replace_substring(column, space, " ") if _contains(column, space) else column
    marks = "|".join(re.escape(m) for m in (*symbols, *words))
    if marks:
        column = pc.replace_substring_regex(column, rf"^([+-]?) *(?i:{marks}) *", r"\1")
    return pc.replace_substring_regex(column, rf" *(?i:{marks + '|' if marks else ''}元)$", "")


def _contains(column: pa.ChunkedArray, text: str) -> bool:
    """True if any value contains `text`."""
    return bool(pc.any(pc.match_substring(column, text)).as_py())


def _parse_numbers(column: pa.ChunkedArray, decimal: str | None = ".") -> pa.ChunkedArray:
    """Return text numbers with a decimal point and without thousands separators.

    With the decimal mark "." a thousands separator is a comma followed by three digits ("1,234.50");
    with "," it is a point followed by three digits ("1.234,50"), and the comma becomes a point.
    """
    thousands = "." if decimal == "," else ","
    marked = pc.fill_null(pc.match_substring(column, ","), False)  # a separator, or the decimal comma
    if decimal == ",":
        marked = pc.or_(marked, pc.fill_null(pc.match_substring(column, "."), False))
    if not pc.any(marked).as_py():
        return column
    whole = column.combine_chunks()
    mask = marked.combine_chunks()
    plain = pc.replace_substring_regex(pc.filter(whole, mask), re.escape(thousands) + r"(\d{3})", r"\1")
    if decimal == ",":
        plain = pc.replace_substring(plain, ",", ".")
    return pa.chunked_array([pc.replace_with_mask(whole, mask, plain)])


def _strptime(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """Return text parsed by strptime format `fmt` as timestamps (ms); a trailing `.%f` or `,%f` reads fractions
    of a second (Arrow's strptime does not), cut to milliseconds."""
    if not re.search(r"[.,]%f$", fmt):
        return pc.strptime(values, format=fmt, unit="ms")
    parts = pc.extract_regex(values, r"^(?P<base>.*?)(?:[.,](?P<fraction>\d{1,9}))?$")
    whole = pc.strptime(pc.struct_field(parts, "base"), format=fmt[:-3], unit="ms")
    digits = pc.utf8_slice_codeunits(pc.utf8_rpad(pc.struct_field(parts, "fraction"), 3, "0"), 0, 3)
    return pc.add(whole, pc.cast(pc.cast(digits, pa.int64()), pa.duration("ms")))


def _scaled(column: pa.ChunkedArray, scale: float) -> pa.ChunkedArray:
    """Multiply by `scale`; 0.01 divides by 100, so 1234 fen is exactly the CNY amount 12.34."""
    inverse = Fraction(1 / scale).limit_denominator(1000)
    as_float = pc.cast(column, pa.float64())
    if inverse.denominator == 1 and abs(float(inverse) * scale - 1) < 1e-12:
        result = pc.divide(as_float, float(inverse.numerator))
    else:
        result = pc.multiply(as_float, scale)
    return result if pa.types.is_floating(column.type) else pc.cast(result, column.type, safe=False)


def _to_type(
    table: str, spec: ColumnSpec, column: pa.ChunkedArray, shown: pa.ChunkedArray | None = None
) -> pa.ChunkedArray:
    """Cast `column` to the Arrow type of the contract type; ContractError naming the rows that do not convert
    (with their values in `shown`, the text before cleaning, when given)."""
    source = column.type
    target = arrow_type(spec, source)
    if source == target:
        return column
    if spec.type == "date" and pa.types.is_timestamp(source):
        cast = pc.cast(column, target)
        lossy = pc.not_equal(pc.cast(cast, source), column)
        rows = first_rows(lossy)
        if rows:
            raise ContractError(
                table, f"wrong type: values are not {spec.type} (found {source})", spec.name, "type", show(column, rows)
            )
        return cast
    if not pa.types.is_null(source) and not any(accepts(source) for accepts in SOURCES[spec.type]):
        raise ContractError(table, f"wrong type: expected {spec.type}, found {source}", spec.name, "type")
    try:
        cast = _cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        rows = _failing_rows(column, lambda part: _cast(part, target), EXAMPLES)
        raise ContractError(
            table,
            f"wrong type: values cannot be read as {spec.type} ({exc})",
            spec.name,
            "type",
            show(column if shown is None else shown, rows),
        ) from exc
    if spec.type == "bool" and pa.types.is_integer(source):
        outside = pc.invert(pc.is_in(column, value_set=pa.array([0, 1], source)))
        rows = first_rows(outside)
        if rows:
            raise ContractError(
                table, f"wrong type: values are not bool (found {source})", spec.name, "type", show(column, rows)
            )
    return cast


def _cast(column: pa.ChunkedArray | pa.Array, target: pa.DataType) -> pa.ChunkedArray:
    """Cast safely; integers written as decimals ("3.0", as pandas writes them to CSV) go through float64."""
    try:
        return pc.cast(column, target)
    except pa.ArrowInvalid:
        if not (pa.types.is_integer(target) and is_text(column.type)):
            raise
        return pc.cast(pc.cast(column, pa.float64()), target)


def _failing_rows(column: pa.ChunkedArray, convert: Callable[[pa.ChunkedArray], object], limit: int) -> list[int]:
    """Return the first rows whose value `convert` refuses (bisection: a few conversions of halves)."""
    found: list[int] = []

    def visit(start: int, length: int) -> None:
        if length == 0 or len(found) >= limit:
            return
        try:
            convert(column.slice(start, length))
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


def first_rows(mask: pa.ChunkedArray | pa.Array, limit: int = EXAMPLES) -> list[int]:
    """Return the positions of the first `limit` true values of a boolean mask (null counts as false)."""
    found: list[int] = []
    offset = 0
    for chunk in mask.chunks if isinstance(mask, pa.ChunkedArray) else [mask]:
        if len(chunk) and pc.any(chunk).as_py():  # indices_nonzero of an empty array crashes pyarrow 25
            found += [offset + int(i) for i in pc.indices_nonzero(pc.fill_null(chunk, False)).to_pylist()]
        offset += len(chunk)
        if len(found) >= limit:
            break
    return found[:limit]


def show(column: pa.ChunkedArray, rows: list[int]) -> str:
    """Return `  row N: value` lines for the given rows."""
    values = [column[row].as_py() for row in rows]
    return "\n".join(f"  row {row}: {value!r}" for row, value in zip(rows, values, strict=True))


def id_kind_of(column: pa.ChunkedArray) -> IdKind:
    """Return "int64" for integer ids or text ids that all read as integers (no leading zeros), else "string"."""
    if not is_text(column.type):
        return "int64"
    integer = pc.match_substring_regex(column, INTEGER_ID)
    return "string" if pc.all(pc.fill_null(integer, True)).as_py() is False else "int64"  # empty: all() is null


def settle_ids(table: str, spec: ColumnSpec, column: pa.ChunkedArray, kind: IdKind) -> pa.ChunkedArray:
    """Return an id column as `kind`: text ids of an integer export become int64, integer ids of a text one text."""
    if kind == "string":
        return column if is_text(column.type) else pc.cast(column, pa.string())
    if not is_text(column.type):
        return column
    integer = pc.fill_null(pc.match_substring_regex(column, INTEGER_ID), True)
    if pc.all(integer).as_py() is False:  # an empty column (all() is null) converts
        rows = first_rows(pc.invert(integer))
        raise ContractError(
            table,
            "wrong type: the export's subscribers have integer ids, these are not integers",
            spec.name,
            "type",
            show(column, rows),
        )
    return pc.cast(column, pa.int64())


def to_pandas(spec: ColumnSpec, column: pa.ChunkedArray) -> pd.Series:
    """Convert an Arrow column already in the contract type to its pandas dtype."""
    extension = {"int64": pd.Int64Dtype(), "bool": pd.BooleanDtype()}.get(spec.type)
    if spec.type == "id" and pa.types.is_integer(column.type) and column.null_count > 0:
        extension = pd.Int64Dtype()
    if extension is not None and (spec.nullable or column.null_count > 0):
        return column.to_pandas(types_mapper={column.type: extension}.get)
    series = column.to_pandas(date_as_object=False)
    return series.astype("category") if spec.type == "category" else series


def fill_column(spec: ColumnSpec, n_rows: int) -> pd.Series:
    """Return the column a table carries for an absent optional column: its `fill` value, else missing.

    An absent id column (a key such as contact_id) holds the row number + 1 instead.
    """
    if spec.type == "bool":
        return pd.Series(np.full(n_rows, bool(spec.fill)), name=spec.name)
    if spec.type == "id":
        return pd.Series(np.arange(1, n_rows + 1, dtype=np.int64), name=spec.name)
    if spec.type in ("date", "datetime"):
        return pd.Series(np.full(n_rows, np.datetime64("NaT"), dtype="datetime64[ms]"), name=spec.name)
    dtypes = {"float64": "float64", "int64": "Int64", "string": "str", "category": "category"}
    values = None if spec.fill is None else [spec.fill] * n_rows
    return pd.Series(values, index=pd.RangeIndex(n_rows), dtype=dtypes[spec.type], name=spec.name)
