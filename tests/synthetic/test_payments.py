import numpy as np
import pytest

from tiercast.synthetic import codes as c
from tiercast.synthetic.calendar import make_window
from tiercast.synthetic.payments import NEVER, PaymentBook, draw_paid_days

WINDOW = make_window("2026-10", 12, due_day=20)  # month 0 = 2025-11


def _book() -> PaymentBook:
    """Three lines billed in months 0 and 1: line 0 pays on time, line 1 never, line 2 pays late."""
    book = PaymentBook(capacity=3)
    issued0, issued1 = WINDOW.end(0), WINDOW.end(1)
    book.record(0, np.arange(3), np.array([19.0, 58.0, 88.0]), np.array([issued0 + 5, NEVER, NEVER], np.int32))
    book.record(1, np.arange(3), np.array([19.0, 60.0, 90.0]), np.array([issued1 + 5, NEVER, issued1 + 40], np.int32))
    return book


def test_paying_a_bill_settles_the_older_unpaid_ones() -> None:
    book = _book()
    # given line 2 left bill 0 unpaid, when it pays bill 1, then bill 0 is paid the same day
    assert book.paid[0].tolist() == [WINDOW.end(0) + 5, NEVER, WINDOW.end(1) + 40]


def test_standing_counts_overdue_bills_and_arrears_at_month_end() -> None:
    book = _book()
    book.close_due(1, WINDOW)
    book.close_due(2, WINDOW)
    standing = book.standing(2, 3, WINDOW)
    # at the end of month 2 (2026-01-31) bills 0 and 1 are due; line 2 pays on 2026-02-06
    assert standing.overdue.tolist() == [0, 2, 2]
    assert standing.arrears.tolist() == [0.0, 118.0, 178.0]
    assert standing.paid_any.tolist() == [True, False, False]
    assert standing.late_share.tolist() == [0.0, 1.0, 1.0]


def test_settle_pays_everything_unpaid_and_withhold_unpays_the_future() -> None:
    book = _book()
    day = WINDOW.start(2) + 3
    book.settle(np.array([1]), np.array([day]))
    assert book.paid[:2, 1].tolist() == [day, day]
    book.withhold(np.array([2]), from_day=WINDOW.start(2))
    assert book.paid[:2, 2].tolist() == [NEVER, NEVER]
    idx, amount, paid = book.bills(1, 3)
    assert idx.tolist() == [0, 1, 2] and amount.tolist() == [19.0, 60.0, 90.0]
    assert paid.tolist() == [WINDOW.end(1) + 5, day, NEVER]


def test_book_grows_and_keeps_its_rows() -> None:
    book = _book()
    book.reserve(10)
    assert book.amount.shape == (6, 10)
    assert book.amount[0, :3].tolist() == [19.0, 58.0, 88.0] and not book.billed[:, 3:].any()


@pytest.mark.parametrize(
    ("payer", "expected"),
    [(c.PREPAID_PAYER, "issued"), (c.FLEA_PAYER, "never")],
)
def test_prepaid_pay_when_issued_and_fleas_never(generator_settings, payer: int, expected: str) -> None:
    rng = np.random.default_rng(0)
    issued, due = WINDOW.end(0), WINDOW.due(0)
    paid = draw_paid_days(rng, np.full(50, payer, dtype=np.int8), issued, due, generator_settings)
    assert (paid == (issued if expected == "issued" else NEVER)).all()


def test_punctual_payers_pay_after_issue_mostly_by_the_due_date(generator_settings) -> None:
    rng = np.random.default_rng(0)
    issued, due = WINDOW.end(0), WINDOW.due(0)
    paid = draw_paid_days(rng, np.zeros(2000, dtype=np.int8), issued, due, generator_settings)
    assert (paid > issued).all() and (paid != NEVER).all()
    assert 0.95 <= (paid <= due).mean() < 1.0
