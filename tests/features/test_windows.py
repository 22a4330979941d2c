from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from features.windows import (
    as_of_day,
    day_numbers,
    floor_days,
    known_bills,
    last_days,
    last_known_bill_month,
    month_slots,
    positions,
    ratio,
)
from tests.features import frames


def test_as_of_day_counts_days_since_epoch_and_ignores_time_of_day() -> None:
    assert as_of_day(date(1970, 1, 2)) == 1
    assert as_of_day(datetime(2025, 3, 31, 23, 59)) == as_of_day(date(2025, 3, 31)) == 20178


@pytest.mark.parametrize(
    ("as_of", "newest"),
    [
        (date(2025, 3, 31), "2025-03"),  # the last day of March: March's bill is known
        (date(2025, 3, 30), "2025-02"),  # not yet the last day: only February's
        (date(2024, 2, 29), "2024-02"),  # leap-year month end
        (date(2025, 1, 1), "2024-12"),
    ],
)
def test_last_known_bill_month_is_known_from_the_months_last_day(as_of: date, newest: str) -> None:
    assert last_known_bill_month(as_of) == np.datetime64(newest, "M")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_month_slots_count_back_from_the_newest_known_month_in_any_unit(unit: str) -> None:
    values = pd.Series(["2025-03-01", "2025-02-01", "2024-10-01", "2024-09-01", "2025-04-01", None], dtype=object)
    months = pd.Series(pd.to_datetime(values)).astype(np.dtype(f"datetime64[{unit}]"))
    assert month_slots(months, date(2025, 3, 31), 6).tolist() == [0, 1, 5, -1, -1, -1]
    assert month_slots(months, date(2025, 3, 30), 6).tolist() == [-1, 0, 4, 5, -1, -1]


@pytest.mark.parametrize("keys", [np.array([3, 5, 9]), np.array([3, 5, 2**40])], ids=["dense", "sparse"])
def test_positions_find_each_id_or_minus_one(keys: np.ndarray) -> None:
    ids = np.array([5, 3, 4, keys[-1], -7, 2**41, 3])
    assert positions(ids, keys).tolist() == [1, 0, -1, 2, -1, -1, 0]


def test_floor_days_floor_ticks_and_fill_nat() -> None:
    ticks = np.array([86_400_000, 86_399_999, -1, np.iinfo(np.int64).min])
    assert floor_days(ticks, 86_400_000, missing=7).tolist() == [1, 0, -1, 7]


def test_positions_of_no_keys_are_all_missing() -> None:
    assert positions(np.array([1, 2]), np.array([], dtype=np.int64)).tolist() == [-1, -1]


def test_day_numbers_floor_datetimes_and_fill_missing() -> None:
    values = pd.Series(["1970-01-02 23:59:59.999", None, "1969-12-31 12:00:00.000"], dtype=object)
    times = pd.Series(pd.to_datetime(values)).astype("datetime64[ms]")
    assert day_numbers(times, missing=-99).tolist() == [1, -99, -1]


def test_day_numbers_accept_dates_stored_as_objects() -> None:
    assert day_numbers(pd.Series([date(1970, 1, 11)], dtype=object), missing=0).tolist() == [10]


def test_last_days_window_excludes_its_first_day_and_includes_d() -> None:
    days = np.array([69, 70, 71, 100, 101])
    assert last_days(days, as_of=100, n_days=30).tolist() == [False, False, True, True, False]


def test_ratio_is_nan_where_the_denominator_is_not_positive() -> None:
    result = ratio(np.array([1.0, 2.0, 3.0]), np.array([2.0, 0.0, np.nan]))
    assert result[0] == 0.5
    assert np.isnan(result[1:]).all()


def test_known_bills_grid_places_each_bill_by_subscriber_row_and_month_slot() -> None:
    bills = frames.bills(
        {"subscriber_id": 7, "bill_month": "2025-03-01", "amount": 30.0},
        {"subscriber_id": 2, "bill_month": "2025-01-01", "amount": 10.0},
        {"subscriber_id": 7, "bill_month": "2025-02-01", "amount": 20.0},
        {"subscriber_id": 9, "bill_month": "2025-03-01", "amount": 99.0},  # not an active subscriber
        {"subscriber_id": 2, "bill_month": "2025-04-01", "amount": 99.0},  # not known yet
    )
    known = known_bills(bills, np.array([2, 7]), date(2025, 3, 31), width=3)
    assert known.grid("amount").tolist() == [[0.0, 0.0, 10.0], [30.0, 20.0, 0.0]]
    assert known.grid(None).tolist() == [[0, 0, 1], [1, 1, 0]]
    assert known.grid("amount", width=2).tolist() == [[0.0, 0.0], [30.0, 20.0]]
