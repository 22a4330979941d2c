"""What a sampled column's values look like: the `Profile` behind `tiercast mapping draft`.

Shapes: 11-digit mobile numbers, YYYYMM billing months, dates and their format, date-times,
numbers (whole? median? epoch seconds or milliseconds?), booleans, and codes with their counts.
Pure: a sampled Arrow column in, its profile out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.coerce import DATE_SHAPES, FALSE_TEXT, TRUE_TEXT, is_text, national_numbers, without_currency

CODE_LIMIT = 200  # more distinct values than this in the sample: not a code column
MSISDN = r"^1[3-9]\d{9}$"
NUMBER = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"
COMMA_NUMBER = r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"  # a decimal comma: 1.234,50
PHONE_PREFIXES = ("0086", "86")  # as data_contracts/subscribers.yaml reads msisdn (phone_prefixes)
WHOLE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.0+)?$"
MIDNIGHT = r"[ T]00:00(:00(\.0+)?)?$"
BOOL_WORDS = [t for t in TRUE_TEXT + FALSE_TEXT if not t.isdigit()]
# Date formats beyond the shapes pipelines/coerce.py reads by itself: these need a `dates:` entry.
OTHER_DATES: tuple[str, ...] = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%m.%d.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y.%m.%d",
    "%Y年%m月%d日",
)
OTHER_DATES += ("%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y%m%d %H:%M:%S", "%d-%b-%Y", "%d%b%Y", "%Y-%m", "%Y/%m")
OTHER_DATES += ("%m/%Y", "%m.%Y", "%m-%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M")
# Epoch instants a sample is taken for: digits, `dates:` entry, units per second. A count of seconds from 2000 to 2100
# has 10 digits, of milliseconds 13; outside those years digits are ids or amounts, not times.
EPOCHS = ((10, "epoch_s", 1), (13, "epoch_ms", 1000))
EPOCH_YEARS_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01 UTC
HOUR_FORMAT = "%Y%m%d%H"  # 10 digits too: 2026080111, an hour, is also a plausible epoch second (2034-03-...)
OTHER_DATES += tuple(f"{d} %H:%M:%S{mark}%f" for d in ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y") for mark in ",.")


@dataclass(frozen=True)
class Profile:
    """What a sampled column looks like: its shape, emptiness, distinct values, date format, numbers, codes."""

    name: str
    shape: str  # empty | msisdn | month | date | datetime | number | bool | text
    rows: int
    nulls: int
    distinct: int = 0
    example: str = ""  # first non-empty value, as text
    date_format: str | None = None  # text dates: strptime format, "" when read as they are, "?" when ambiguous
    formats: tuple[str, ...] = ()  # the formats that fit an ambiguous date
    integral: bool = False  # numbers: all whole
    median: float | None = None  # numbers
    decimal_comma: bool = False  # text numbers written with a decimal comma (1.234,50)
    codes: tuple[tuple[str, int], ...] | None = None  # (value, rows), most frequent first; None: too many
    zone: str = ""  # a typed timestamp's time zone: instants (Spark's UTC TIMESTAMP) that need `timezone:`

    @property
    def time_digits(self) -> bool:
        """True for whole numbers that may be times: epoch seconds or milliseconds, or YYYYMMDDHH hours."""
        return self.shape == "number" and bool(self.date_format)

    @property
    def is_code(self) -> bool:
        """True for a text column with few distinct values (a code or a name list)."""
        return self.codes is not None and self.shape in ("text", "number", "bool") and self.distinct <= 50


def profile(name: str, column: pa.ChunkedArray) -> Profile:
    """Return the profile of a sampled column (CSV columns are text; Parquet ones keep their types)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = pc.drop_null(column)
    if is_text(values.type):
        trimmed = pc.utf8_trim_whitespace(values)
        values = pc.filter(trimmed, pc.not_equal(trimmed, ""))
    rows, found = len(column), len(values)
    if found == 0:
        return Profile(name, "empty", rows, rows)
    text = values if is_text(values.type) else values.cast(pa.string())
    counts = pc.value_counts(text)
    pairs = None
    if len(counts) <= CODE_LIMIT:
        found_counts = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
        pairs = tuple(sorted(found_counts, key=lambda pair: (-pair[1], pair[0])))
    base = Profile(name, "text", rows, rows - found, len(counts), str(text[0].as_py()), codes=pairs)
    kind = values.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        zone = (kind.tz or "") if pa.types.is_timestamp(kind) else ""
        return _with(base, shape=_typed_date_shape(values), zone=zone)
    if pa.types.is_boolean(kind):
        return _with(base, shape="bool")
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        floats = values.cast(pa.float64())
        whole = pc.all(pc.equal(pc.floor(floats), floats)).as_py()
        return _with(base, shape="number", integral=bool(whole), median=_median(floats))
    return _text_profile(base, text, pa.types.is_integer(kind))


def _with(base: Profile, **changes: Any) -> Profile:
    return replace(base, **changes)


