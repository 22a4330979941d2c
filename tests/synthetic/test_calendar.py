from datetime import date

import numpy as np
import pytest

from tiercast.synthetic.calendar import make_window


def _day(value: str) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


@pytest.mark.parametrize(
    ("t", "start", "end", "days", "due"),
    [
        (0, "2025-11-01", "2025-11-30", 30, "2025-12-20"),
        (3, "2026-02-01", "2026-02-28", 28, "2026-03-20"),
        (11, "2026-10-01", "2026-10-31", 31, "2026-11-20"),
        (-1, "2025-10-01", "2025-10-31", 31, "2025-11-20"),
    ],
)
def test_month_bounds_and_due_dates(t: int, start: str, end: str, days: int, due: str) -> None:
    window = make_window("2026-10", 12, due_day=20)
    assert (window.start(t), window.end(t), window.days(t), window.due(t)) == (_day(start), _day(end), days, _day(due))


def test_year_of_a_day_number() -> None:
    window = make_window("2026-10", 12, due_day=20)
    assert window.year(_day("2025-12-31")) == 2025
    assert window.year(_day(date(2026, 1, 1).isoformat())) == 2026
