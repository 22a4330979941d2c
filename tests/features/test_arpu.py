from datetime import date

import numpy as np
import pandas as pd
import pytest

from features.arpu import arpu_features
from features.windows import known_bills
from tests.features import frames

MONTHS = ["2024-10-01", "2024-11-01", "2024-12-01", "2025-01-01", "2025-02-01", "2025-03-01"]


def arpu_of(bills: pd.DataFrame, ids: list[int], as_of: date) -> pd.DataFrame:
    known = known_bills(bills, np.array(ids), as_of, width=12)
    return arpu_features(known.grid(None), known.grid("amount"))


def six_rising_bills() -> pd.DataFrame:
    """Subscriber 1: bills of 10, 20, ..., 60 CNY from October to March, plus an April bill not known at D."""
    rows = [{"subscriber_id": 1, "bill_month": m, "amount": 10.0 * (i + 1)} for i, m in enumerate(MONTHS)]
    rows += [{"subscriber_id": 1, "bill_month": "2025-04-01", "amount": 1000.0}]
    rows += [{"subscriber_id": 2, "bill_month": "2025-01-01", "amount": 30.0}]
    return frames.bills(*rows)


def test_arpu_windows_trend_and_volatility_at_a_month_end() -> None:
    # given bills of 10..60 (Oct..Mar) when D is March's last day, March's bill is the newest known
    arpu = arpu_of(six_rising_bills(), [1, 2, 3], date(2025, 3, 31))
    first = arpu.iloc[0]
    assert first["arpu_1m"] == 60.0
    assert first["arpu_3m"] == 50.0  # (40 + 50 + 60) / 3
    assert first["arpu_6m"] == 35.0
    assert first["arpu_trend"] == 50.0 / 20.0 - 1.0  # previous 3 months average 20
    assert first["arpu_volatility"] == pytest.approx(np.std([10, 20, 30, 40, 50, 60], ddof=1) / 35.0, rel=1e-15)
    assert first["months_billed_6m"] == 6
    # subscriber 2 has one bill (January): no 1-month ARPU, no trend, no volatility
    second = arpu.iloc[1]
    assert np.isnan(second["arpu_1m"])
    assert second["arpu_3m"] == second["arpu_6m"] == 30.0
    assert np.isnan(second["arpu_trend"]) and np.isnan(second["arpu_volatility"])
    assert second["months_billed_6m"] == 1
    # subscriber 3 has no bill at all
    third = arpu.iloc[2]
    assert third[["arpu_1m", "arpu_3m", "arpu_6m", "arpu_trend", "arpu_volatility"]].isna().all()
    assert third["months_billed_6m"] == 0
    assert arpu["months_billed_6m"].dtype == np.int64


def test_the_bill_of_ds_own_month_is_not_known_before_its_last_day() -> None:
    # given D = 30 March, the newest known bill is February's (50)
    first = arpu_of(six_rising_bills(), [1], date(2025, 3, 30)).iloc[0]
    assert first["arpu_1m"] == 50.0
    assert first["arpu_3m"] == 40.0  # Dec, Jan, Feb
    assert first["arpu_6m"] == 30.0  # Oct..Feb: 5 bills (September has none)
    assert first["arpu_trend"] == 40.0 / 15.0 - 1.0  # previous window Sep..Nov holds 10 and 20
    assert first["months_billed_6m"] == 5


def test_zero_bills_give_no_trend_or_volatility() -> None:
    rows = [{"subscriber_id": 1, "bill_month": m, "amount": 0.0} for m in MONTHS]
    first = arpu_of(frames.bills(*rows), [1], date(2025, 3, 31)).iloc[0]
    assert first["arpu_3m"] == 0.0
    assert np.isnan(first["arpu_trend"]) and np.isnan(first["arpu_volatility"])
