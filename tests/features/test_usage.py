from datetime import date

import numpy as np
import pandas as pd

from features.usage import usage_features
from features.windows import known_bills
from tests.features import frames


def usage_of(bills: pd.DataFrame, ids: list[int], as_of: date) -> pd.DataFrame:
    known = known_bills(bills, np.array(ids), as_of, width=12)
    return usage_features(known, known.grid(None), known.grid("amount"))


def bill(month: str, amount: float = 100.0, **parts: float) -> dict[str, object]:
    return {"subscriber_id": 1, "bill_month": month, "amount": amount, **parts}


def test_shares_volumes_and_trend_over_the_last_three_known_months() -> None:
    bills = frames.bills(
        # previous 3 months: data_mb + voice_minutes = 100 a month, and a big data charge that must not count
        bill("2024-10-01", data_amount=90.0, data_mb=50.0, voice_minutes=50.0),
        bill("2024-11-01", data_mb=50.0, voice_minutes=50.0),
        bill("2024-12-01", data_mb=50.0, voice_minutes=50.0),
        # last 3 months: 300 CNY billed, of which data 60, long distance 30, roaming 15, value-added 3
        bill("2025-01-01", data_amount=10.0, long_distance_amount=10.0, data_mb=100.0, voice_minutes=20.0),
        bill("2025-02-01", data_amount=20.0, long_distance_amount=20.0, data_mb=100.0, voice_minutes=50.0),
        bill("2025-03-01", data_amount=30.0, roaming_amount=15.0, value_added_amount=3.0, data_mb=100.0,
             voice_minutes=80.0),
        bill("2025-04-01", data_amount=100.0, data_mb=9999.0),  # not known at D
    )  # fmt: skip
    usage = usage_of(bills, [1], date(2025, 3, 31)).iloc[0]
    assert usage["data_share"] == 60.0 / 300.0
    assert usage["long_distance_share"] == 30.0 / 300.0
    assert usage["roaming_share"] == 15.0 / 300.0
    assert usage["value_added_share"] == 3.0 / 300.0
    assert usage["data_mb_3m"] == 100.0
    assert usage["voice_minutes_3m"] == 50.0
    assert usage["usage_trend"] == 150.0 / 100.0 - 1.0


def test_shares_are_capped_at_one_and_missing_without_billed_amount() -> None:
    bills = frames.bills(
        {"subscriber_id": 1, "bill_month": "2025-03-01", "amount": 10.0, "data_amount": 10.004},  # rounding
        {"subscriber_id": 2, "bill_month": "2025-03-01", "amount": 0.0},
    )
    usage = usage_of(bills, [1, 2, 3], date(2025, 3, 31))
    assert usage["data_share"].iloc[0] == 1.0
    assert usage["data_share"].iloc[1:].isna().all()  # nothing billed / no bill
    assert usage["data_mb_3m"].iloc[1] == 1000.0  # a zero bill still reports usage
    assert np.isnan(usage["data_mb_3m"].iloc[2])
    assert usage["usage_trend"].isna().all()  # no previous quarter
