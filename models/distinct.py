"""Per-distinct-value work: columns of a base repeat a few values (tiers, service levels, one as_of date), so
a conversion or look-up runs once per distinct value and is spread back over the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def per_distinct(series: pd.Series, convert: Callable[[pd.Series], list[Any]]) -> np.ndarray:
    """Return `convert` (Series of the distinct values -> list, one item each) spread back over the rows as an
    object array, None where a row is missing: converting 1M repeated values one by one costs seconds."""
    codes, uniques = pd.factorize(series)
    converted = np.array([*convert(pd.Series(uniques)), None], dtype=object)  # code -1 (missing) -> None
    return converted[codes]
