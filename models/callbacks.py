"""Who the call-back desk calls back: callers whose inbound call on the as_of day was abandoned.

domain.md (Routing priorities): a mid-tier caller who could not reach an agent is called back
within 24 hours; the tiers, the delay and the window are in `retention.callbacks`. Pure functions
on the contacts and the scored table (already keyed by subscriber_key); no I/O.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pandas as pd

from models.retention import exclusion_reason
from tiercast.settings.retention import RetentionSettings

log = logging.getLogger(__name__)

CALLBACK_COLUMNS = (
    "run_date",
    "desk",
    "rank",
    "subscriber_key",
    "tier",
    "missed_at",
    "due_by",
    "wait_seconds",
    "as_of",
    "run_id",
)
INBOUND_VOICE, OUTBOUND = "voice", "outbound"
WINDOW_COLUMNS = ("subscriber_id", "contact_time", "channel", "abandoned", "wait_seconds")


def window_bounds(as_of: date, settings: RetentionSettings) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return [start, end): the calendar days whose missed calls tonight's list covers, ending with as_of."""
    end = pd.Timestamp(as_of + timedelta(days=1))
    return end - pd.Timedelta(days=settings.callbacks.window_days), end


def window_contacts(contacts: pd.DataFrame, as_of: date, settings: RetentionSettings) -> pd.DataFrame:
    """Return the inbound voice and outbound contacts inside the window: all a call-back list reads.

    Outbound contacts after the window's end are not known on the night of as_of and never count.
    """
    start, end = window_bounds(as_of, settings)
    time = contacts["contact_time"]
    keep = (time >= start) & (time < end) & contacts["channel"].isin([INBOUND_VOICE, OUTBOUND])
    return contacts.loc[keep, [c for c in WINDOW_COLUMNS if c in contacts.columns]].reset_index(drop=True)


def last_missed_calls(contacts: pd.DataFrame, as_of: date, settings: RetentionSettings) -> pd.DataFrame:
    """Return each subscriber's last abandoned inbound voice call in the window (subscriber_id, missed_at, wait)."""
    start, end = window_bounds(as_of, settings)
    time = contacts["contact_time"]
    missed = (contacts["channel"] == INBOUND_VOICE) & contacts["abandoned"].astype(bool) & (time >= start)
    missed &= time < end
    wait = contacts["wait_seconds"] if "wait_seconds" in contacts else pd.Series(float("nan"), index=contacts.index)
    calls = pd.DataFrame(
        {"subscriber_id": contacts["subscriber_id"], "missed_at": time, "wait_seconds": wait.astype("float64")}
    )[missed]
    ordered = calls.sort_values(["subscriber_id", "missed_at", "wait_seconds"], kind="stable")
    return ordered.drop_duplicates("subscriber_id", keep="last").reset_index(drop=True)


def called_back(missed: pd.DataFrame, contacts: pd.DataFrame, as_of: date, settings: RetentionSettings) -> pd.Series:
    """Return, per missed call, whether an outbound contact to the subscriber followed it (before the window's end)."""
    _, end = window_bounds(as_of, settings)
    outbound = contacts[(contacts["channel"] == OUTBOUND) & (contacts["contact_time"] < end)]
    latest = outbound.groupby("subscriber_id")["contact_time"].max().rename("latest_outbound")
    # a merge, not Series.map: mapping through an empty datetime Series fails in pandas
    after = missed[["subscriber_id"]].merge(latest, left_on="subscriber_id", right_index=True, how="left")
    called = after["latest_outbound"].to_numpy() > missed["missed_at"].to_numpy()
    return pd.Series(called, index=missed.index, dtype=bool, name="called_back")


def rank_callbacks(listed: pd.DataFrame) -> pd.DataFrame:
    """Return the list ordered earliest due first (then subscriber_key), with `rank` from 1.

    The same order whether ranked whole or shard by shard and then again (merge).
    """
    ranked = listed.sort_values(["due_by", "subscriber_key"], kind="stable").reset_index(drop=True)
    return ranked.assign(rank=pd.Series(range(1, len(ranked) + 1), dtype="int64"))


def callback_list(
    contacts: pd.DataFrame, scored: pd.DataFrame, as_of: date, settings: RetentionSettings, run_id: str
) -> pd.DataFrame:
    """Return the call-back list: the configured tiers' callers whose last call in the window was abandoned,
    due `callbacks.due_hours` after it, without those called back since and those who must not be called.

    An export without the `abandoned` column cannot say who was missed: the list is empty (logged).
    """
    rules = settings.callbacks
    if "abandoned" not in contacts.columns:
        log.warning("contacts have no `abandoned` column: no call-back list as of %s", as_of)
        missed = pd.DataFrame({"subscriber_id": [], "missed_at": pd.Series([], dtype="datetime64[ns]")})
        missed = missed.assign(wait_seconds=pd.Series([], dtype="float64"))
    else:
        missed = last_missed_calls(contacts, as_of, settings)
        missed = missed[~called_back(missed, contacts, as_of, settings)]
    people = scored.assign(excluded=exclusion_reason(scored.assign(days_since_retention_call=float("nan")), settings))
    callable_ = people.loc[people["excluded"].isna() & people["tier"].astype("str").isin(rules.tiers)]
    chosen = missed.merge(callable_[["subscriber_id", "subscriber_key", "tier"]], on="subscriber_id", how="inner")
    missed_at = pd.to_datetime(chosen["missed_at"]).astype("datetime64[ns]")
    listed = pd.DataFrame(
        {
            "run_date": pd.Timestamp(as_of + timedelta(days=settings.run_date_offset_days)),
            "desk": pd.Series(rules.desk, index=chosen.index, dtype="str"),
            "rank": pd.Series(0, index=chosen.index, dtype="int64"),
            "subscriber_key": chosen["subscriber_key"].astype("str"),
            "tier": chosen["tier"].astype("str"),
            "missed_at": missed_at,
            "due_by": missed_at + pd.Timedelta(hours=rules.due_hours),
            "wait_seconds": chosen["wait_seconds"].astype("float64"),
            "as_of": pd.Timestamp(as_of),
            "run_id": pd.Series(run_id, index=chosen.index, dtype="str"),
        },
        index=chosen.index,
    )
    return rank_callbacks(listed).loc[:, list(CALLBACK_COLUMNS)]
