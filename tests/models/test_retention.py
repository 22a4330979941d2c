"""Retention lists: value at risk, exclusions, desk capacities, ordering and tier-specific offers."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.retention import (
    RETENTION_COLUMNS,
    capacity_used,
    exclusion_reason,
    rank_by_desk,
    retention_list,
    rounded_for_output,
    value_at_risk,
)
from pipelines.database import contract_columns
from tiercast.settings.retention import RetentionSettings

NAN = np.nan
AS_OF = date(2025, 6, 30)


def settings(**changes: Any) -> RetentionSettings:
    """Settings written out here so that tuning the packaged defaults does not move these tests."""
    data: dict[str, Any] = {
        "value_at_risk": {"arpu_column": "arpu_3m", "margin_share": 0.5, "remaining_months": 24},
        "min_value_at_risk": 0.0,
        "recent_retention_call_days": 30,
        "run_date_offset_days": 1,
        "value_decimals": 2,
        "score_decimals": 4,
        "desks": {
            "account_manager": {"tiers": ["high"], "daily_capacity": 2},
            "product": {"tiers": ["mid"], "daily_capacity": 2},
            "tariff": {"tiers": ["low"], "daily_capacity": 2},
        },
        "offers": [
            {"tier": "high", "when": {}, "action": "account manager call"},
            {"tier": "mid", "when": {}, "action": "fitting product"},
            {"tier": "low", "when": {"long_distance_share": {"ge": 0.3}}, "action": "IP long-distance pack"},
            {"tier": "low", "when": {"data_share": {"ge": 0.5}, "age": {"le": 30}}, "action": "data bundle"},
            {"tier": "low", "when": {}, "action": "cheaper plan"},
        ],
    }
    data.update(changes)
    return RetentionSettings.model_validate(data)


def scored(n: int, **columns: list[Any]) -> pd.DataFrame:
    """A scored frame of n callable low-tier rows unless the columns say otherwise."""
    base: dict[str, Any] = {
        "subscriber_key": [f"{i:064x}" for i in range(n)],
        "tier": ["low"] * n,
        "lifecycle_stage": ["stable"] * n,
        "churn_score": [0.5] * n,
        "arpu_3m": [50.0] * n,
        "is_black_list": [False] * n,
        "flea_flag": [False] * n,
        "do_not_contact": [False] * n,
        "days_since_retention_call": [NAN] * n,
        "churn_reasons": ["falling usage"] * n,
        "data_share": [0.1] * n,
        "long_distance_share": [0.0] * n,
        "age": [40.0] * n,
    }
    base.update(columns)
    frame = pd.DataFrame(base)
    return frame.astype({"tier": "str", "lifecycle_stage": "str", "subscriber_key": "str"})


def test_value_at_risk_is_probability_times_margin_times_months() -> None:
    frame = scored(3, churn_score=[0.2, 0.5, 0.9], arpu_3m=[100.0, 20.0, NAN])
    # given churn 0.2 and ARPU 100: 0.2 x 100 x 0.5 margin x 24 months = 240; unknown ARPU counts as 0
    assert value_at_risk(frame, settings()).tolist() == pytest.approx([240.0, 120.0, 0.0])


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("is_black_list", True, "black list"),
        ("flea_flag", True, "flea user"),
        ("do_not_contact", True, "do not contact"),
        ("days_since_retention_call", 10.0, "retention call in the last days"),
        ("days_since_retention_call", 30.0, "retention call in the last days"),
    ],
)
def test_excluded_subscribers_are_never_listed(column: str, value: Any, reason: str) -> None:
    frame = scored(3, churn_score=[0.9, 0.5, 0.4])
    frame.loc[0, column] = value
    assert exclusion_reason(frame, settings()).iloc[0] == reason
    listed = retention_list(frame, settings(), AS_OF, "run-1")
    assert frame.loc[0, "subscriber_key"] not in set(listed["subscriber_key"])
    assert len(listed) == 2


def test_a_retention_call_longer_ago_than_the_window_does_not_exclude() -> None:
    frame = scored(2, days_since_retention_call=[31.0, NAN])
    assert exclusion_reason(frame, settings()).isna().all()
    assert len(retention_list(frame, settings(), AS_OF, "run-1")) == 2


def test_ranked_by_value_at_risk_not_probability() -> None:
    # given a likely churner paying 20 CNY and a less likely one paying 200: the second is worth more
    frame = scored(3, churn_score=[0.9, 0.3, 0.6], arpu_3m=[20.0, 200.0, 50.0])
    listed = retention_list(frame, settings(desks={"tariff": {"tiers": ["low"], "daily_capacity": 5}}), AS_OF, "r")
    assert listed["subscriber_key"].tolist() == [
        frame.subscriber_key[1],
        frame.subscriber_key[2],
        frame.subscriber_key[0],
    ]
    assert listed["rank"].tolist() == [1, 2, 3]
    assert listed["value_at_risk"].tolist() == [720.0, 360.0, 216.0]


def test_each_desk_gets_its_tiers_up_to_its_daily_capacity() -> None:
    tiers = ["high"] * 3 + ["mid"] * 1 + ["low"] * 5
    frame = scored(9, tier=tiers, churn_score=[0.1 * (i + 1) for i in range(9)])
    listed = retention_list(frame, settings(), AS_OF, "run-1")
    assert listed.groupby("desk")["tier"].unique().map(list).to_dict() == {
        "account_manager": ["high"], "product": ["mid"], "tariff": ["low"]
    }  # fmt: skip
    assert listed["desk"].value_counts().to_dict() == {"account_manager": 2, "product": 1, "tariff": 2}
    assert capacity_used(listed, settings()) == {"account_manager": (2, 2), "product": (1, 2), "tariff": (2, 2)}
    # the two low-tier rows kept are the two with the highest value at risk
    assert listed.loc[listed.desk == "tariff", "churn_score"].tolist() == [0.9, 0.8]


def test_zero_capacity_desk_lists_nobody() -> None:
    desks = {"tariff": {"tiers": ["low"], "daily_capacity": 0}, "product": {"tiers": ["mid"], "daily_capacity": 1}}
    listed = retention_list(scored(3), settings(desks=desks), AS_OF, "run-1")
    assert listed.empty
    assert list(listed.columns) == list(RETENTION_COLUMNS)


@pytest.mark.parametrize(
    ("tier", "data_share", "long_distance_share", "age", "action"),
    [
        ("high", 0.9, 0.9, 20.0, "account manager call"),
        ("mid", 0.9, 0.0, 20.0, "fitting product"),
        ("low", 0.1, 0.4, 60.0, "IP long-distance pack"),
        ("low", 0.6, 0.0, 25.0, "data bundle"),
        ("low", 0.6, 0.0, 45.0, "cheaper plan"),
        ("low", 0.6, 0.0, NAN, "cheaper plan"),
    ],
)
def test_suggested_action_follows_tier_and_usage(
    tier: str, data_share: float, long_distance_share: float, age: float, action: str
) -> None:
    frame = scored(1, tier=[tier], data_share=[data_share], long_distance_share=[long_distance_share], age=[age])
    assert retention_list(frame, settings(), AS_OF, "run-1")["suggested_action"].tolist() == [action]


def test_columns_and_identity_match_the_contract() -> None:
    listed = retention_list(scored(2), settings(), AS_OF, "run-7")
    assert list(listed.columns) == contract_columns("retention_list")
    assert listed["run_date"].tolist() == [pd.Timestamp("2025-07-01")] * 2
    assert listed["as_of"].tolist() == [pd.Timestamp("2025-06-30")] * 2
    assert set(listed["run_id"]) == {"run-7"}
    assert listed["reasons"].tolist() == ["falling usage"] * 2


def test_each_tier_needs_one_desk_and_a_fallback_offer() -> None:
    with pytest.raises(ValueError, match="one retention desk"):
        settings(desks={"a": {"tiers": ["low"], "daily_capacity": 1}, "b": {"tiers": ["low"], "daily_capacity": 1}})
    with pytest.raises(ValueError, match="fallback offer"):
        settings(offers=[{"tier": "high", "when": {}, "action": "x"}])


def test_near_ties_pick_the_same_customer_ranked_whole_or_shard_by_shard() -> None:
    """Given 360.0012 and 360.0048 CNY at risk in two shards and one call a day: the larger wins both ways
    (ranking on values rounded to fen would call them equal and fall back on the key)."""
    config = settings(desks={"account_manager": {"tiers": ["high"], "daily_capacity": 1}})
    rows = pd.DataFrame(
        {
            "desk": ["account_manager", "account_manager"],
            "value_at_risk": [360.0012, 360.0048],
            "churn_score": [0.300001, 0.300004],
            "subscriber_key": ["0" * 64, "f" * 64],  # the smaller key would win a rounded tie
        }
    )

    whole = rank_by_desk(rows, config)
    shard_a, shard_b = rank_by_desk(rows.iloc[[0]], config), rank_by_desk(rows.iloc[[1]], config)
    merged = rank_by_desk(pd.concat([shard_a, shard_b], ignore_index=True), config)

    assert whole["subscriber_key"].tolist() == merged["subscriber_key"].tolist() == ["f" * 64]
    assert rounded_for_output(merged, config)["value_at_risk"].tolist() == [360.0]


@pytest.mark.parametrize("rows", [scored(0), scored(2, do_not_contact=[True, True])], ids=["empty", "none-callable"])
def test_a_shard_with_no_candidates_gives_an_empty_list(rows: pd.DataFrame) -> None:
    listed = retention_list(rows, settings(), AS_OF, "run-1")

    assert listed.empty
    assert list(listed.columns) == list(RETENTION_COLUMNS)
    assert rank_by_desk(listed, settings()).empty
