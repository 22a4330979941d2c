"""The call-back list: missed calls of the configured tiers, due 24 h later, minus called back and excluded."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_contracts.loader import validate_output
from models.callbacks import callback_list, rank_callbacks, window_contacts

AS_OF = date(2025, 6, 30)
T = pd.Timestamp


def key(n: int) -> str:
    return f"{n:064x}"


def scored() -> pd.DataFrame:
    """Given six subscribers: 1 mid, 2 high, 3 low, 4 mid called back, 5 mid do-not-contact, 6 high black list."""
    return pd.DataFrame(
        {
            "subscriber_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "subscriber_key": [key(n) for n in range(1, 7)],
            "tier": ["mid", "high", "low", "mid", "mid", "high"],
            "is_black_list": [False, False, False, False, False, True],
            "flea_flag": [False] * 6,
            "do_not_contact": [False, False, False, False, True, False],
            "days_since_retention_call": [1.0] * 6,  # a recent retention call does not stop a call-back
        }
    )


def contacts() -> pd.DataFrame:
    rows = [
        # s1 missed twice on as_of (the last one counts), and once the day before (another night's list)
        ("s1", T("2025-06-29 18:00"), "voice", True, 30.0),
        ("s1", T("2025-06-30 09:15"), "voice", True, 45.0),
        ("s1", T("2025-06-30 17:40"), "voice", True, 62.0),
        ("s2", T("2025-06-30 08:05"), "voice", True, 12.0),
        ("s2", T("2025-06-30 07:00"), "outbound", False, 0.0),  # outbound before the missed call: still owed
        ("s3", T("2025-06-30 10:00"), "voice", True, 80.0),  # low tier: standard queue, no call-back
        ("s4", T("2025-06-30 11:00"), "voice", True, 20.0),
        ("s4", T("2025-06-30 15:30"), "outbound", False, 0.0),  # already called back
        ("s5", T("2025-06-30 12:00"), "voice", True, 25.0),  # do not contact
        ("s6", T("2025-06-30 13:00"), "voice", True, 90.0),  # black list
        ("s2", T("2025-06-30 09:00"), "chat", False, 0.0),  # answered other channels are not missed calls
        ("s1", T("2025-07-01 08:00"), "outbound", False, 0.0),  # after the night of as_of: not known yet
    ]
    return pd.DataFrame(rows, columns=["subscriber_id", "contact_time", "channel", "abandoned", "wait_seconds"])


def test_planted_missed_calls_give_exactly_the_owed_rows_and_due_times(settings) -> None:
    listed = callback_list(contacts(), scored(), AS_OF, settings.retention, "run-1")
    assert listed[["rank", "subscriber_key", "tier", "missed_at", "due_by", "wait_seconds"]].to_dict("records") == [
        {
            "rank": 1,
            "subscriber_key": key(2),
            "tier": "high",
            "missed_at": T("2025-06-30 08:05"),
            "due_by": T("2025-07-01 08:05"),
            "wait_seconds": 12.0,
        },
        {
            "rank": 2,
            "subscriber_key": key(1),
            "tier": "mid",
            "missed_at": T("2025-06-30 17:40"),
            "due_by": T("2025-07-01 17:40"),
            "wait_seconds": 62.0,
        },
    ]
    assert set(listed["desk"]) == {"callback"}
    assert set(listed["run_date"]) == {T("2025-07-01")}
    assert set(listed["as_of"]) == {T("2025-06-30")}
    assert "subscriber_id" not in listed.columns
    validate_output(listed, "callback_list")  # the published contract holds


def test_the_due_time_follows_the_configured_promise(settings) -> None:
    rules = settings.retention.model_copy(
        update={"callbacks": settings.retention.callbacks.model_copy(update={"due_hours": 4.0, "tiers": ["low"]})}
    )
    listed = callback_list(contacts(), scored(), AS_OF, rules, "run-1")
    assert listed[["subscriber_key", "due_by"]].to_dict("records") == [
        {"subscriber_key": key(3), "due_by": T("2025-06-30 14:00")}
    ]


@pytest.mark.parametrize("flag", ["is_black_list", "flea_flag", "do_not_contact"])
def test_an_excluded_subscriber_is_never_called_back(settings, flag: str) -> None:
    people = scored().assign(**{flag: [True, False, False, False, False, False]})
    listed = callback_list(contacts(), people, AS_OF, settings.retention, "run-1")
    assert key(1) not in set(listed["subscriber_key"])
    assert key(2) in set(listed["subscriber_key"])


def test_an_export_without_abandoned_gives_an_empty_valid_list(settings, caplog: pytest.LogCaptureFixture) -> None:
    listed = callback_list(contacts().drop(columns="abandoned"), scored(), AS_OF, settings.retention, "run-1")
    assert listed.empty
    validate_output(listed, "callback_list")
    assert "no `abandoned` column" in caplog.text


def test_window_contacts_keep_what_the_list_needs(settings) -> None:
    kept = window_contacts(contacts(), AS_OF, settings.retention)
    assert len(kept) == 9  # the day before, the chat and the next day's outbound left out
    again = callback_list(kept, scored(), AS_OF, settings.retention, "run-1")
    assert again.equals(callback_list(contacts(), scored(), AS_OF, settings.retention, "run-1"))


def test_ranking_shard_by_shard_then_again_equals_ranking_whole(settings) -> None:
    whole = callback_list(contacts(), scored(), AS_OF, settings.retention, "run-1")
    parts = [
        callback_list(contacts(), scored().iloc[rows], AS_OF, settings.retention, "run-1") for rows in ([0], [1, 2])
    ]
    merged = rank_callbacks(pd.concat(parts, ignore_index=True))
    assert merged.equals(whole)


def test_a_day_without_outbound_contacts_lists_every_owed_caller(settings) -> None:
    """Given numeric subscriber ids and no outbound contact at all (an empty shard's case), s4 is owed too."""
    numeric = {"subscriber_id": lambda frame: frame["subscriber_id"].str[1:].astype("int64")}
    inbound = contacts()[lambda frame: frame["channel"] != "outbound"].assign(**numeric)
    listed = callback_list(inbound, scored().assign(**numeric), AS_OF, settings.retention, "run-1")
    assert listed["subscriber_key"].tolist() == [key(2), key(4), key(1)]
