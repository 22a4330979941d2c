"""Usage mix: what the last 3 known bill months were spent on, usage volumes and their trend."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.windows import KnownBills, ratio

# Output column -> the bill column holding that part of the amount (data_contracts/bills.yaml).
SHARE_PARTS = {
    "data_share": "data_amount",
    "long_distance_share": "long_distance_amount",
    "roaming_share": "roaming_amount",
    "value_added_share": "value_added_amount",
}


def usage_features(known: KnownBills, billed: np.ndarray, amount: np.ndarray) -> pd.DataFrame:
    """Return the spend shares, data_mb_3m, voice_minutes_3m and usage_trend of the active subscribers.

    `billed` / `amount` are the month-slot grids of `known` (bills and amount per slot). Shares are
    part / amount summed over the last 3 known bill months (NaN when nothing was billed; capped at 1
    because parts may exceed the amount by rounding); volumes are monthly means over those bills.
    """
    amount_3m, bills_3m = amount[:, :3].sum(axis=1), billed[:, :3].sum(axis=1)
    shares = {
        name: np.minimum(ratio(known.grid(part, 3).sum(axis=1), amount_3m), 1.0) for name, part in SHARE_PARTS.items()
    }
    data_mb, voice = known.grid("data_mb", 6), known.grid("voice_minutes", 6)
    data_mb_3m = ratio(data_mb[:, :3].sum(axis=1), bills_3m)
    voice_minutes_3m = ratio(voice[:, :3].sum(axis=1), bills_3m)
    usage_previous_3m = ratio(data_mb[:, 3:].sum(axis=1) + voice[:, 3:].sum(axis=1), billed[:, 3:6].sum(axis=1))
    return pd.DataFrame(
        {
            **shares,
            "data_mb_3m": data_mb_3m,
            "voice_minutes_3m": voice_minutes_3m,
            "usage_trend": ratio(data_mb_3m + voice_minutes_3m, usage_previous_3m) - 1.0,
        },
        copy=False,  # no consolidation copy of the arrays
    )
