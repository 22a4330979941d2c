"""As-of helpers: day numbers, subscriber row positions and bill-month slots as seen at a date D.

Everything here works on numpy integers (ticks, days since 1970-01-01, row positions) so that the
feature modules handle a whole table in a few vectorised passes, without pandas group-bys or sorts:
each bill (and the payment settling it) goes to its own cell of a (subscriber row x month slot)
grid, and features reduce the grid's rows. Big tables are walked in chunks of CHUNK_ROWS rows.
Datetime columns may come in any numpy unit (ms, ns, ...): they are read as integer ticks of that
unit, never assumed to be nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

# Average Gregorian month (365.25 / 12 days): tenure and contract months (docs/interfaces.md).
DAYS_PER_MONTH = 30.4375
NAT = np.iinfo(np.int64).min
# A subscriber id LUT is used instead of a hash lookup when ids are this dense or denser.
_LUT_SLACK = 4
# Rows handled per step by the chunked loops (features never depend on it).
CHUNK_ROWS = 1 << 20


def as_of_day(as_of: date) -> int:
    """Return the date D (a date, or a datetime whose time of day is ignored) as days since 1970-01-01."""
    return int(np.datetime64(date(as_of.year, as_of.month, as_of.day), "D").astype(np.int64))


def as_of_timestamp(as_of: date) -> pd.Timestamp:
    """Return the date D as a midnight pandas Timestamp in nanoseconds."""
    return pd.Timestamp(date(as_of.year, as_of.month, as_of.day)).as_unit("ns")


def datetime_ticks(values: pd.Series) -> tuple[np.ndarray, int]:
    """Return a datetime column as int64 ticks of its own unit (NaT -> NAT) and the ticks in a day."""
    array = values.to_numpy()
    if array.dtype.kind != "M":
        array = pd.to_datetime(values).to_numpy()
    unit, count = np.datetime_data(array.dtype)
    ticks_per_day = int(np.timedelta64(1, "D").astype(f"timedelta64[{unit}]").astype(np.int64)) // count
    return array.view(np.int64), ticks_per_day


def day_numbers(values: pd.Series, missing: int) -> np.ndarray:
    """Return a datetime column as int64 days since 1970-01-01 (floored), with `missing` for NaT."""
    ticks, per_day = datetime_ticks(values)
    days = ticks // per_day
    nat = ticks == NAT
    if nat.any():
        days[nat] = missing
    return days


class RowLookup:
    """Maps ids to their index in a sorted unique int64 array `keys` (-1 when absent); build once, apply per chunk."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        self.lut: np.ndarray | None = None
        if len(keys) and keys[0] >= 0 and keys[-1] <= _LUT_SLACK * len(keys) + 1_000_000:
            # Dense ids: a table indexed by id + 1; slot 0 catches negatives, the last slot ids > keys[-1].
            self.lut = np.full(int(keys[-1]) + 3, -1, dtype=np.intp)
            self.lut[keys + 1] = np.arange(len(keys), dtype=np.intp)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """Return the index of each id in keys, or -1."""
        if self.lut is not None:
            return self.lut[np.clip(ids, -1, len(self.lut) - 2) + 1]
        if len(self.keys) == 0:
            return np.full(len(ids), -1, dtype=np.intp)
        return pd.Index(self.keys).get_indexer(ids).astype(np.intp, copy=False)


