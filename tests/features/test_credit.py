from datetime import date

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from features.credit import credit_features, credit_score
from features.windows import known_bills
from tests.features import frames
from tiercast.settings.features import CreditScoreSettings

D = date(2025, 3, 31)
SCORE = CreditScoreSettings(
    weight_on_time=0.4,
    weight_days_late=0.2,
    weight_arrears=0.25,
    weight_months_in_arrears=0.15,
    days_late_cap=30,
    arrears_cap_cny=200,
    months_in_arrears_cap=3,
    no_history_score=0.5,
)
JANUARY = {"bill_month": "2025-01-01", "due_date": "2025-02-20"}  # D - due = 39 days
FEBRUARY = {"bill_month": "2025-02-01", "due_date": "2025-03-20"}
MARCH = {"bill_month": "2025-03-01", "due_date": "2025-04-20"}  # not due at D
# subscriber -> its payment rows (each settles one 58 CNY bill)
CASES: dict[int, list[dict[str, object]]] = {
    1: [{**JANUARY, "paid_date": "2025-02-10", "amount_paid": 58.0}],  # on time
    2: [{**JANUARY, "paid_date": "2025-02-25", "amount_paid": 58.0}],  # 5 days late
    3: [{**JANUARY, "paid_date": None, "amount_paid": 0.0}],  # unpaid
    4: [{**JANUARY, "paid_date": "2025-04-05", "amount_paid": 58.0}],  # paid after D: unpaid at D
    5: [{**JANUARY, "paid_date": "2025-02-15", "amount_paid": 29.0}],  # half paid on time
    6: [{**JANUARY, "paid_date": "2025-02-20", "amount_paid": 57.99}],  # short by rounding only
    7: [{**MARCH, "paid_date": None, "amount_paid": 0.0}],  # nothing due yet
    8: [
        {**JANUARY, "paid_date": "2025-02-25", "amount_paid": 58.0},
        {**FEBRUARY, "paid_date": "2025-03-18", "amount_paid": 58.0},
    ],
    9: [{"bill_month": "2024-03-01", "due_date": "2024-04-20", "paid_date": None, "amount_paid": 0.0}],  # too old
}
NAN = float("nan")
# subscriber -> on_time_ratio, days_late_mean, days_late_max, arrears_amount, months_in_arrears, unpaid_bills,
# bills_due, credit_score
EXPECTED = {
    1: (1.0, 0.0, 0.0, 0.0, 0, 0, 1, 1.0),
    2: (0.0, 5.0, 5.0, 0.0, 0, 0, 1, 0.2 * (1 - 5 / 30) + 0.25 + 0.15),
    3: (0.0, 39.0, 39.0, 58.0, 1, 1, 1, 0.25 * (1 - 58 / 200) + 0.15 * (1 - 1 / 3)),
    4: (0.0, 39.0, 39.0, 58.0, 1, 1, 1, 0.25 * (1 - 58 / 200) + 0.15 * (1 - 1 / 3)),
    5: (0.0, 39.0, 39.0, 29.0, 1, 0, 1, 0.25 * (1 - 29 / 200) + 0.15 * (1 - 1 / 3)),
    6: (1.0, 0.0, 0.0, 0.0, 0, 0, 1, 1.0),
    7: (NAN, NAN, NAN, 0.0, 0, 0, 0, 0.5),
    8: (0.5, 2.5, 5.0, 0.0, 0, 0, 2, 0.4 * 0.5 + 0.2 * (1 - 2.5 / 30) + 0.25 + 0.15),
    9: (NAN, NAN, NAN, 0.0, 0, 0, 0, 0.5),
    10: (NAN, NAN, NAN, 0.0, 0, 0, 0, 0.5),  # no bill at all
}
COLUMNS = ["on_time_ratio", "days_late_mean", "days_late_max", "arrears_amount", "months_in_arrears",
           "unpaid_bills", "bills_due"]  # fmt: skip


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"subscriber_id": sid, **row} for sid, payments in CASES.items() for row in payments]
    bills = frames.bills(*({"subscriber_id": r["subscriber_id"], "bill_month": r["bill_month"]} for r in rows))
    return bills, frames.payments(*rows)


def credit_of(bills: pd.DataFrame, payments: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    known = known_bills(bills, np.array(ids), D, width=12)
    credit = credit_features(payments, known, known.grid(None), known.grid("amount"), D, tolerance=0.01)
    return credit.assign(credit_score=credit_score(credit, SCORE))


@pytest.mark.parametrize("order", ["aligned", "shuffled"])
def test_credit_features_and_score_per_payment_case(order: str) -> None:
    bills, payments = tables()
    if order == "shuffled":  # payments not row-aligned with bills: joined on (subscriber_id, bill_month)
        payments = payments.iloc[::-1].reset_index(drop=True)
    credit = credit_of(bills, payments, list(EXPECTED))
    for row, (sid, expected) in enumerate(EXPECTED.items()):
        got = credit.iloc[row]
        for name, value in zip([*COLUMNS, "credit_score"], expected, strict=True):
            assert got[name] == pytest.approx(value, rel=1e-12, nan_ok=True), (sid, name)
    assert all(credit[name].dtype == np.int64 for name in ("months_in_arrears", "unpaid_bills", "bills_due"))


def test_payments_of_unknown_bills_are_ignored() -> None:
    bills = frames.bills({"subscriber_id": 1, "bill_month": "2025-01-01"})
    payments = frames.payments(
        {"subscriber_id": 1, **JANUARY, "paid_date": "2025-02-10", "amount_paid": 58.0},
        {"subscriber_id": 1, **FEBRUARY, "paid_date": None, "amount_paid": 0.0},  # no such bill
    )
    credit = credit_of(bills, payments, [1]).iloc[0]
    assert (credit["bills_due"], credit["unpaid_bills"], credit["on_time_ratio"]) == (1, 0, 1.0)


def test_a_zero_bill_needs_no_payment() -> None:
    bills = frames.bills({"subscriber_id": 1, "bill_month": "2025-01-01", "amount": 0.0})
    payments = frames.payments({"subscriber_id": 1, **JANUARY, "paid_date": None, "amount_paid": 0.0})
    credit = credit_of(bills, payments, [1]).iloc[0]
    assert (credit["on_time_ratio"], credit["unpaid_bills"], credit["credit_score"]) == (1.0, 0, 1.0)


def test_score_is_clipped_and_caps_saturate() -> None:
    credit = pd.DataFrame(
        {
            "on_time_ratio": [0.0, 1.0],
            "days_late_mean": [400.0, 0.0],
            "arrears_amount": [5000.0, 0.0],
            "months_in_arrears": [9, 0],
            "bills_due": [9, 3],
        }
    )
    assert credit_score(credit, SCORE).tolist() == [0.0, 1.0]


def test_score_weights_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match="sum to 1"):
        CreditScoreSettings.model_validate({**SCORE.model_dump(), "weight_on_time": 0.5})
