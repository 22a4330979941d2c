"""As-of helpers: day numbers, subscriber row positions and bill-month slots as seen at a date D.

Everything here works on numpy arrays of integers (days since 1970-01-01, row positions) so that
the feature modules can aggregate a whole table in one vectorised pass with `np.bincount`.
The datetime columns may come in any numpy unit (ms, ns, ...): they are read as integer ticks of
that unit, never assumed to be nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

# Average Gregorian month (365.25 / 12 days): tenure and contract months (docs/interfaces.md).
DAYS_PER_MONTH = 30.4375
NAT = np.iinfo(np.int64).min
# A subscriber id LUT is used instead of a hash lookup when ids are this dense or denser.
_LUT_SLACK = 4


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


def positions(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Return, for each id, its index in the sorted unique int64 array `keys`, or -1 when absent."""
    if len(keys) == 0:
        return np.full(len(ids), -1, dtype=np.intp)
    low, high = int(keys[0]), int(keys[-1])
    if low >= 0 and high <= _LUT_SLACK * len(keys) + 1_000_000:
        # Dense ids: a lookup table indexed by id+1; slot 0 catches negatives, the last slot ids > high.
        lut = np.full(high + 3, -1, dtype=np.intp)
        lut[keys + 1] = np.arange(len(keys), dtype=np.intp)
        return lut[np.clip(ids, -1, high + 1) + 1]
    return pd.Index(keys).get_indexer(ids).astype(np.intp, copy=False)


def last_known_bill_month(as_of: date) -> np.datetime64:
    """Return the latest bill month known at D: a bill for month M is known from M's last day on."""
    day_after = np.datetime64(as_of_day(as_of) + 1, "D")
    return day_after.astype("datetime64[M]") - np.timedelta64(1, "M")


def month_slots(bill_months: pd.Series, as_of: date, width: int) -> np.ndarray:
    """Return, per bill row, how many bill months back from the last known one it is (0..width-1), else -1.

    Rows of months not yet known at D or older than `width` months get -1.
    """
    ticks, per_day = datetime_ticks(bill_months)
    newest = last_known_bill_month(as_of)
    months = np.arange(newest - np.timedelta64(width - 1, "M"), newest + np.timedelta64(2, "M"))
    first_days = months.astype("datetime64[D]").astype(np.int64)
    days = ticks // per_day
    # Day -> slot lookup over the window's days only: cheaper than a binary search per row.
    start, stop = int(first_days[0]), int(first_days[-1])
    lookup = np.full(stop - start + 2, -1, dtype=np.int8)
    for j in range(width):
        lookup[first_days[j] - start + 1 : first_days[j + 1] - start + 1] = width - 1 - j
    return lookup[np.clip(days - start + 1, 0, stop - start + 1)]


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

    `pos[i]` is the output row of bill i (-1: not an active subscriber, or outside the window),
    `slot[i]` how many bill months back from the last known one it is (0 = the newest) and
    `cell[i]` = pos * width + slot, or n_rows * width (a spare cell) when pos is -1.
    """

    bills: pd.DataFrame
    subscriber_ids: np.ndarray
    pos: np.ndarray
    slot: np.ndarray
    cell: np.ndarray
    width: int

    @property
    def n_rows(self) -> int:
        """Return the number of output rows (active subscribers)."""
        return len(self.subscriber_ids)

    def grid(self, column: str | None) -> np.ndarray:
        """Return an (n_rows, width) array: the sum of `column` (or the number of bills) per month slot."""
        cells = self.n_rows * self.width
        weights = None if column is None else self.values(column)
        return np.bincount(self.cell, weights=weights, minlength=cells + 1)[:cells].reshape(self.n_rows, self.width)

    def window_bins(self, first: int, stop: int) -> np.ndarray:
        """Return per bill row its output row when its slot is in first..stop-1, else n_rows."""
        return np.where((self.pos >= 0) & (self.slot >= first) & (self.slot < stop), self.pos, self.n_rows)

    def window_sum(self, bins: np.ndarray, column: str | None) -> np.ndarray:
        """Return per output row the sum of `column` (or the number of bills) over rows binned by window_bins."""
        weights = None if column is None else self.values(column)
        return np.bincount(bins, weights=weights, minlength=self.n_rows + 1)[: self.n_rows]

    def values(self, column: str) -> np.ndarray:
        """Return a bill column as float64 numpy values."""
        return self.bills[column].to_numpy(dtype=np.float64)


def known_bills(bills: pd.DataFrame, subscriber_ids: np.ndarray, as_of: date, width: int) -> KnownBills:
    """Return the bills of `subscriber_ids` (sorted, unique) known at D, within the last `width` bill months."""
    pos = positions(bills["subscriber_id"].to_numpy(dtype=np.int64), subscriber_ids)
    slot = month_slots(bills["bill_month"], as_of, width)
    pos[slot < 0] = -1
    cell = np.where(pos >= 0, pos * width + slot, len(subscriber_ids) * width)
    return KnownBills(bills=bills, subscriber_ids=subscriber_ids, pos=pos, slot=slot, cell=cell, width=width)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Return numerator / denominator as float64, NaN where the denominator is not positive."""
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=np.asarray(denominator) > 0)
    return out
