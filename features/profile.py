"""Static subscriber attributes carried into the feature table (plan, brand, lists, age, ...)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

# Copied as they are (str or category; list_flag null when on neither list).
STATIC_COLUMNS = ("plan", "contract_type", "brand", "segment", "region", "gender", "sales_channel", "list_flag")


def age(active: pd.DataFrame, as_of: date) -> pd.Series:
    """Return the age in years reached in D's year (NaN when birth_year is unknown)."""
    birth_year = active["birth_year"].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.Series(as_of.year - birth_year, index=active.index, name="age")


def profile_features(active: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Return the static columns, age (float64) and do_not_contact (bool) of the active subscribers."""
    static = active[list(STATIC_COLUMNS)]
    return static.assign(
        age=age(active, as_of),
        do_not_contact=active["do_not_contact"].to_numpy(dtype=bool),
    )
