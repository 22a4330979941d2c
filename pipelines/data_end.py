"""Where an export's data ends: the last bill month that holds a usual month's bills.

A single bill dated years ahead (a typo, a test row) must not move the run's as-of date: the data
end is the latest bill month with at least `min_share` (validation.data_end_min_share) of the median
monthly bill count, and rows
dated beyond it (plus a slack) are quarantined as `future_dated` (data_contracts/rules.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.loader import ContractError, load_contract
from pipelines.coerce import coerce
from pipelines.mapping import SourceMapping
from pipelines.sources import locate, read_columns


def month_end(day: date | pd.Timestamp) -> date:
    """Return the last day of `day`'s month."""
    return (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()


def data_end(month_counts: pd.Series, min_share: float) -> date:
    """Return the last day of the latest month whose count is at least `min_share` x the median count.

    `month_counts` is indexed by month (any date in it) with the number of bills; ValueError if empty.
    """
    counts = month_counts[month_counts > 0].sort_index()
    if counts.empty:
        raise ValueError("no bills: cannot tell the last day the data covers; pass an as-of date")
    usual = float(np.median(counts.to_numpy()))
    full = counts[counts >= min_share * usual]
    return month_end(full.index[-1])


def bill_month_counts(bill_months: pd.Series) -> pd.Series:
    """Return the number of bills per bill month (index: the month's first day)."""
    counts = bill_months.value_counts(dropna=True)  # a few distinct months among millions of rows
    if counts.empty:
        return counts.astype("int64")
    months = pd.to_datetime(counts.index).to_period("M").start_time
    return counts.groupby(months).sum()


def export_data_end(data_dir: Path, mapping: SourceMapping | None, min_share: float) -> date:
    """Return the last day an export's bills cover (`data_end`), reading their bill_month column only."""
    mapping = mapping or SourceMapping()
    source, names = locate(data_dir, "bills", mapping), mapping.table("bills")
    column = names.source_name("bill_month")
    raw = read_columns(source, [column], {}, [column]).column(column)
    months = coerce("bills", load_contract("bills").columns["bill_month"], raw, names)
    try:
        return data_end(bill_month_counts(months.to_pandas()), min_share)
    except ValueError as exc:
        raise ContractError("bills", str(exc)) from exc
