"""A subscriber's answers to past retention calls as of D (features.campaign_history)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.campaign_history import campaign_history


def calls(rows: list[tuple[int, str | None, str | None]]) -> pd.DataFrame:
    """Return campaign records (subscriber_id, called_at, outcome); None: a control member, never called."""
    return pd.DataFrame(
        {
            "subscriber_id": [r[0] for r in rows],
            "called_at": pd.to_datetime(pd.Series([r[1] for r in rows], dtype="object")),
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
