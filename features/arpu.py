"""ARPU (ARPU值): average monthly bill over the last 1/3/6 bill months known at D, its trend and volatility."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.windows import ratio


def arpu_features(billed: np.ndarray, amount: np.ndarray) -> pd.DataFrame:
    """Return arpu_1m/3m/6m, arpu_trend, arpu_volatility and months_billed_6m from month-slot grids.

    `billed` and `amount` are (subscribers, >= 6) grids from `KnownBills.grid`: column k holds the
    number of bills and their amount k bill months before the last month known at D.
    """
    count, total = billed[:, :6], amount[:, :6]
    arpu_3m = ratio(total[:, :3].sum(axis=1), count[:, :3].sum(axis=1))
    arpu_prev_3m = ratio(total[:, 3:].sum(axis=1), count[:, 3:].sum(axis=1))
    months_6m = count.sum(axis=1)
    arpu_6m = ratio(total.sum(axis=1), months_6m)
    return pd.DataFrame(
        {
            "arpu_1m": ratio(total[:, 0], count[:, 0]),
            "arpu_3m": arpu_3m,
            "arpu_6m": arpu_6m,
            "arpu_trend": ratio(arpu_3m, arpu_prev_3m) - 1.0,
            "arpu_volatility": ratio(_sample_std(count, total, arpu_6m), arpu_6m),
            "months_billed_6m": months_6m.astype(np.int64),
        },
        copy=False,  # no consolidation copy of the arrays
    )


def _sample_std(count: np.ndarray, total: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Return the sample standard deviation (ddof=1) of the billed slots, NaN with fewer than 2 bills."""
    deviation = np.where(count > 0, total - mean[:, None], 0.0)
    n = count.sum(axis=1)
    return np.sqrt(ratio((deviation**2).sum(axis=1), np.where(n >= 2, n - 1, 0)))
