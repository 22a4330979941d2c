"""Payments: when each bill is paid, the arrears a line runs up, and what the payments table shows.

A `PaymentBook` keeps the last `BILL_SLOTS` bill months of every line (amount, paid day). Paying a
bill clears the balance, so older unpaid bills get the same paid day. A bill's payment is final
four months after it is issued (it is paid, or the line was suspended), so the book can write
the payments of month u once month u + 5 is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.calendar import Window

BILL_SLOTS = 6
CREDIT_SLOTS = 12  # the credit window of the features (12 bill months) for the on-time share
NEVER = np.iinfo(np.int32).max


@dataclass(frozen=True)
class Standing:
    """Payment standing of some lines as seen at the end of a month."""

    overdue: np.ndarray  # bills past their due date and unpaid
    arrears: np.ndarray  # CNY of those bills
    paid_any: np.ndarray  # any bill paid by then (within the book's months)
    late_share: np.ndarray  # share of the bills due in the credit window not paid on time (0 if none)


class PaymentBook:
    """The last months of bills of every line and when they are (to be) paid."""

    def __init__(self, capacity: int) -> None:
        self.amount = np.zeros((BILL_SLOTS, capacity))
        self.paid = np.full((BILL_SLOTS, capacity), NEVER, dtype=np.int32)
        self.billed = np.zeros((BILL_SLOTS, capacity), dtype=bool)
        self.due = np.zeros((CREDIT_SLOTS, capacity), dtype=bool)
        self.on_time = np.zeros((CREDIT_SLOTS, capacity), dtype=bool)

    def reserve(self, capacity: int) -> None:
        """Make room for `capacity` lines."""
        if self.amount.shape[1] >= capacity:
            return
        size = max(capacity, int(self.amount.shape[1] * 1.25))
        for name, fill in (("amount", 0.0), ("paid", NEVER), ("billed", False), ("due", False), ("on_time", False)):
            old = getattr(self, name)
            new = np.full((old.shape[0], size), fill, dtype=old.dtype)
            new[:, : old.shape[1]] = old
            setattr(self, name, new)

    def record(self, t: int, idx: np.ndarray, amount: np.ndarray, paid: np.ndarray) -> None:
        """Book the bills of month t and their paid days; a payment also settles older unpaid bills."""
        slot = t % BILL_SLOTS
        self.billed[slot] = False
        self.billed[slot, idx] = True
        self.amount[slot] = 0.0  # lines without a bill this month owe nothing for it
        self.amount[slot, idx] = amount
        self.paid[slot, idx] = paid
        for other in range(BILL_SLOTS):
            if other != slot:
                self.paid[other, idx] = np.minimum(self.paid[other, idx], paid)

    def settle(self, idx: np.ndarray, day: np.ndarray) -> None:
        """Pay every bill of lines `idx` still unpaid on `day`, on that day."""
        for slot in range(BILL_SLOTS):
            self.paid[slot, idx] = np.minimum(self.paid[slot, idx], day)

    def withhold(self, idx: np.ndarray, from_day: int) -> None:
        """Leave every bill of lines `idx` not paid before `from_day` unpaid."""
        for slot in range(BILL_SLOTS):
            paid = self.paid[slot, idx]
            self.paid[slot, idx] = np.where(paid >= from_day, NEVER, paid)

    def close_due(self, t: int, window: Window) -> None:
        """Record whether the bill of month t - 1 (due during month t) was paid on time."""
        if t < 1:
            return
        slot, credit = (t - 1) % BILL_SLOTS, (t - 1) % CREDIT_SLOTS
        self.due[credit] = self.billed[slot]
        self.on_time[credit] = self.billed[slot] & (self.paid[slot] <= window.due(t - 1))

    def standing(self, t: int, n: int, window: Window) -> Standing:
        """Return the payment standing of lines 0..n-1 at the end of month t."""
        today = window.end(t)
        overdue = np.zeros(n, dtype=np.int64)
        arrears = np.zeros(n)
        paid_any = np.zeros(n, dtype=bool)
        for u in range(max(0, t - BILL_SLOTS + 1), t + 1):
            slot = u % BILL_SLOTS
            billed, paid = self.billed[slot, :n], self.paid[slot, :n]
            paid_any |= billed & (paid <= today)
            if window.due(u) <= today:
                unpaid = billed & (paid > today)
                overdue += unpaid
                arrears += unpaid * self.amount[slot, :n]
        due = self.due[:, :n].sum(axis=0)
        on_time = self.on_time[:, :n].sum(axis=0)
        late_share = np.where(due > 0, 1.0 - on_time / np.maximum(due, 1), 0.0)
        return Standing(overdue=overdue, arrears=arrears, paid_any=paid_any, late_share=late_share)

    def bills(self, u: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the lines billed in month u (among the first n), their amounts and paid days."""
        slot = u % BILL_SLOTS
        idx = np.flatnonzero(self.billed[slot, :n])
        return idx, self.amount[slot, idx], self.paid[slot, idx]


def draw_paid_days(
    rng: np.random.Generator, payer: np.ndarray, issued: int, due: int, cfg: GeneratorSettings
) -> np.ndarray:
    """Return the day each bill issued on `issued` (due on `due`) is paid, NEVER if it is not paid by itself.

    Prepaid lines pay when the bill is issued; flea users never pay.
    """
    pay = cfg.payments
    specs = [pay.payers[name] for name in c.PAYERS]
    late_p = np.array([s.late_probability for s in specs] + [0.0, 0.0])[payer]
    skip_p = np.array([s.skip_probability for s in specs] + [0.0, 1.0])[payer]
    n, window = len(payer), due - issued
    u = rng.random(n)
    last_week = rng.random(n) < pay.on_time_latest_share
    early = 1 + np.floor(rng.random(n) * max(window - 7, 1))
    latest = window - np.floor(rng.random(n) * min(7, window))
    on_time = np.where(last_week, latest, early)
    late = window + np.minimum(rng.geometric(1.0 / pay.late_days_mean, n), pay.late_days_max)
    offset = np.where(u < skip_p, -1, np.where(u < skip_p + late_p, late, on_time))
    paid = np.where(offset < 0, NEVER, issued + offset)
    return np.where(payer == c.PREPAID_PAYER, issued, paid).astype(np.int32)
