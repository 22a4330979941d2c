"""A subscriber's answers to past retention calls as of D (features.campaign_history)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.campaign_history import campaign_history, with_campaign_history


def calls(rows: list[tuple[int, str | None, str | None]], issued: list[str] | None = None) -> pd.DataFrame:
    """Return campaign records (subscriber_id, campaign_date, called_at, outcome); None: a control member, never
    called. Each campaign is issued on the 1st of its call's month (`issued`: other dates)."""
    called = pd.to_datetime(pd.Series([r[1] for r in rows], dtype="object"))
    default = [str(c.to_period("M").start_time.date()) if pd.notna(c) else "2026-03-01" for c in called]
    return pd.DataFrame(
        {
            "subscriber_id": [r[0] for r in rows],
            "campaign_date": pd.to_datetime(pd.Series(issued or default)),
            "called_at": called,
            "outcome": [r[2] for r in rows],
        }
    )


def test_counts_answered_and_accepted_calls_up_to_the_end_of_the_day() -> None:
    # given two answered calls of 1 (one accepted), a no-answer and a control row of 2, and nothing for 3
    records = calls(
        [
            (1, "2026-03-05 10:00", "accepted"),
            (1, "2026-04-03 20:59", "declined"),
            (2, "2026-04-02 09:00", "no_answer"),
            (2, None, None),
        ]
    )
    # when read as of 2026-04-03 (the call at 20:59 that day is known); then
    out = campaign_history(records, np.array([3, 1, 2]), date(2026, 4, 3))
    assert out["subscriber_id"].tolist() == [3, 1, 2]
    assert out["retention_calls_answered"].tolist() == [0.0, 2.0, 0.0]
    assert out["retention_offers_accepted"].tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_array_equal(out["retention_accept_share"].to_numpy(), [np.nan, 0.5, np.nan])


def test_a_call_after_the_as_of_day_is_never_seen() -> None:
    # given an accepted call on D and a planted future one on D + 1 (the campaign being predicted)
    records = calls([(1, "2026-04-30 12:00", "declined"), (1, "2026-05-01 00:00", "accepted")])
    # when read as of D = 2026-04-30 (the eve of the 2026-05-01 campaign); then the future call is not counted
    out = campaign_history(records, np.array([1]), date(2026, 4, 30))
    assert out["retention_calls_answered"].tolist() == [1.0]
    assert out["retention_offers_accepted"].tolist() == [0.0]
    assert out["retention_accept_share"].tolist() == [0.0]


def test_the_input_frame_is_left_alone() -> None:
    records = calls([(1, "2026-03-05 10:00", "accepted")])
    before = records.copy()
    campaign_history(records, np.array([1]), date(2026, 4, 1))
    pd.testing.assert_frame_equal(records, before)


def test_a_record_of_a_campaign_issued_after_the_day_is_never_seen_even_with_an_earlier_call_time() -> None:
    # given an accepted call recorded (wrongly) on 04-20 for the campaign of 05-01, and one of the 04-01 campaign
    records = calls(
        [(1, "2026-04-20 10:00", "accepted"), (1, "2026-04-02 10:00", "declined")], ["2026-05-01", "2026-04-01"]
    )
    # when read as of 04-30, the eve of the 05-01 campaign; then only the 04-01 campaign's call counts
    out = campaign_history(records, np.array([1]), date(2026, 4, 30))
    assert out[["retention_calls_answered", "retention_offers_accepted"]].to_numpy().tolist() == [[1.0, 0.0]]


def test_with_campaign_history_gives_a_line_without_answered_calls_zeros_and_no_share() -> None:
    # given the history of line 1 only, and rows of lines 2 and 1 (their own columns untouched)
    history = campaign_history(calls([(1, "2026-03-05 10:00", "accepted")]), np.array([1]), date(2026, 4, 1))
    rows = pd.DataFrame({"subscriber_id": [2, 1], "arpu_3m": [10.0, 20.0]})
    # when joined; then
    out = with_campaign_history(rows, history)
    assert out["arpu_3m"].tolist() == [10.0, 20.0]
    assert out["retention_calls_answered"].tolist() == [0.0, 1.0]
    assert out["retention_offers_accepted"].tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(out["retention_accept_share"].to_numpy(), [np.nan, 1.0])
    assert list(rows.columns) == ["subscriber_id", "arpu_3m"]