def positions(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Return, for each id, its index in the sorted unique int64 array `keys`, or -1 when absent."""
    return RowLookup(keys)(ids)


def chunks(n_rows: int) -> Iterator[slice]:
    """Yield consecutive row slices of CHUNK_ROWS rows: keeps temporaries small (no page faults, cache-resident).

    Results never depend on the chunking: per-row values are written to their own cells, and only
    integers are summed across chunks.
    """
    for start in range(0, n_rows, CHUNK_ROWS):
        yield slice(start, min(start + CHUNK_ROWS, n_rows))


def last_known_bill_month(as_of: date) -> np.datetime64:
    """Return the latest bill month known at D: a bill for month M is known from M's last day on."""
    day_after = np.datetime64(as_of_day(as_of) + 1, "D")
    return day_after.astype("datetime64[M]") - np.timedelta64(1, "M")


class MonthSlots:
    """Maps datetime ticks to how many bill months back from the last known one at D they fall (0..width-1, else -1)."""

    def __init__(self, as_of: date, width: int) -> None:
        newest = last_known_bill_month(as_of)
        months = np.arange(newest - np.timedelta64(width - 1, "M"), newest + np.timedelta64(2, "M"))
        first_days = months.astype("datetime64[D]").astype(np.int64)
        self.start, self.stop = int(first_days[0]), int(first_days[-1])
        # Day -> slot lookup over the window's days only: cheaper than a binary search per row.
        self.lookup = np.full(self.stop - self.start + 2, -1, dtype=np.int8)
        for j in range(width):
            self.lookup[first_days[j] - self.start + 1 : first_days[j + 1] - self.start + 1] = width - 1 - j

    def __call__(self, ticks: np.ndarray, ticks_per_day: int) -> np.ndarray:
        """Return the slot (int8) of each tick value; -1 outside the window (and for NaT)."""
        days = ticks // ticks_per_day
        return self.lookup[np.clip(days - self.start + 1, 0, self.stop - self.start + 1)]


def month_slots(bill_months: pd.Series, as_of: date, width: int) -> np.ndarray:
    """Return, per bill row, how many bill months back from the last known one it is (0..width-1), else -1.

    Rows of months not yet known at D or older than `width` months get -1.
    """
    ticks, per_day = datetime_ticks(bill_months)
    return MonthSlots(as_of, width)(ticks, per_day)


def floor_days(ticks: np.ndarray, ticks_per_day: int, missing: int) -> np.ndarray:
    """Return int64 ticks as days since 1970-01-01 (floored), `missing` for NaT."""
    return np.where(ticks == NAT, missing, ticks // ticks_per_day)


def last_days(day: np.ndarray, as_of: int, n_days: int) -> np.ndarray:
    """Return a mask of the day numbers in the window (D - n_days, D]."""
    return (day > as_of - n_days) & (day <= as_of)


def sums_by_row(pos: np.ndarray, n_rows: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Return per output row the sum of `weights` (or the count) of the table rows at `pos` (-1 = skip)."""
    bins = np.where(pos >= 0, pos, n_rows)
    return np.bincount(bins, weights=weights, minlength=n_rows + 1)[:n_rows]


def max_by_row(pos: np.ndarray, n_rows: int, values: np.ndarray) -> np.ndarray:
    """Return per output row the largest of `values` of the table rows at `pos` (-1 = skip), NaN when none."""
    out = np.full(n_rows, -np.inf)
    keep = pos >= 0
    np.maximum.at(out, pos[keep], values[keep].astype(np.float64))
    out[np.isneginf(out)] = np.nan
    return out


@dataclass(frozen=True)
class KnownBills:
    """Bill rows of the active subscribers known at D, placed by output row and month slot.

    `pos[i]` (int32) is the output row of bill i and `slot[i]` (int8) how many bill months back
    from the last known one it is (0 = the newest); both -1 when the bill is not an active
    subscriber's or not within the `width` newest known bill months. (subscriber_id, bill_month)
    is unique (the bills contract's primary key), so every bill has a cell of its own.
    """

    bills: pd.DataFrame
    subscriber_ids: np.ndarray
    as_of: date
    pos: np.ndarray
    slot: np.ndarray
    width: int

    @property
    def n_rows(self) -> int:
        """Return the number of output rows (active subscribers)."""
        return len(self.subscriber_ids)

    def cells(self, rows: slice, width: int) -> np.ndarray:
        """Return pos * width + slot for the bill rows `rows` (slot < width), else the spare cell n_rows * width."""
        pos, slot = self.pos[rows], self.slot[rows]
        return np.where((pos >= 0) & (slot < width), pos.astype(np.intp) * width + slot, self.n_rows * width)

    def grid(self, column: str | None, width: int | None = None) -> np.ndarray:
        """Return an (n_rows, width) float64 array: `column` per month slot (or 1 where a bill exists), else 0."""
        return self.grids([column], width)[0]

    def grids(self, columns: list[str | None], width: int | None = None) -> list[np.ndarray]:
        """Return `grid(column, width)` for each of `columns`, in one pass over the bills."""
        width = self.width if width is None else width
        outs = [np.zeros(self.n_rows * width + 1) for _ in columns]
        values = [None if name is None else self.bills[name].to_numpy(dtype=np.float64) for name in columns]
        for rows in chunks(len(self.pos)):
            cell = self.cells(rows, width)
            for out, column in zip(outs, values, strict=True):
                out[cell] = 1.0 if column is None else column[rows]
        return [out[:-1].reshape(self.n_rows, width) for out in outs]


def known_bills(bills: pd.DataFrame, subscriber_ids: np.ndarray, as_of: date, width: int) -> KnownBills:
    """Return the bills of `subscriber_ids` (sorted, unique) known at D, within the last `width` bill months."""
    lookup, slots = RowLookup(subscriber_ids), MonthSlots(as_of, width)
    ids = bills["subscriber_id"].to_numpy(dtype=np.int64)
    ticks, per_day = datetime_ticks(bills["bill_month"])
    pos, slot = np.empty(len(bills), dtype=np.int32), np.empty(len(bills), dtype=np.int8)
    for rows in chunks(len(bills)):
        slot[rows] = slots(ticks[rows], per_day)
        pos[rows] = np.where(slot[rows] >= 0, lookup(ids[rows]), -1)
    slot[pos < 0] = -1
    return KnownBills(bills=bills, subscriber_ids=subscriber_ids, as_of=as_of, pos=pos, slot=slot, width=width)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Return numerator / denominator as float64, NaN where the denominator is not positive."""
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=np.asarray(denominator) > 0)
    return out
