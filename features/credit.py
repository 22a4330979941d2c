"""Credit (信用度) from payment history as of D: on-time ratio, days late, arrears (欠费) and a credit score.

Looked at: bills of the last `credit_window_months` bill months known at D that fell due by D.
A payment counts only from its paid_date on, so a bill paid after D is unpaid at D.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.windows import KnownBills, as_of_day, day_numbers, max_by_row, month_slots, positions, ratio, sums_by_row
from tiercast.settings.features import CreditScoreSettings

# Never-paid bills: a paid day later than any as-of date.
_NEVER = np.iinfo(np.int64).max
# Guard for binary rounding of amount - paid (e.g. 58.0 - 57.99 > 0.01 in float64).
_FLOAT_SLACK = 1e-9


def credit_features(
    payments: pd.DataFrame, known: KnownBills, billed: np.ndarray, amount: np.ndarray, as_of: date, tolerance: float
) -> pd.DataFrame:
    """Return on_time_ratio, days_late_mean/max, arrears_amount, months_in_arrears, unpaid_bills and bills_due.

    Per bill due by D: settled when at most `tolerance` CNY is left after the payments known at D;
    days late = paid_date - due_date (>= 0) for a settled bill, D - due_date otherwise; on time =
    settled and not late; in arrears = not settled; unpaid = in arrears and nothing paid by D.
    `billed` / `amount` are the (subscribers, width) grids of `known` (the bill each payment settles).
    """
    today = as_of_day(as_of)
    pos, bill_amount = _bill_of_each_payment(payments, known, billed, amount, as_of)
    due = day_numbers(payments["due_date"], missing=_NEVER)
    pos = np.where(due <= today, pos, -1)
    paid_day = day_numbers(payments["paid_date"], missing=_NEVER)
    paid_by_d = paid_day <= today
    paid = np.where(paid_by_d, payments["amount_paid"].to_numpy(dtype=np.float64), 0.0)
    outstanding = np.maximum(bill_amount - paid, 0.0)
    owing = outstanding > tolerance + _FLOAT_SLACK
    late = np.where(owing, today - due, np.where(paid_by_d, np.maximum(paid_day - due, 0), 0))
    n = known.n_rows
    bills_due = sums_by_row(pos, n)
    return pd.DataFrame(
        {
            "on_time_ratio": ratio(sums_by_row(np.where(owing | (late > 0), -1, pos), n), bills_due),
            "days_late_mean": ratio(sums_by_row(pos, n, late.astype(np.float64)), bills_due),
            "days_late_max": max_by_row(pos, n, late),
            "arrears_amount": sums_by_row(pos, n, np.where(owing, outstanding, 0.0)),
            "months_in_arrears": sums_by_row(np.where(owing, pos, -1), n),
            "unpaid_bills": sums_by_row(np.where(owing & ~paid_by_d, pos, -1), n),
            "bills_due": bills_due,
        }
    )


def _bill_of_each_payment(
    payments: pd.DataFrame, known: KnownBills, billed: np.ndarray, amount: np.ndarray, as_of: date
) -> tuple[np.ndarray, np.ndarray]:
    """Return per payment row the output row of its bill (-1: no known bill in the window) and the bill's amount."""
    bills = known.bills
    if len(payments) == len(bills) and all(
        _same_values(payments[key], bills[key]) for key in ("subscriber_id", "bill_month")
    ):
        return known.pos, known.values("amount")  # row-aligned exports: payment i settles bill i
    pos = positions(payments["subscriber_id"].to_numpy(dtype=np.int64), known.subscriber_ids)
    slot = month_slots(payments["bill_month"], as_of, known.width)
    cell = np.where((pos >= 0) & (slot >= 0), pos * known.width + slot, billed.size)  # billed.size: a spare cell
    pos = np.where(np.append(billed.ravel(), 0)[cell] > 0, pos, -1)  # payments of unknown bills are ignored
    return pos, np.append(amount.ravel(), 0.0)[cell]


def _same_values(left: pd.Series, right: pd.Series) -> bool:
    """Return whether two columns hold the same values in the same order (same dtype required)."""
    return left.dtype == right.dtype and np.array_equal(left.to_numpy(), right.to_numpy())


def credit_score(credit: pd.DataFrame, score: CreditScoreSettings) -> pd.Series:
    """Return the credit score in [0, 1] (formula in tiercast/defaults/features.yaml) from credit_features."""
    on_time = credit["on_time_ratio"].to_numpy()
    days_late = np.minimum(credit["days_late_mean"].to_numpy() / score.days_late_cap, 1.0)
    arrears = np.minimum(credit["arrears_amount"].to_numpy() / score.arrears_cap_cny, 1.0)
    months = np.minimum(credit["months_in_arrears"].to_numpy() / score.months_in_arrears_cap, 1.0)
    value = (
        score.weight_on_time * on_time
        + score.weight_days_late * (1.0 - days_late)
        + score.weight_arrears * (1.0 - arrears)
        + score.weight_months_in_arrears * (1.0 - months)
    )
    value = np.where(credit["bills_due"].to_numpy() > 0, np.clip(value, 0.0, 1.0), score.no_history_score)
    return pd.Series(value, index=credit.index, name="credit_score")
