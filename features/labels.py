"""Churn labels (离网) for training: who among the subscribers active at D left within the horizon."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.build import active_subscribers
from features.windows import as_of_day, day_numbers


def churn_labels(subscribers: pd.DataFrame, as_of: date, horizon_days: int) -> pd.DataFrame:
    """Return subscriber_id, churned (deactivated in (D, D + horizon_days]) and churn_reason (null unless churned).

    One row per subscriber active at D, sorted by subscriber_id.
    """
    active = active_subscribers(
        subscribers[["subscriber_id", "activation_date", "deactivation_date", "deactivation_reason"]], as_of
    )
    today = as_of_day(as_of)
    left = day_numbers(active["deactivation_date"], missing=np.iinfo(np.int64).max)
    churned = left <= today + horizon_days  # active at D: left is after D
    return pd.DataFrame(
        {
            "subscriber_id": active["subscriber_id"],
            "churned": churned,
            "churn_reason": active["deactivation_reason"].where(churned),
        },
        copy=False,  # no consolidation copy of the arrays
    )
