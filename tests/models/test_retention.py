"""Retention lists: value at risk, exclusions, desk capacities, ordering and tier-specific offers."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.control_groups import campaign_group
from models.retention import (
    RETENTION_COLUMNS,
    UpliftTargeting,
    capacity_used,
    control_share,
    exclusion_reason,
    rank_by_desk,
    ranking_of,
    retention_list,
    rounded_for_output,
    to_call,
    value_at_risk,
    value_if_lost,
)
from pipelines.database import contract_columns
from tiercast.settings.retention import RetentionSettings

NAN = np.nan
AS_OF = date(2025, 6, 30)
KEY = b"tiercast-test-key-32-bytes-long!"


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
    # what each is worth if kept, before the churn probability: 100 x 0.5 x 24 = 1,200; 20 x 0.5 x 24 = 240
    assert value_if_lost(frame, settings()).tolist() == [1200.0, 240.0, 0.0]


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
    listed = retention_list(frame, settings(), AS_OF, "run-1", KEY)
    assert frame.loc[0, "subscriber_key"] not in set(listed["subscriber_key"])
    assert len(listed) == 2


def test_a_retention_call_longer_ago_than_the_window_does_not_exclude() -> None:
    frame = scored(2, days_since_retention_call=[31.0, NAN])
    assert exclusion_reason(frame, settings()).isna().all()
    assert len(retention_list(frame, settings(), AS_OF, "run-1", KEY)) == 2


def test_ranked_by_value_at_risk_not_probability() -> None:
    # given a likely churner paying 20 CNY and a less likely one paying 200: the second is worth more
    frame = scored(3, churn_score=[0.9, 0.3, 0.6], arpu_3m=[20.0, 200.0, 50.0])
    config = settings(desks={"tariff": {"tiers": ["low"], "daily_capacity": 5}})
    listed = retention_list(frame, config, AS_OF, "r", KEY)
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
    listed = retention_list(frame, settings(), AS_OF, "run-1", KEY)
    assert listed.groupby("desk")["tier"].unique().map(list).to_dict() == {
        "account_manager": ["high"], "product": ["mid"], "tariff": ["low"]
    }  # fmt: skip
    assert listed["desk"].value_counts().to_dict() == {"account_manager": 2, "product": 1, "tariff": 2}
    assert capacity_used(listed, settings()) == {"account_manager": (2, 2), "product": (1, 2), "tariff": (2, 2)}
    # the two low-tier rows kept are the two with the highest value at risk
    assert listed.loc[listed.desk == "tariff", "churn_score"].tolist() == [0.9, 0.8]


def test_zero_capacity_desk_lists_nobody() -> None:
    desks = {"tariff": {"tiers": ["low"], "daily_capacity": 0}, "product": {"tiers": ["mid"], "daily_capacity": 1}}
    listed = retention_list(scored(3), settings(desks=desks), AS_OF, "run-1", KEY)
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
    assert retention_list(frame, settings(), AS_OF, "run-1", KEY)["suggested_action"].tolist() == [action]


def test_columns_and_identity_match_the_contract() -> None:
    listed = retention_list(scored(2), settings(), AS_OF, "run-7", KEY)
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
    listed = retention_list(rows, settings(), AS_OF, "run-1", KEY)

    assert listed.empty
    assert list(listed.columns) == list(RETENTION_COLUMNS)
    assert rank_by_desk(listed, settings()).empty


# --- control groups ----------------------------------------------------------------------------------------


def test_group_is_the_keyed_draw_for_the_run_date() -> None:
    # given 40 listed customers and a 50% share; then each one's group is models.control_groups' draw for
    # run_date (as_of + 1 day), and the list is the same 40 customers whatever their group
    config = settings(control_share=0.5, desks={"tariff": {"tiers": ["low"], "daily_capacity": 40}})
    listed = retention_list(scored(40), config, AS_OF, "run-1", KEY)
    expected = campaign_group(listed["subscriber_key"], date(2025, 7, 1), KEY, 0.5)
    assert listed["group"].tolist() == expected.tolist()
    assert set(listed["group"]) == {"treated", "control"}
    assert len(listed) == 40 and listed["rank"].tolist() == list(range(1, 41))


def test_control_group_is_drawn_among_those_who_would_be_listed() -> None:
    # given capacity 30 of 100 candidates; then the 30 listed are those of a list without control group
    frame = scored(100, churn_score=list(np.linspace(0.1, 0.9, 100)))
    with_controls = retention_list(frame, settings(control_share=0.5), AS_OF, "run-1", KEY)
    without = retention_list(frame, settings(control_share=0.0), AS_OF, "run-1", KEY)
    columns = ["desk", "rank", "subscriber_key"]
    pd.testing.assert_frame_equal(with_controls[columns], without[columns])
    assert set(without["group"]) == {"treated"}


def test_a_desk_may_set_its_own_share() -> None:
    desks = {
        "account_manager": {"tiers": ["high"], "daily_capacity": 50, "control_share": 0.0},
        "product": {"tiers": ["mid"], "daily_capacity": 50},
        "tariff": {"tiers": ["low"], "daily_capacity": 50, "control_share": 0.99},
    }
    config = settings(control_share=0.5, desks=desks)
    assert control_share(pd.Series(["tariff", "product", "account_manager"]), config).tolist() == [0.99, 0.5, 0.0]
    frame = scored(150, tier=["high"] * 50 + ["mid"] * 50 + ["low"] * 50)
    listed = retention_list(frame, config, AS_OF, "run-1", KEY)
    control = (listed["group"] == "control").groupby(listed["desk"]).sum().to_dict()
    assert control["account_manager"] == 0 and 10 < control["product"] < 40 and control["tariff"] >= 45


def test_control_share_must_be_below_one() -> None:
    with pytest.raises(ValueError, match="control_share"):
        settings(control_share=1.0)


def test_the_desks_call_the_treated_only() -> None:
    listed = retention_list(scored(40), settings(control_share=0.5), AS_OF, "run-1", KEY)
    calls = to_call(listed)
    assert set(calls["group"]) == {"treated"}
    assert len(calls) == (listed["group"] == "treated").sum() < len(listed)


def test_groups_are_the_same_ranked_whole_or_shard_by_shard() -> None:
    config = settings(control_share=0.3, desks={"tariff": {"tiers": ["low"], "daily_capacity": 10}})
    frame = scored(40, churn_score=list(np.linspace(0.1, 0.9, 40)))
    whole = retention_list(frame, config, AS_OF, "run-1", KEY)
    shards = [retention_list(part, config, AS_OF, "run-1", KEY) for part in (frame.iloc[::2], frame.iloc[1::2])]
    merged = rank_by_desk(pd.concat(shards, ignore_index=True), config).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged[list(RETENTION_COLUMNS)], whole)


# --- uplift targeting (issue 14, item 6) -----------------------------------------------------------------


OFFER_MULTIPLIER = {"discount": 1.0, "data_bonus": 0.5}


class OfferUplift:
    """An uplift model stub: uplift = the row's `effect` x the offer's multiplier (the offer is a feature)."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return x["effect"].to_numpy(dtype="float64") * x["offer"].map(OFFER_MULTIPLIER).to_numpy(dtype="float64")


