"""Churn in the last days of a matured night's horizon against its scores' promise: exact cases."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.recent_churn import churn_calendar, horizon_shares, judged_recent_churn, recent_churn, tier_calendars
from tiercast.settings.monitoring import RecentChurnSettings

NIGHT = date(2026, 6, 4)


def recent_settings(**changes: object) -> RecentChurnSettings:
    """Settings written out here so that tuning the packaged defaults does not move these tests."""
    values = {
        "max_days": 3,
        "profile_days": 365,
        "min_expected": 1.0,
        "min_count": 3,
        "min_ratio": 1.5,
        "min_z": 2.0,
    }
    return RecentChurnSettings.model_validate({**values, **changes})


def test_the_calendar_is_the_mean_number_of_leavers_per_day_of_the_month_over_the_period() -> None:
    # given leavers on Jan 2 (2), Feb 2, Jan 31, and one outside the period (Mar 5)
    left = pd.Series(pd.to_datetime(["2026-01-02", "2026-01-02", "2026-02-02", "2026-01-31", "2026-03-05"]))
    calendar = churn_calendar(left, date(2026, 1, 1), date(2026, 2, 28))
    assert calendar.index.tolist() == list(range(1, 32))
    assert calendar[2] == 1.5  # (2 + 1) over the two 2nds
    assert calendar[31] == 1.0  # one 31st in the period
    assert calendar[1] == calendar[3] == calendar[29] == 0.0
    assert calendar.sum() == 2.5


def test_the_calendar_has_no_value_for_a_day_of_the_month_the_period_never_has() -> None:
    calendar = churn_calendar(pd.Series(pd.to_datetime(["2026-02-10"])), date(2026, 2, 1), date(2026, 2, 28))
    assert calendar[[29, 30, 31]].isna().all()
    assert calendar[10] == 1.0


def test_horizon_days_weigh_as_their_day_of_the_month() -> None:
    # given the horizon 01-31, 02-01, 02-02, 02-03 and weights 1 (31st), 0 (1st), 1.5 (2nd), 0.5 (3rd)
    calendar = pd.Series({day: {31: 1.0, 2: 1.5, 3: 0.5}.get(day, 0.0) for day in range(1, 32)})
    shares = horizon_shares(date(2026, 1, 30), 4, calendar)
    assert shares == pytest.approx([1 / 3, 0.0, 0.5, 1 / 6])


def test_a_day_of_the_month_without_a_weight_takes_the_calendar_mean() -> None:
    calendar = pd.Series({day: {30: 2.0, 1: 1.0}.get(day, np.nan) for day in range(1, 32)})
    # horizon 05-30, 05-31 (no weight: the mean 1.5), 06-01
    assert horizon_shares(date(2026, 5, 29), 3, calendar) == pytest.approx([2 / 4.5, 1.5 / 4.5, 1 / 4.5])


def test_without_any_leaver_in_the_calendar_the_horizon_is_spread_evenly() -> None:
    assert horizon_shares(NIGHT, 4, pd.Series(0.0, index=range(1, 32))) == pytest.approx([0.25] * 4)


def frame(days: list[int | None], scores: list[float], tiers: list[str]) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """Per customer: the day after NIGHT it left (None: still here), its score, its tier."""
    left = pd.Series([pd.Timestamp(NIGHT) + pd.Timedelta(days=d) if d is not None else pd.NaT for d in days])
    return left, np.array(scores), pd.Series(tiers)


def test_the_window_with_the_largest_z_is_reported_and_alarms() -> None:
    # given 8 customers, horizon 4 days spread evenly, expected churn 0.5 per day per 2.0 of summed scores
    left, p, tiers = frame(
        [4, 4, 4, 1, None, 5, 0, None],  # three on the last day; day 5 is after the horizon, day 0 the night itself
        [0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25],
        ["high", "high", "high", "high", "low", "low", "low", "low"],
    )
    table = recent_churn(left, p, NIGHT, {"all": np.full(4, 0.25)}, recent_settings(), tiers).set_index("group")
    # all: sum(p) 3.0, 0.75 a day; the last day alone (0.75) is under min_expected 1.0; the last 2 days: 3 vs 1.5
    # (z 1.225), the last 3: 3 vs 2.25 (z 0.5): the last 2 days are shown, z under 2: no alarm
    assert (table.loc["all", "days"], table.loc["all", "observed"], table.loc["all", "n"]) == (2, 3, 8)
    assert table.loc["all", "expected"] == pytest.approx(1.5)
    assert table.loc["all", "z"] == pytest.approx(1.5 / np.sqrt(1.5))
    assert table.loc["all", "level"] == "ok"
    # high: sum(p) 2.0, 0.5 a day: last 1 day 0.5 < 1.0 left out; last 2 days 3 vs 1.0 (z 2.0, 3x): alarm
    high = table.loc["high"]
    assert (high["days"], high["observed"], high["expected"], high["n"]) == (2, 3, 1.0, 4)
    assert high["z"] == pytest.approx(2.0)
    assert high["level"] == "significant"
    assert high["message"] == (
        "high: 3 left in the last 2 days of the horizon (2026-06-07..2026-06-08) against 1.0 expected from that "
        "night's scores and the churn calendar (+200%, z 2.0): more leave now than the scores said"
    )
    # low: nobody left within the horizon's days: no window has 1.0 expected (0.25 a day x 3 = 0.75): the
    # longest window is shown, no alarm
    low = table.loc["low"]
    assert (low["days"], low["observed"], low["level"], low["message"]) == (3, 0, "ok", "")
    assert low["expected"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("change", "level"),
    [
        ({}, "significant"),
        ({"min_z": 2.01}, "ok"),  # z exactly 2.0
        ({"min_ratio": 3.01}, "ok"),  # 3 left against 1.0: 3x
        ({"min_count": 4}, "ok"),  # only 3 left
    ],
)
def test_each_condition_must_hold_for_an_alarm(change: dict[str, float], level: str) -> None:
    left, p, tiers = frame([4, 4, 4, None], [0.5, 0.5, 0.5, 0.5], ["high"] * 4)
    table = recent_churn(left, p, NIGHT, {"all": np.full(4, 0.25)}, recent_settings(**change), tiers).set_index("group")
    assert table.loc["high", "level"] == level


def test_fewer_leavers_than_expected_do_not_alarm() -> None:
    # a drop is good news the whole-horizon churn-rate rule reports (both sides); this rule looks for a rise
    left, p, _ = frame([None] * 4, [0.9] * 4, ["high"] * 4)
    table = recent_churn(left, p, NIGHT, {"all": np.full(4, 0.25)}, recent_settings(min_expected=0.1))
    assert table["group"].tolist() == ["all"]
    assert table["z"].iloc[0] < 0
    assert table["level"].iloc[0] == "ok"


def test_windows_stop_at_the_horizon() -> None:
    left, p, _ = frame([2, 2], [1.0, 1.0], ["high"] * 2)
    table = recent_churn(left, p, NIGHT, {"all": np.full(2, 0.5)}, recent_settings(max_days=5, min_expected=0.5))
    assert table["days"].iloc[0] == 1  # day 2 alone: 2 vs 1.0; days 1-2: 2 vs 2.0
    assert table["observed"].iloc[0] == 2


def test_the_calendar_comes_from_the_leavers_before_the_night_never_the_judged_horizon() -> None:
    # given two customers not scored who left on 05-08 (in the 31 days up to the night, every day of the month
    # once) and two scored ones who
    # left on 06-05, the horizon's first day: the calendar weighs the 8th alone, so the whole horizon's churn is
    # promised on 06-08
    scores = pd.DataFrame({"subscriber_id": [1, 2, 3, 4], "churn_score": [0.5] * 4, "tier": ["high"] * 4})
    leavers = pd.DataFrame(
        {"subscriber_id": [1, 2, 8, 9], "deactivation_date": pd.to_datetime(["2026-06-05"] * 2 + ["2026-05-08"] * 2)}
    )
    table = judged_recent_churn(scores, leavers, NIGHT, 4, recent_settings(profile_days=31)).set_index("group")
    high = table.loc["high"]
    assert (high["days"], high["observed"], high["expected"]) == (1, 0, 2.0)


def test_a_group_is_judged_by_its_own_calendar() -> None:
    # given the high tier's calendar puts all its churn on the horizon's last day (the 8th), the low tier has none
    left, p, tiers = frame([4, 4, None, None], [0.5, 0.5, 0.5, 0.5], ["high", "high", "low", "low"])
    shares = {"all": np.full(4, 0.25), "high": np.array([0.0, 0.0, 0.0, 1.0])}
    table = recent_churn(left, p, NIGHT, shares, recent_settings(min_expected=0.5), tiers).set_index("group")
    # high: 2 left on the 8th, 1.0 expected there (z 1.0); low by the even calendar: 0 against 0.25 a day
    high, low = table.loc["high"], table.loc["low"]
    assert (high["days"], high["observed"], high["expected"]) == (1, 2, 1.0)
    assert (low["days"], low["observed"], low["expected"]) == (2, 0, 0.5)


def test_tier_calendars_count_each_snapshots_leavers_by_day_of_the_month_over_its_horizon() -> None:
    # given two snapshots (01-30 and 02-27, horizon 3 days: 01-31..02-02 and 02-28..03-02) and who left when
    snapshots = pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 4, 5],
            "as_of": pd.to_datetime(["2026-01-30"] * 3 + ["2026-02-27"] * 2),
            "tier": ["high", "low", "low", "high", "low"],
        }
    )
    left = pd.Series(["2026-02-02", "2026-01-31", "2026-02-05", "2026-03-02", None], dtype="datetime64[ns]")
    calendars = tier_calendars(snapshots, left, 3)
    assert list(calendars) == ["all", "high", "low"]
    # days of the month in the horizons: 31 once, 1 twice, 2 twice, 28 once; 02-05 is after the horizon
    high, low = calendars["high"], calendars["low"]
    assert (high[1], high[0], high[30], high[27]) == (1.0, 0.0, 0.0, 0.0)  # the 2nd: (1 + 1) over two 2nds
    assert (low[30], low[1]) == (1.0, 0.0)
    assert np.isnan(high[2]) and np.isnan(low[14])  # no horizon has a 3rd or a 15th
    assert calendars["all"][1] == 1.0 and calendars["all"][30] == 1.0


def test_the_champions_calendars_replace_the_leavers_calendar() -> None:
    scores = pd.DataFrame({"subscriber_id": [1, 2, 3, 4], "churn_score": [0.5] * 4, "tier": ["high"] * 4})
    leavers = pd.DataFrame({"subscriber_id": [1], "deactivation_date": pd.to_datetime(["2026-06-05"])})
    eighth = tuple(1.0 if day == 8 else 0.0 for day in range(1, 32))
    table = judged_recent_churn(scores, leavers, NIGHT, 4, recent_settings(), {"all": eighth, "high": eighth})
    assert table.set_index("group").loc["high", "expected"] == 2.0  # all of sum(p) 2.0 on the 8th, the last day
