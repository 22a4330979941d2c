"""Uplift training rows on hand-built tables: point in time, labels within the campaign month, maturity."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from features.campaign_history import HISTORY_COLUMNS
from pipelines.uplift_training import campaign_members, campaign_rows, label_window, plan_campaigns, uplift_columns
from tests.pipelines.test_campaigns import LEFT, _dates, tables
from tiercast.errors import ModelError

MARCH = date(2024, 3, 1)  # lines 1-4 treated, 5-6 control (tests/pipelines/test_campaigns.py)


def rows(settings, given: dict) -> pd.DataFrame:
    return campaign_rows(given, campaign_members(given["campaigns"], MARCH), MARCH, settings).set_index("subscriber_id")


def test_features_are_of_the_eve_and_the_label_is_leaving_in_the_campaign_month(settings) -> None:
    """Given departures on 03-10 (line 1), 05-15 (2), 04-30 (5) and on the campaign date itself (6): features as
    of 02-29, and churned = left in (02-29, 03-31]: lines 1 and 6."""
    built = rows(settings, tables())

    assert label_window(MARCH, None) == (date(2024, 2, 29), 31)
    assert built["churned"].to_dict() == {1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1}
    assert built["treated"].to_dict() == {1: True, 2: True, 3: True, 4: True, 5: False, 6: False}
    assert set(built["offer"]) == {"discount"}
    assert built["arpu_3m"].to_dict() == {1: 100.0, 2: 50.0, 3: 40.0, 4: 30.0, 5: 80.0, 6: 20.0}


def test_a_bill_or_contact_after_the_eve_or_a_departure_after_the_horizon_changes_nothing(settings) -> None:
    """Given ten times the bills from March, a complaint on 03-05 and line 2 leaving on 04-01 instead of 05-15."""
    later = tables({**LEFT, "s2": "2024-04-01"}, 10.0, (1, "2024-03-05 10:00", "complaint"))

    pd.testing.assert_frame_equal(rows(settings, later), rows(settings, tables()))


def test_a_fixed_horizon_counts_days_from_the_eve(settings) -> None:
    """Given a 9-day horizon (to 03-09): only line 6 (left on 03-01) churned; line 1 left on 03-10."""
    short = settings.model_copy(update={"uplift": settings.uplift.model_copy(update={"horizon_days": 9})})

    assert rows(short, tables())["churned"].to_dict() == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1}


def test_the_latest_matured_campaign_is_held_out(settings) -> None:
    dates = [date(2024, 1, 1), MARCH, date(2024, 5, 15)]

    plan = plan_campaigns(dates, date(2024, 5, 30), settings.uplift)  # May's campaign matures on 05-31

    assert (plan.train_dates, plan.holdout_dates) == ((date(2024, 1, 1),), (MARCH,))
    with pytest.raises(ModelError, match="more than 1 matured"):
        plan_campaigns(dates, date(2024, 3, 30), settings.uplift)


def with_records(given: dict, *records: tuple[int, str, str, str | None, str | None]) -> dict:
    """Return `given` with campaign records (subscriber, campaign_date, group, called_at, outcome) added."""
    extra = pd.DataFrame(
        {
            "subscriber_id": [r[0] for r in records],
            "campaign_date": _dates(*(r[1] for r in records)),
            "desk": ["tariff"] * len(records),
            "group": [r[2] for r in records],
            "offer": ["discount"] * len(records),
            "called_at": _dates(*(r[3] for r in records)),
            "outcome": [r[4] for r in records],
        }
    )
    return {**given, "campaigns": pd.concat([given["campaigns"], extra], ignore_index=True)}


# Line 3 answered January's call (accepted) and line 4 declined it; line 5 was January's control.
JANUARY = ((3, "2024-01-02", "treated", "2024-01-03 10:00", "accepted"),
           (4, "2024-01-02", "treated", "2024-01-04 10:00", "declined"),
           (5, "2024-01-02", "control", None, None))  # fmt: skip
# Planted after March's eve (2024-02-29): March's own calls to lines 1 (accepted) and 2 (declined) are in the
# table already; a later campaign's accepted call of line 5; and a record of the 2024-04-01 campaign whose
# called_at (wrongly) falls before the eve.
FUTURE = ((5, "2024-04-01", "treated", "2024-04-02 10:00", "accepted"),
          (6, "2024-04-01", "treated", "2024-02-20 10:00", "accepted"))  # fmt: skip


def test_the_campaign_history_counts_only_answers_known_on_the_eve(settings) -> None:
    """Given January's answers of lines 3 (accepted) and 4 (declined), March's own calls and planted later
    records: March's rows count January's answers only."""
    built = rows(settings, with_records(tables(), *JANUARY, *FUTURE))

    assert built["retention_calls_answered"].to_dict() == {1: 0, 2: 0, 3: 1, 4: 1, 5: 0, 6: 0}
    assert built["retention_offers_accepted"].to_dict() == {1: 0, 2: 0, 3: 1, 4: 0, 5: 0, 6: 0}
    assert built["retention_accept_share"].fillna(-1).to_dict() == {1: -1, 2: -1, 3: 1.0, 4: 0.0, 5: -1, 6: -1}


def test_future_campaign_records_change_no_training_row(settings) -> None:
    past = with_records(tables(), *JANUARY)

    pd.testing.assert_frame_equal(rows(settings, with_records(past, *FUTURE)), rows(settings, past))


def test_the_history_columns_are_inputs_before_the_offer_and_absent_when_switched_off(settings) -> None:
    built = rows(settings, with_records(tables(), *JANUARY)).reset_index()
    off = settings.model_copy(update={"uplift": settings.uplift.model_copy(update={"campaign_history": False})})

    columns = uplift_columns(built, settings, ())
    assert columns[-4:] == [*HISTORY_COLUMNS, "offer"]
    assert not set(HISTORY_COLUMNS) & set(rows(off, with_records(tables(), *JANUARY)).columns)
