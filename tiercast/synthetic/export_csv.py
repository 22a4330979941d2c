"""CSV columns of an operator export: how each canonical column is written as text, and the CSV writer.

A formatter turns one canonical Arrow column into text: a DictionaryArray (codes, names, dates,
numbers: each distinct value is formatted, quoted and encoded once, which is most of the speed) or,
for nearly unique values (ids, times), a StringArray of ASCII fields that never need quoting. Nulls
become empty fields. Lines are joined in Arrow and written as bytes in the export's encoding, so no
Python runs per row and nothing is transcoded afterwards (ASCII is the same in GBK and UTF-8, and
GBK's second bytes are never a comma, quote or line break).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

Formatter = Callable[[pa.Array], pa.Array]
BATCH_ROWS = 1 << 17  # rows converted at a time: ~30 MB of CSV text, bounds memory
MS_PER_DAY = 86_400_000
NEEDS_QUOTES = '[",\r\n]'


@dataclass(frozen=True)
class Column:
    """One column of an export: its name, the tiercast column it carries and how the mapping reads it back."""

    name: str
    source: str
    text: Formatter
    date_format: str | None = None  # strptime format of the text (mapping `dates`)
    values: Mapping[str, str] | None = None  # export's code -> tiercast value (mapping `values`)
    scale: float | None = None  # export's number x scale = tiercast's (mapping `scales`)


@cache
def _digits(width: int) -> pa.Array:
    """Return "00".."99" (width 2) or "000".."999" (width 3), indexed by the number."""
    return pa.array([f"{i:0{width}d}" for i in range(10**width)], pa.string())


@cache
def _clock() -> pa.Array:
    """Return "00:00:00".."23:59:59", indexed by the second of the day."""
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)], pa.string())


def _blank_nulls(text: pa.Array, values: pa.Array) -> pa.Array:
    """Return `text` with an empty field where `values` is null."""
    return text if values.null_count == 0 else pc.if_else(values.is_valid(), text, "")


def _per_distinct(values: pa.Array, formatter: Formatter) -> pa.Array:
    """Return `formatter` applied to each distinct value once, as a DictionaryArray (nulls stay null)."""
    encoded = pc.dictionary_encode(values)
    return pa.DictionaryArray.from_arrays(encoded.indices, formatter(encoded.dictionary))


def prefixed_ids(values: pa.Array, prefix: str, width: int) -> pa.Array:
    """Return integer ids as text: `prefix` then the id zero-padded to `width` digits (33946 -> U00033946)."""
    ids = values.cast(pa.int64())
    bounds = pc.min_max(ids)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is not None and low >= 0 and high < 10**width:
        # 10**width + id is "1" and the padded digits: replacing the "1" is cheaper than padding.
        padded = pc.add(ids, 10**width).cast(pa.string())
        text = pc.binary_replace_slice(padded, start=0, stop=1, replacement=prefix)
    else:
        text = pc.binary_join_element_wise(prefix, pc.utf8_lpad(ids.cast(pa.string()), width, "0"), "")
    return _blank_nulls(text, values)


def verbatim(values: pa.Array) -> pa.Array:
    """Return a text column unchanged."""
    return pc.dictionary_encode(values)


def recoded(values: pa.Array, codes: Mapping[str, str], closed: bool) -> pa.Array:
    """Return a text column with each value replaced by its code; a closed vocabulary refuses unknown values."""

    def recode(words: pa.Array) -> pa.Array:
        unknown = sorted(set(words.to_pylist()) - set(codes))
        if closed and unknown:
            raise ValueError(f"values {unknown} have no code in the export; known: {sorted(codes)}")
        return pa.array([codes.get(word, word) for word in words.to_pylist()], pa.string())

    return _per_distinct(values, recode)


def flags(values: pa.Array, yes: str, no: str) -> pa.Array:
    """Return a boolean column as `yes` / `no`."""
    return pa.DictionaryArray.from_arrays(values.cast(pa.int8()), pa.array([no, yes], pa.string()))


def dates(values: pa.Array, fmt: str) -> pa.Array:
    """Return a date column formatted with strftime format `fmt`."""
    return _per_distinct(values, partial(pc.strftime, format=fmt))


def times(values: pa.Array, date_fmt: str, sep: str, millis: bool) -> pa.Array:
    """Return timestamps as date text, `sep`, HH:MM:SS and, with `millis`, .fff (else truncated to the second)."""
    ms = np.asarray(values.cast(pa.timestamp("ms")).cast(pa.int64()).fill_null(0))
    day, ms_of_day = np.divmod(ms, MS_PER_DAY)
    day_text = dates(pa.array(day.astype(np.int32)).cast(pa.date32()), date_fmt)
    parts = [pc.take(day_text.dictionary, day_text.indices), pc.take(_clock(), pa.array(ms_of_day // 1000))]
    text = pc.binary_join_element_wise(*parts, sep)
    if millis:
        text = pc.binary_join_element_wise(text, pc.take(_digits(3), pa.array(ms_of_day % 1000)), ".")
    return _blank_nulls(text, values)


def _shortest(values: pa.Array) -> pa.Array:
    """Return numbers in their shortest exact form."""
    return values.cast(pa.string())


def numbers(values: pa.Array) -> pa.Array:
    """Return numbers in their shortest exact form (91.2, 1552, 11)."""
    return _per_distinct(values, _shortest)


def unique_numbers(values: pa.Array) -> pa.Array:
    """Return numbers that rarely repeat (row ids) in their shortest exact form, without a dictionary."""
    return _blank_nulls(_shortest(values), values)


def whole_fen(values: pa.Array) -> np.ndarray:
    """Return CNY amounts as integer fen; refuse amounts that are not whole fen (the export would round them)."""
    cny = np.asarray(values.cast(pa.float64()).fill_null(0.0))
    fen = np.round(cny * 100)
    off = np.abs(cny * 100 - fen) > 1e-6
    if off.any():
        raise ValueError(f"{int(off.sum())} amounts are not whole fen, e.g. {cny[off][0]!r}")
    return fen.astype(np.int64)


def _fen_text(values: pa.Array) -> pa.Array:
    """Return CNY amounts as integer fen text."""
    return pa.array(whole_fen(values)).cast(pa.string())


def fen(values: pa.Array) -> pa.Array:
    """Return CNY amounts as integer fen (22.35 -> 2235)."""
    return _per_distinct(values, _fen_text)


def _grouped(units: np.ndarray, separator: str) -> pa.Array:
    """Return non-negative integers as text with `separator` between groups of three digits."""
    plain = pa.array(units).cast(pa.string())
    big = units >= 1000
    if not separator or not big.any():
        return plain
    head = _grouped(units // 1000, separator)
    tail = pc.take(_digits(3), pa.array(units % 1000))
    return pc.if_else(pa.array(big), pc.binary_join_element_wise(head, tail, separator), plain)


def _money_text(values: pa.Array, separator: str) -> pa.Array:
    """Return CNY amounts as text with 2 decimals and `separator` between groups of thousands."""
    cents = whole_fen(values)
    units, rest = np.divmod(np.abs(cents), 100)
    text = pc.binary_join_element_wise(_grouped(units, separator), pc.take(_digits(2), pa.array(rest)), ".")
    return pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)


def money(values: pa.Array, separator: str = "") -> pa.Array:
    """Return CNY amounts with 2 decimals and `separator` between groups of thousands (1234.5 -> "1,234.50")."""
    return _per_distinct(values, partial(_money_text, separator=separator))


def _csv_quoted(words: pa.Array) -> pa.Array:
    """Return text values as CSV fields: quoted (quotes doubled) where they hold a comma, quote or line break."""
    needs = pc.match_substring_regex(words, NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return words
    return pc.if_else(needs, pc.binary_join_element_wise('"', pc.replace_substring(words, '"', '""'), '"', ""), words)


def _encoded(text: pa.Array, encoding: str) -> pa.Array:
    """Return text as bytes in `encoding` (ASCII and UTF-8 text is only relabelled)."""
    if codecs.lookup(encoding).name == "utf-8" or pc.all(pc.string_is_ascii(text)).as_py() is not False:
        return text.cast(pa.binary())
    return pa.array([None if t is None else t.encode(encoding) for t in text.to_pylist()], pa.binary())


def _field_bytes(text: pa.Array, encoding: str) -> pa.Array:
    """Return formatted text as non-null CSV field bytes in `encoding`."""
    if isinstance(text, pa.DictionaryArray):
        fields = pc.take(_encoded(_csv_quoted(text.dictionary), encoding), text.indices)
    elif codecs.lookup(encoding).name == "utf-8" or pc.all(pc.string_is_ascii(text)).as_py() is not False:
        fields = text.cast(pa.binary())
    else:
        raise ValueError("formatters return non-ASCII text only as a DictionaryArray")
    return fields.fill_null(b"") if fields.null_count else fields


def csv_bytes(fields: list[pa.Array]) -> pa.Buffer:
    """Return CSV lines (fields joined by commas, each line ending in a newline) as one buffer."""
    row = pc.binary_join_element_wise(*fields, pa.scalar(b",", pa.binary()))
    lines = pc.binary_join_element_wise(row, pa.scalar(b"", pa.binary()), pa.scalar(b"\n", pa.binary()))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def write_csv(source: Path, target: Path, columns: tuple[Column, ...], encoding: str, bom: bool = False) -> int:
    """Write the Parquet table `source` as a CSV file of `columns` in `encoding`; return the rows written.

    The file is written as `<target>.tmp` and renamed when complete.
    """
    tmp = target.with_name(target.name + ".tmp")
    names = _encoded(_csv_quoted(pa.array([c.name for c in columns], pa.string())), encoding)
    header = b",".join(names.to_pylist()) + b"\n"
    rows = 0
    try:
        with tmp.open("wb") as out:
            out.write(("\ufeff".encode() if bom else b"") + header)
            sources = list(dict.fromkeys(c.source for c in columns))
            for batch in pq.ParquetFile(source).iter_batches(batch_size=BATCH_ROWS, columns=sources):
                if batch.num_rows == 0:
                    continue
                fields = [_field_bytes(c.text(batch.column(c.source)), encoding) for c in columns]
                out.write(csv_bytes(fields))
                rows += batch.num_rows
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def id_column(name: str, ids: Formatter) -> Column:
    """Return the subscriber-id column of an export."""
    return Column(name, "subscriber_id", ids)


def text_column(name: str, source: str) -> Column:
    """Return a text column written as it is."""
    return Column(name, source, verbatim)


def number_column(name: str, source: str, unique: bool = False) -> Column:
    """Return a numeric column written in its shortest exact form (`unique`: values that rarely repeat, like ids)."""
    return Column(name, source, unique_numbers if unique else numbers)


def date_column(name: str, source: str, fmt: str) -> Column:
    """Return a date column written with strftime format `fmt`."""
    return Column(name, source, partial(dates, fmt=fmt), date_format=fmt)


def time_column(name: str, source: str, date_fmt: str, sep: str, millis: bool) -> Column:
    """Return a timestamp column: date, `sep`, time of day (with milliseconds when `millis`)."""
    fmt = f"{date_fmt}{sep}%H:%M:%S" + (".%f" if millis else "")
    return Column(name, source, partial(times, date_fmt=date_fmt, sep=sep, millis=millis), date_format=fmt)


def coded_column(name: str, source: str, codes: Mapping[str, str], closed: bool = True) -> Column:
    """Return a column of codes (tiercast value -> export's code).

    A closed vocabulary (an `isin` check in data_contracts/) gets mapping values back to tiercast's codes
    and refuses values it has no code for; an open one is renamed (unknown names pass) and read as it is.
    """
    back = {code: value for value, code in codes.items()}
    if len(back) != len(codes):
        raise ValueError(f"{name}: codes must be one-to-one, got {dict(codes)}")
    return Column(name, source, partial(recoded, codes=codes, closed=closed), values=back if closed else None)


def flag_column(name: str, source: str, yes: str, no: str) -> Column:
    """Return a boolean column written as `yes` / `no` (the reader knows these without mapping values)."""
    return Column(name, source, partial(flags, yes=yes, no=no))


def fen_column(name: str, source: str) -> Column:
    """Return a CNY amount column written as integer fen (mapping scale 0.01)."""
    return Column(name, source, fen, scale=0.01)


def money_column(name: str, source: str, separator: str = "") -> Column:
    """Return a CNY amount column written with 2 decimals (and a thousands separator)."""
    return Column(name, source, partial(money, separator=separator))
