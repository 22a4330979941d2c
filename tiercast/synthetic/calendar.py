"""The simulated window: whole calendar months as day numbers (days since 1970-01-01, Arrow's date32)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """`months` calendar months ending with `end_month`; month t = 0 is the first."""

    months: int
    due_day: int
    starts: np.ndarray  # first day of months -1 .. months + 2, as int64 day numbers

    def start(self, t: int) -> int:
        """Return the first day of month t."""
        return int(self.starts[t + 1])

    def end(self, t: int) -> int:
        """Return the last day of month t (the day its bill is issued)."""
        return int(self.starts[t + 2]) - 1

    def days(self, t: int) -> int:
        """Return the number of days in month t."""
        return self.end(t) - self.start(t) + 1

    def due(self, t: int) -> int:
        """Return the due date of the bill for month t: `due_day` of month t + 1."""
        return self.start(t + 1) + self.due_day - 1

    def year(self, day: int) -> int:
        """Return the calendar year of a day number."""
        return int(np.datetime64(day, "D").astype("datetime64[Y]").astype(np.int64)) + 1970


def make_window(end_month: str, months: int, due_day: int) -> Window:
    """Return the window of `months` months ending with `end_month` (YYYY-MM)."""
    last = np.datetime64(end_month, "M")
    first = last - np.timedelta64(months - 1, "M")
    starts = np.arange(first - np.timedelta64(1, "M"), last + np.timedelta64(4, "M")).astype("datetime64[D]")
    return Window(months=months, due_day=due_day, starts=starts.astype(np.int64))
