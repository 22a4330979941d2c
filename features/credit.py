"""Credit (信用度) from payment history as of D: on-time ratio, days late, arrears (欠费) and a credit score.

Looked at: bills of the last `credit_window_months` bill months known at D that fell due by D.
A payment counts only from its paid_date on, so a bill paid after D is unpaid at D.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from features.windows import (
    KnownBills,
    MonthSlots,
    RowLookup,
    as_of_day,
    chunks,
    datetime_ticks,
    floor_days,
    ratio,
)
from tiercast.settings.features import CreditScoreSettings

# Never-paid bills: a paid day later than any as-of date.
_NEVER = np.iinfo(np.int64).max
# Guard for binary rounding of amount - paid (e.g. 58.0 - 57.99 > 0.01 in float64).
_FLOAT_SLACK = 1e-9


# Payment state of a bill at D, one code per (subscriber, bill month) cell.
NOT_DUE, ON_TIME, PAID_LATE, PART_PAID, UNPAID = 0, 1, 2, 3, 4


def credit_features(
    payments: pd.DataFrame, known: KnownBills, billed: np.ndarray, amount: np.ndarray, as_of: date, tolerance: float
) -> pd.DataFrame:
    """Return on_time_ratio, days_late_mean/max, arrears_amount, months_in_arrears, unpaid_bills and bills_due.

    Per bill due by D: settled when at most `tolerance` CNY is left after the payments known at D;
    days late = paid_date - due_date (>= 0) for a settled bill, D - due_date otherwise; on time =
    settled and not late; in arrears = not settled; unpaid = in arrears and nothing paid by D.
    `billed` / `amount` are the (subscribers, width) grids of `known` (the bill each payment settles).
    """
    state, late, owed = _bill_states(payments, known, billed, amount, as_of, tolerance)
    due = state != NOT_DUE
    bills_due = due.sum(axis=1)
    return pd.DataFrame(
        {
            "on_time_ratio": ratio((state == ON_TIME).sum(axis=1), bills_due),
            "days_late_mean": ratio(np.where(due, late, 0).sum(axis=1).astype(np.float64), bills_due),
            "days_late_max": np.where(bills_due > 0, late.max(axis=1), np.nan),
            "arrears_amount": owed.sum(axis=1),
            "months_in_arrears": (state >= PART_PAID).sum(axis=1),
            "unpaid_bills": (state == UNPAID).sum(axis=1),
            "bills_due": bills_due,
        },
        copy=False,  # no consolidation copy of the arrays
    )


def _bill_states(
    payments: pd.DataFrame, known: KnownBills, billed: np.ndarray, amount: np.ndarray, as_of: date, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (subscribers, width) grids: payment state code, days late (-1 when not due) and CNY owed at D."""
    today, n, width = as_of_day(as_of), known.n_rows, known.width
    state = np.zeros(n * width + 1, dtype=np.int8)
    late = np.full(n * width + 1, -1, dtype=np.int32)
    owed = np.zeros(n * width + 1)
    due_ticks, due_per_day = datetime_ticks(payments["due_date"])
    paid_ticks, paid_per_day = datetime_ticks(payments["paid_date"])
    paid_amount = payments["amount_paid"].to_numpy(dtype=np.float64)
    bill_cells = _bill_cells(payments, known, billed)
    flat_amount = amount.ravel()
    for rows in chunks(len(payments) if flat_amount.size else 0):
        cell = bill_cells(rows)
        due = floor_days(due_ticks[rows], due_per_day, _NEVER)
        cell = np.where(due <= today, cell, n * width)
        paid_day = floor_days(paid_ticks[rows], paid_per_day, _NEVER)
        paid_by_d = paid_day <= today
        # the spare cell (n * width) is clipped onto a real one: its results land in the spare cell again
        bill_amount = flat_amount.take(cell, mode="clip")
        outstanding = np.maximum(bill_amount - np.where(paid_by_d, paid_amount[rows], 0.0), 0.0)
        owing = outstanding > tolerance + _FLOAT_SLACK
        days_late = np.where(owing, today - due, np.where(paid_by_d, np.maximum(paid_day - due, 0), 0))
        code = np.where(owing, np.where(paid_by_d, PART_PAID, UNPAID), np.where(days_late > 0, PAID_LATE, ON_TIME))
        state[cell] = code
        late[cell] = days_late
        owed[cell] = np.where(owing, outstanding, 0.0)
    shape = (n, width)
    return state[:-1].reshape(shape), late[:-1].reshape(shape), owed[:-1].reshape(shape)


def _bill_cells(payments: pd.DataFrame, known: KnownBills, billed: np.ndarray) -> Callable[[slice], np.ndarray]:
    """Return a function giving, for a slice of payment rows, the grid cell of the bill each one settles.

    Payments of bills unknown at D (or of other subscribers) get the spare cell n_rows * width.
    """
    bills = known.bills
    if len(payments) == len(bills) and all(
        _same_values(payments[key], bills[key]) for key in ("subscriber_id", "bill_month")
    ):
        return lambda rows: known.cells(rows, known.width)  # row-aligned exports: payment i settles bill i
    lookup, slots, spare = RowLookup(known.subscriber_ids), MonthSlots(known.as_of, known.width), billed.size
    ids = payments["subscriber_id"].to_numpy(dtype=np.int64)
    ticks, per_day = datetime_ticks(payments["bill_month"])
    has_bill = billed.ravel() > 0

    def cells(rows: slice) -> np.ndarray:
        pos, slot = lookup(ids[rows]), slots(ticks[rows], per_day)
        cell = np.where((pos >= 0) & (slot >= 0), pos * known.width + slot, spare)
        return np.where(has_bill.take(cell, mode="clip"), cell, spare)

    return cells


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
