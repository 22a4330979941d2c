"""The latest-days guardrail: a contacts extract that stopped early or skipped a day, by weekday a week before."""

from __future__ import annotations

import pytest

from models.drift import (
    GUARDRAIL,
    PERIOD,
    ReferenceProfile,
    blocks_publish,
    day_profile,
    merge_counts,
    period_profile,
    period_table,
)
from tests.models.test_drift import settings

# 2026-10-18 (Sun) .. 2026-10-31 (Sat): the week before, then the last week up to the as-of date
DAYS = tuple(f"2026-10-{d:02d}" for d in range(18, 32))
NAME = "contacts.contact_time"
WEEK_BEFORE = (700, 1250, 1100, 1000, 1000, 1000, 800)  # Sun .. Sat, Monday the heaviest


def guard(share: float | None = 0.5, min_rows: int = 100):
    return settings(guardrail={"latest_day_share": share, "latest_day_min_rows": min_rows}).guardrail


def table_for(last_week: tuple[int, ...], before: tuple[int, ...] = WEEK_BEFORE, **rule):
    profile = day_profile(NAME, DAYS, (*before, *last_week))
    return period_table(ReferenceProfile((profile,)), guard(**rule))


def test_day_counts_add_up_across_shards() -> None:
    shards = [day_profile(NAME, DAYS, tuple(range(14))), day_profile(NAME, DAYS, (1,) * 14)]
    merged = merge_counts([ReferenceProfile((s,)) for s in shards]).columns[0]
    assert (merged.role, merged.categories, merged.counts) == (PERIOD, DAYS, (*range(1, 15), 0, 0))


def test_a_day_profile_counts_two_weeks() -> None:
    with pytest.raises(ValueError, match="a day profile counts 14 days, not 13"):
        day_profile(NAME, DAYS[1:], (1,) * 13)


@pytest.mark.parametrize(
    ("last_week", "level", "value", "reference"),
    [
        ((700, 1250, 1100, 1000, 1000, 1000, 800), "ok", 700.0, 700.0),  # the same week again: worst share 1
        ((350, 1250, 1100, 1000, 1000, 1000, 400), "ok", 350.0, 700.0),  # exactly half is a quiet day, not broken
        ((700, 1250, 1100, 1000, 1000, 1000, 0), GUARDRAIL, 0.0, 800.0),  # the as-of day missing
        ((700, 1250, 1100, 0, 1000, 1000, 800), GUARDRAIL, 0.0, 1000.0),  # a day skipped mid-week
        ((700, 1250, 1100, 1000, 1000, 499, 399), GUARDRAIL, 399.0, 800.0),  # cut short: two days under half
    ],
)
def test_a_day_under_half_of_the_same_weekday_a_week_before_is_a_guardrail(last_week, level, value, reference) -> None:
    table = table_for(last_week)
    assert table[["feature", "role", "metric", "against", "value", "reference", "level"]].to_dict("records") == [
        {
            "feature": "contacts.contact_time",
            "role": PERIOD,
            "metric": "latest_days",
            "against": "a week before",
            "value": value,
            "reference": reference,
            "level": level,
        }
    ]


def test_the_guardrail_names_the_column_days_rule_and_figures() -> None:
    table = table_for((700, 1250, 1100, 1000, 1000, 499, 0))
    assert table["message"].tolist() == [
        "contacts.contact_time: 499 rows on 2026-10-30 (Fri) tonight, 49.9% of the 1,000 on 2026-10-23; "
        "0 rows on 2026-10-31 (Sat) tonight, 0% of the 800 on 2026-10-24 (at least 50% of the same weekday a "
        "week before, guardrail.latest_day_share): the latest days are missing or cut short"
    ]
    assert blocks_publish(table, settings().alerts)


def test_days_of_a_small_base_are_not_judged() -> None:
    """Under latest_day_min_rows a week before, a day's count is noise: 0 calls after 99 is no evidence."""
    table = table_for((0,) * 7, before=(99,) * 7)
    assert table["level"].tolist() == ["ok"] and table["message"].tolist() == [""]
    assert table_for((0,) * 7, before=(99,) * 7, min_rows=99)["level"].tolist() == [GUARDRAIL]


def test_without_a_share_the_days_are_not_judged() -> None:
    assert table_for((0,) * 7, share=None)["level"].tolist() == ["ok"]


def test_a_month_and_the_days_each_get_their_rule() -> None:
    columns = (
        period_profile("bills.bill_month", ("2026-09", "2026-10"), (10, 10)),
        day_profile(NAME, DAYS, (*WEEK_BEFORE, *WEEK_BEFORE)),
    )
    table = period_table(ReferenceProfile(columns), guard())
    assert table[["feature", "metric", "against"]].values.tolist() == [
        ["bills.bill_month", "latest_period", "previous month"],
        ["contacts.contact_time", "latest_days", "a week before"],
    ]
