"""The latest-period guardrails: a monthly table's latest month missing or cut short, an export that ends earlier."""

from __future__ import annotations

from datetime import date

import pytest

from models.drift import (
    GUARDRAIL,
    PERIOD,
    ReferenceProfile,
    blocks_publish,
    data_end_table,
    merge_counts,
    period_profile,
    period_table,
)
from tests.models.test_drift import settings

MONTHS = ("2026-09", "2026-10")


def test_period_counts_add_up_across_shards() -> None:
    shards = [period_profile("bills.bill_month", MONTHS, (3, 2)), period_profile("bills.bill_month", MONTHS, (4, 4))]
    merged = merge_counts([ReferenceProfile((s,)) for s in shards]).columns[0]
    assert (merged.role, merged.categories, merged.counts) == (PERIOD, MONTHS, (7, 6, 0, 0))


@pytest.mark.parametrize(
    ("rows", "level"),
    [
        ((1000, 900), "ok"),  # exactly the share: a base does not lose a tenth of its bills in a month
        ((1000, 1010), "ok"),
        ((0, 5), "ok"),  # the export's first month: nothing to compare with
        ((1000, 899), GUARDRAIL),
        ((1000, 0), GUARDRAIL),  # the billing extract failed: the month's columns are counted on no rows
    ],
)
def test_the_latest_month_under_the_share_of_the_month_before_is_a_guardrail(rows: tuple, level: str) -> None:
    guard = settings(guardrail={"latest_period_share": 0.9}).guardrail
    table = period_table(ReferenceProfile((period_profile("bills.bill_month", MONTHS, rows),)), guard)
    assert table[["feature", "role", "metric", "against", "value", "reference", "level"]].to_dict("records") == [
        {
            "feature": "bills.bill_month",
            "role": PERIOD,
            "metric": "latest_period",
            "against": "previous month",
            "value": float(rows[1]),
            "reference": float(rows[0]),
            "level": level,
        }
    ]


def test_the_guardrail_names_the_table_column_month_rule_and_figures() -> None:
    guard = settings(guardrail={"latest_period_share": 0.9}).guardrail
    table = period_table(ReferenceProfile((period_profile("bills.bill_month", MONTHS, (30696, 21486)),)), guard)
    assert table["message"].tolist() == [
        "bills.bill_month: 21,486 rows for 2026-10 tonight, 70% of the 30,696 for 2026-09 (at least 90%, "
        "guardrail.latest_period_share): the latest month is missing or cut short"
    ]
    assert blocks_publish(table, settings().alerts)


def test_without_a_share_the_latest_month_is_not_judged() -> None:
    table = period_table(ReferenceProfile((period_profile("bills.bill_month", MONTHS, (10, 0)),)), settings().guardrail)
    assert table["level"].tolist() == ["ok"]


def test_only_period_columns_get_a_row() -> None:
    guard = settings(guardrail={"latest_period_share": 0.9}).guardrail
    assert period_table(ReferenceProfile(()), guard).empty


@pytest.mark.parametrize(
    ("tonight", "days", "level"),
    [(date(2026, 9, 30), 31.0, GUARDRAIL), (date(2026, 10, 31), 0.0, "ok"), (date(2026, 11, 30), -30.0, "ok")],
)
def test_an_export_ending_before_the_one_the_last_night_read_is_a_guardrail(
    tonight: date, days: float, level: str
) -> None:
    table = data_end_table("bills.bill_month", tonight, date(2026, 10, 31), date(2026, 10, 31))
    row = table.iloc[0]
    assert (row["metric"], row["against"], row["value"], row["reference"], row["level"]) == (
        "data_end",
        "night of 2026-10-31",
        days,
        0.0,
        level,
    )
    if level == GUARDRAIL:
        assert row["message"] == (
            "bills.bill_month: tonight's export ends on 2026-09-30, 31 days before the 2026-10-31 of the export "
            "the night of 2026-10-31 read: a month it held is missing"
        )
