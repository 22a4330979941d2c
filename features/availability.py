"""Which features an export can feed: each feature's input columns, and the features left without them.

An export may lack optional input columns (data_contracts/*.yaml, `required: false`). A feature
that reads such a column is *unavailable* for that export: `mask_unavailable` sets it to null
(its neutral value), so the model sees it as missing, and the run reports it by name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

# Feature -> the optional input columns it reads, as (table, column). Features that read required
# columns only (ARPU, tenure, credit, contact counts, ...) are always available and not listed.
FEATURE_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "data_share": (("bills", "data_amount"),),
    "long_distance_share": (("bills", "long_distance_amount"),),
    "roaming_share": (("bills", "roaming_amount"),),
    "value_added_share": (("bills", "value_added_amount"),),
    "data_mb_3m": (("bills", "data_mb"),),
    "voice_minutes_3m": (("bills", "voice_minutes"),),
    "usage_trend": (("bills", "data_mb"), ("bills", "voice_minutes")),
    "abandoned_30d": (("contacts", "abandoned"),),
    "unresolved_share_90d": (("contacts", "resolved"),),
    "contract_type": (("subscribers", "contract_type"),),
    "contract_months_left": (("subscribers", "contract_end_date"),),
    "brand": (("subscribers", "brand"),),
    "segment": (("subscribers", "segment"),),
    "region": (("subscribers", "region"),),
    "gender": (("subscribers", "gender"),),
    "sales_channel": (("subscribers", "sales_channel"),),
    "list_flag": (("subscribers", "list_flag"),),
    "age": (("subscribers", "birth_year"),),
    "do_not_contact": (("subscribers", "do_not_contact"),),
}
# Features kept at their fill value rather than nulled: do_not_contact stays false (not a model
# input that can be missing: the retention lists read it; the contract says what false means then).
KEEP_FILLED = frozenset({"do_not_contact", "list_flag"})


def unavailable_features(absent: Mapping[str, Collection[str]]) -> list[str]:
    """Return the features (in FEATURE_INPUTS order) that read a column the export lacks."""
    missing = {(table, column) for table, columns in absent.items() for column in columns}
    return [name for name, inputs in FEATURE_INPUTS.items() if missing & set(inputs)]


def mask_unavailable(features: pd.DataFrame, absent: Mapping[str, Collection[str]]) -> pd.DataFrame:
    """Return `features` with every unavailable feature set to null (the input frame is not changed)."""
    masked = {
        name: _nulls(features[name])
        for name in unavailable_features(absent)
        if name in features.columns and name not in KEEP_FILLED
    }
    return features.assign(**masked) if masked else features


def _nulls(column: pd.Series) -> pd.Series:
    """Return a column of nulls shaped like `column` (counts become float64 NaN)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.Series(np.full(len(column), np.nan), index=column.index)
    return pd.Series(pd.NA, index=column.index, dtype=column.dtype)
