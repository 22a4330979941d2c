"""Tenure (在网时长) and the contract commitment left, as of a date D."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.windows import DAYS_PER_MONTH, as_of_day, day_numbers


def tenure_months(active: pd.DataFrame, as_of: date) -> pd.Series:
    """Return months on the network at D: days since activation_date / 30.4375."""
    days = as_of_day(as_of) - day_numbers(active["activation_date"], missing=as_of_day(as_of))
    return pd.Series(days / DAYS_PER_MONTH, index=active.index, name="tenure_months")


def contract_months_left(active: pd.DataFrame, as_of: date) -> pd.Series:
    """Return months left until contract_end_date at D (0 when past or when the line has no contract)."""
    today = as_of_day(as_of)
    days = day_numbers(active["contract_end_date"], missing=today) - today
    months = np.maximum(days, 0) / DAYS_PER_MONTH
    return pd.Series(months, index=active.index, name="contract_months_left")
