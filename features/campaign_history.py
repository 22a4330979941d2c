"""A subscriber's own answers to past retention calls as of D (uplift only, issue 14): not in the feature table.

A line that has answered retention calls before has shown how it takes an offer: in the generator's world a
persuadable accepts 0.55 of answered calls against 0.35 (sure thing), 0.10 (lost cause) and 0.15 (sleeping dog),
and keeps its type while its situation stays the same (tiercast/synthetic/campaigns.py). Only records of
campaigns issued by D (campaign_date <= D) and calls made by the end of day D (called_at < D + 1 day) count, so
the campaign whose eve is D and anything later are never seen, even a record whose called_at is wrong.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

HISTORY_COLUMNS = ("retention_calls_answered", "retention_offers_accepted", "retention_accept_share")
ANSWERED = ("accepted", "declined")


def campaign_history(campaigns: pd.DataFrame, subscriber_ids: np.ndarray, as_of: date) -> pd.DataFrame:
    """Return per subscriber in `subscriber_ids` (in that order): answered retention calls made by the end of
    `as_of` in campaigns issued by then, offers accepted among them, and the accepted share (NaN when none was
    answered)."""
    end = pd.Timestamp(as_of + timedelta(days=1))
    issued = pd.to_datetime(campaigns["campaign_date"]) < end
    known = campaigns[issued & (campaigns["called_at"] < end) & campaigns["outcome"].isin(ANSWERED)]
    answered = known.groupby("subscriber_id").size()
    accepted = known[known["outcome"] == "accepted"].groupby("subscriber_id").size()
    ids = pd.Index(subscriber_ids)
    n_answered = answered.reindex(ids, fill_value=0).to_numpy(dtype="float64")
    n_accepted = accepted.reindex(ids, fill_value=0).to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_answered > 0, n_accepted / n_answered, np.nan)
    return pd.DataFrame(
        {
            "subscriber_id": subscriber_ids,
            "retention_calls_answered": n_answered,
            "retention_offers_accepted": n_accepted,
            "retention_accept_share": share,
        }
    )


def with_campaign_history(rows: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Return `rows` (by subscriber_id) plus the HISTORY_COLUMNS from `history` (`campaign_history`'s frame for
    some subscribers): a subscriber it does not list has answered no call (0, 0, NaN share)."""
    by_id = history.drop_duplicates("subscriber_id").set_index("subscriber_id")
    ids = pd.Index(rows["subscriber_id"])
    counts = {c: by_id[c].reindex(ids).fillna(0.0).to_numpy(dtype="float64") for c in HISTORY_COLUMNS[:2]}
    share = by_id[HISTORY_COLUMNS[2]].reindex(ids).to_numpy(dtype="float64")
    return rows.assign(**counts, **{HISTORY_COLUMNS[2]: share})