def _median(values: pa.ChunkedArray) -> float | None:
    median = pc.approximate_median(values).as_py()
    return None if median is None else float(median)


def _typed_date_shape(values: pa.ChunkedArray) -> str:
    days = values.cast(pa.timestamp("ms")) if pa.types.is_date(values.type) else values
    if pc.any(pc.not_equal(pc.floor_temporal(days, unit="day"), days)).as_py():
        return "datetime"
    return "month" if pc.all(pc.equal(pc.day(days), 1)).as_py() else "date"


def _all(text: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(text, pattern)).as_py())


def _text_profile(base: Profile, text: pa.ChunkedArray, integer: bool) -> Profile:
    """Return the profile of text (or integer) values: mobile numbers, dates, numbers, booleans or text."""
    if _all(text, MSISDN) or (not integer and _all(national_numbers(text, PHONE_PREFIXES), MSISDN)):
        return _with(base, shape="msisdn")
    if not integer and pc.all(pc.is_in(pc.utf8_lower(text), value_set=pa.array(BOOL_WORDS))).as_py():
        return _with(base, shape="bool")
    dated = _date_profile(base, text)
    if dated is not None:
        return dated
    if _all(text, r"^\d{16,}$"):  # longer than any amount: an id kept as text
        return base
    if not integer:
        text = without_currency(text)  # "¥1,234.50", "88.00元": read as numbers
    if integer or _all(text, NUMBER):
        numbers = pc.cast(pc.replace_substring(text, ",", ""), pa.float64())
        found = _with(base, shape="number", integral=integer or _all(text, WHOLE), median=_median(numbers))
        return _with_epoch(found, text) if _all(text, r"^\d+$") else found
    if _all(text, COMMA_NUMBER):
        pointed = pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
        numbers = pc.cast(pointed, pa.float64())
        whole = bool(pc.all(pc.equal(pc.floor(numbers), numbers)).as_py())
        return _with(base, shape="number", integral=whole, median=_median(numbers), decimal_comma=True)
    return base


def _date_profile(base: Profile, text: pa.ChunkedArray) -> Profile | None:
    """Return the profile of text dates (shape, format), or None when the values are not dates."""
    distinct = pc.unique(text)
    for pattern, fmt in DATE_SHAPES:
        if not _all(distinct, pattern):
            continue
        if fmt is None:  # ISO: pipelines/coerce.py reads it without a format
            timed = _all(distinct, ":") and not _all(distinct, MIDNIGHT)
            first_days = _all(distinct, r"^\d{4}[-/]\d{1,2}[-/]0?1([ T]|$)")
            return _with(base, shape="datetime" if timed else "month" if first_days else "date", date_format="")
        parsed = pc.strptime(distinct, format=fmt, unit="s", error_is_null=True)
        if parsed.null_count == 0:
            return _with(base, shape=_format_shape(fmt, distinct), date_format=fmt)
    if _all(distinct, r"^\d+$"):
        return None
    step = max(1, len(distinct) // 200)  # spread over the sample: its first days alone fit dd/mm and mm/dd
    sample = [str(value) for value in distinct.to_pylist()[::step][:200]]
    fits = tuple(fmt for fmt in OTHER_DATES if all(_parses(value, fmt) for value in sample))
    if not fits:
        return None
    chosen = fits[0] if len(fits) == 1 else "?"
    return _with(base, shape=_format_shape(fits[0], distinct), date_format=chosen, formats=fits)


def _with_epoch(found: Profile, text: pa.ChunkedArray) -> Profile:
    """Return a whole-number profile with the time format its digits may be: epoch seconds or milliseconds (10 or
    13 digits from 2000 to 2100), or YYYYMMDDHH hours; "?" with both formats when ten digits fit both readings.

    The shape stays "number": ids and counts have such digits too, and the column's name decides (a datetime column
    takes a number column only with such a format).
    """
    distinct = pc.unique(text)
    for digits, fmt, per_second in EPOCHS:
        if not _all(distinct, rf"^\d{{{digits}}}$"):
            continue
        low, high = (value.as_py() for value in pc.min_max(pc.cast(distinct, pa.int64())).values())
        hours = digits == 10 and pc.strptime(distinct, format=HOUR_FORMAT, unit="s", error_is_null=True).null_count == 0
        if not EPOCH_YEARS_S[0] * per_second <= low <= high < EPOCH_YEARS_S[1] * per_second:
            return _with(found, date_format=HOUR_FORMAT) if hours else found
        if hours:
            return _with(found, date_format="?", formats=(HOUR_FORMAT, fmt))
        return _with(found, date_format=fmt)
    return found


def _format_shape(fmt: str, distinct: pa.Array) -> str:
    if "%H" in fmt:
        return "datetime"
    if "%d" not in fmt:
        return "month"
    first_days = fmt == "%Y%m%d" and _all(distinct, r"01$")
    return "month" if first_days else "date"


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True