def targeting(**changes: Any) -> UpliftTargeting:
    data: dict[str, Any] = {"model": OfferUplift(), "offers": ("discount", "data_bonus"), "offer_costs": {}}
    return UpliftTargeting(**(data | changes))


def test_without_an_uplift_champion_the_list_is_todays_ranking() -> None:
    rows = scored(3, churn_score=[0.2, 0.9, 0.5])

    listed = retention_list(rows, settings(desks={"tariff": {"tiers": ["low"], "daily_capacity": 3}}), AS_OF, "r", KEY)

    assert listed["ranking"].tolist() == ["churn_value"] * 3
    assert listed["incremental_value"].isna().all()
    assert listed["churn_score"].tolist() == [0.9, 0.5, 0.2]
    assert ranking_of(listed) == "churn_value"


def test_uplift_ranks_by_incremental_value_and_leaves_out_sleeping_dogs() -> None:
    """Given effects 0.1, -0.2 (a call wakes a sleeping dog) and 0.3 with a high churn score on the sleeping dog:
    the uplift list calls 2 (largest effect) then 0, never 1, whatever its churn score."""
    rows = scored(3, churn_score=[0.1, 0.99, 0.2]).assign(effect=[0.1, -0.2, 0.3])
    config = settings(desks={"tariff": {"tiers": ["low"], "daily_capacity": 3}})

    listed = retention_list(rows, config, AS_OF, "r", KEY, targeting())

    assert listed["subscriber_key"].tolist() == [f"{2:064x}", f"{0:064x}"]
    assert listed["ranking"].tolist() == ["uplift", "uplift"]
    # value if lost = 50 x 0.5 x 24 = 600 CNY; discount x 1.0 is the best offer
    assert listed["incremental_value"].tolist() == pytest.approx([0.3 * 600, 0.1 * 600])
    assert ranking_of(listed) == "uplift"


def test_each_customer_gets_the_offer_worth_most_net_of_cost_and_the_reason_names_it() -> None:
    """Given a discount costing 100 CNY and a free data bonus: at uplift 0.3 (600 CNY if lost) the discount nets
    80 and the bonus 90, so the bonus is offered, and the reason says so."""
    rows = scored(1).assign(effect=[0.3])

    listed = retention_list(rows, settings(), AS_OF, "r", KEY, targeting(offer_costs={"discount": 100.0}))

    assert listed["suggested_action"].tolist() == ["data_bonus"]
    assert listed["incremental_value"].tolist() == pytest.approx([90.0])
    assert listed["reasons"].iloc[0].startswith("likely to respond to: data_bonus (churn -15.0 points")
    assert listed["reasons"].iloc[0].endswith("; falling usage")


def test_a_customer_not_worth_the_offer_is_not_listed() -> None:
    rows = scored(2).assign(effect=[0.001, 0.2])

    listed = retention_list(rows, settings(), AS_OF, "r", KEY, targeting(min_incremental_value=1.0))

    assert listed["subscriber_key"].tolist() == [f"{1:064x}"]


def test_uplift_lists_are_the_same_ranked_whole_or_shard_by_shard() -> None:
    rows = scored(6).assign(effect=[0.05, 0.3, -0.1, 0.2, 0.25, 0.01])
    config = settings(desks={"tariff": {"tiers": ["low"], "daily_capacity": 3}})

    whole = retention_list(rows, config, AS_OF, "r", KEY, targeting())
    shards = [retention_list(rows.iloc[part], config, AS_OF, "r", KEY, targeting()) for part in ([0, 1, 2], [3, 4, 5])]
    merged = rank_by_desk(pd.concat(shards, ignore_index=True), config)

    assert merged["subscriber_key"].tolist() == whole["subscriber_key"].tolist() == [f"{i:064x}" for i in (1, 4, 3)]
    assert merged["rank"].tolist() == [1, 2, 3]
