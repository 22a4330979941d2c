"""Uplift training rows on hand-built tables: point in time, labels within the campaign month, maturity."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.uplift_training import campaign_members, campaign_rows, label_window, plan_campaigns
from tests.pipelines.test_campaigns import LEFT, tables
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
