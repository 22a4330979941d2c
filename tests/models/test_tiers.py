"""Value score, tier cut-offs (quantile and absolute), list overrides, reasons and the flea-user flag."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.tiers import assign_tiers, flea_flag, score_cutoffs, value_score
from tiercast.settings.tiers import CutoffSettings, FleaSettings, TiersSettings, ValueScoreSettings

NAN = np.nan


def tiers_settings(**cutoffs: Any) -> TiersSettings:
    """Settings written out here so that tuning the packaged defaults does not move these tests."""
    return TiersSettings(
        value_score=ValueScoreSettings(
            arpu_column="arpu_3m", tenure_weight=0.3, tenure_cap_months=60, credit_weight=0.5
        ),
        cutoffs=CutoffSettings(
            **{
                "mode": "quantile",
                "high_share": 0.2,
                "mid_share": 0.3,
                "high_min_cny": 100,
                "mid_min_cny": 50,
                **cutoffs,
            }
        ),
        flea=FleaSettings.model_validate(
            {
                "require": [{"column": "tenure_months", "op": "<", "threshold": 24, "label": "tenure {value:.0f}m"}],
                "signals": [
                    {"column": "unpaid_bills", "op": ">=", "threshold": 1, "label": "{value:.0f} unpaid bills"},
                    {"column": "arrears_amount", "op": ">=", "threshold": 100, "label": "arrears {value:.0f} CNY"},
                    {"column": "on_time_ratio", "op": "<", "threshold": 0.5, "label": "on-time {value:.0%}"},
                ],
                "min_signals": 2,
            }
        ),
    )


def frame(arpu: list[float], **columns: list[Any]) -> pd.DataFrame:
    """A feature frame with good payers of 10 years' tenure unless the columns say otherwise."""
    n = len(arpu)
    base: dict[str, Any] = {
        "subscriber_id": list(range(1, n + 1)),
        "arpu_3m": arpu,
        "tenure_months": [120.0] * n,
        "credit_score": [1.0] * n,
        "list_flag": [None] * n,
        "unpaid_bills": [0] * n,
        "arrears_amount": [0.0] * n,
        "on_time_ratio": [1.0] * n,
    }
    base.update(columns)
    out = pd.DataFrame(base)
    out["list_flag"] = out["list_flag"].astype("str")
    return out


@pytest.mark.parametrize(
    ("arpu", "tenure", "credit", "expected"),
    [
        (100.0, 30.0, 0.8, 100 * 1.15 * 0.9),  # half the tenure cap: +15%; credit 0.8: -10%
        (100.0, 600.0, 1.0, 130.0),  # tenure capped at 60 months: +30%
        (100.0, 0.0, 0.0, 50.0),  # credit 0 halves
        (NAN, 60.0, 1.0, 0.0),  # no known bill: ARPU 0
        (80.0, 0.0, NAN, 80.0),  # unknown credit is neutral
    ],
)
def test_value_score_is_arpu_times_tenure_and_credit_factors(
    arpu: float, tenure: float, credit: float, expected: float
) -> None:
    features = frame([arpu], tenure_months=[tenure], credit_score=[credit])
    assert value_score(features, tiers_settings().value_score).iloc[0] == pytest.approx(expected)


def test_quantile_cutoffs_give_top_20_high_next_30_mid() -> None:
    # given ten good payers with distinct ARPU, when tiered by 20/30/50 quantiles, then 2 high, 3 mid, 5 low
    features = frame([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    out = assign_tiers(features, tiers_settings())
    assert out["tier"].tolist() == ["low"] * 5 + ["mid"] * 3 + ["high"] * 2


@pytest.mark.parametrize(
    ("arpu", "expected"),
    [
        ([50.0, 50, 30, 20, 10], ["high", "high", "mid", "low", "low"]),  # tie at the high cut: both high
        ([50.0, 40, 40, 40, 10], ["high", "mid", "mid", "mid", "low"]),  # tie across the mid cut: all mid
        ([7.0, 7, 7, 7, 7], ["high"] * 5),  # everyone equal: one tier
    ],
)
def test_equal_scores_share_a_tier(arpu: list[float], expected: list[str]) -> None:
    assert assign_tiers(frame(arpu), tiers_settings())["tier"].tolist() == expected


def test_absolute_cutoffs_compare_value_score_with_cny() -> None:
    # value scores 130, 100, 99.99..., 50, 49 (10-year good payers: ARPU x 1.3)
    features = frame([100.0, 100 / 1.3, 99.99 / 1.3, 50 / 1.3, 49 / 1.3])
    out = assign_tiers(features, tiers_settings(mode="absolute", high_min_cny=100, mid_min_cny=50))
    assert out["tier"].tolist() == ["high", "high", "mid", "mid", "low"]


def test_quantile_cutoffs_are_read_off_the_scores() -> None:
    scores = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert score_cutoffs(scores, tiers_settings().cutoffs) == (9.0, 6.0)
    assert score_cutoffs(scores, tiers_settings(high_share=0.04, mid_share=0.46).cutoffs) == (np.inf, 6.0)


def test_given_cutoffs_replace_the_configured_ones() -> None:
    # shard by shard: cut-offs computed over the whole base are passed in
    out = assign_tiers(frame([10.0, 20, 30]), tiers_settings(), cutoffs=(39.0, 26.0))
    assert out["tier"].tolist() == ["low", "mid", "high"]


def test_red_list_is_high_whatever_the_score_and_black_list_keeps_its_score_tier() -> None:
    features = frame(
        [100.0, 90, 80, 70, 60, 50, 40, 30, 20, 10],
        list_flag=[None, None, None, None, None] + ["black"] * 2 + [None, None, "red"],
    )
    out = assign_tiers(features, tiers_settings())
    assert out["tier"].tolist() == ["high", "high", "mid", "mid", "mid", "low", "low", "low", "low", "high"]
    assert out["is_red_list"].tolist() == [False] * 9 + [True]
    assert out["is_black_list"].tolist() == [False] * 5 + [True, True] + [False] * 3
    assert out["tier_reason"].iloc[9] == "high: red list (ARPU 10 CNY)"
    assert out["tier_reason"].iloc[5] == "low: ARPU 50 CNY top 60%, tenure 10y, credit 1.00; black list"


def test_reasons_name_arpu_rank_tenure_and_credit() -> None:
    features = frame(
        [312.0, 100, 50, 20, NAN],
        tenure_months=[110.0, 30, 11.9, 12, 0.5],
        credit_score=[0.98, 0.5, 1.0, 0.25, NAN],
    )
    assert assign_tiers(features, tiers_settings())["tier_reason"].tolist() == [
        "high: ARPU 312 CNY top 20%, tenure 9y, credit 0.98",
        "mid: ARPU 100 CNY top 40%, tenure 2y, credit 0.50",
        "mid: ARPU 50 CNY top 60%, tenure 11m, credit 1.00",
        "low: ARPU 20 CNY top 80%, tenure 1y, credit 0.25",
        "low: no bill yet, tenure 0m, credit n/a",
    ]


def test_flea_reason_lists_the_conditions_that_fired() -> None:
    features = frame(
        [60.0, 50], tenure_months=[5.0, 120], unpaid_bills=[3, 0], arrears_amount=[300.0, 0], on_time_ratio=[0.8, 1]
    )
    out = assign_tiers(features, tiers_settings())
    assert out["flea_flag"].tolist() == [True, False]
    assert out["tier_reason"].iloc[0] == (
        "low: ARPU 60 CNY top 100%, tenure 5m, credit 1.00; flea: tenure 5m, 3 unpaid bills, arrears 300 CNY"
    )


@pytest.mark.parametrize(
    ("tenure", "unpaid", "arrears", "on_time", "expected"),
    [
        (5.0, 3, 300.0, 0.2, True),  # new, unpaid, large arrears, late: flea
        (5.0, 1, 100.0, 1.0, True),  # exactly two signals at their thresholds
        (5.0, 1, 99.0, 1.0, False),  # one signal only
        (24.0, 3, 300.0, 0.2, False),  # tenure not under 24 months: not a hopper
        (5.0, 0, 0.0, NAN, False),  # no payment history yet: no evidence
        (5.0, 0, 150.0, 0.4, True),  # arrears and late payer, all bills partly paid
    ],
)
def test_flea_flag_needs_short_tenure_and_two_payment_signals(
    tenure: float, unpaid: int, arrears: float, on_time: float, expected: bool
) -> None:
    features = frame(
        [50.0], tenure_months=[tenure], unpaid_bills=[unpaid], arrears_amount=[arrears], on_time_ratio=[on_time]
    )
    flag, _ = flea_flag(features, tiers_settings().flea)
    assert flag.tolist() == [expected]


@pytest.mark.parametrize("arpu", [0.0, 0.5, 5.0, 19.0, 38.0, 49.9])
@pytest.mark.parametrize("tenure", [1.0, 6.0, 30.0, 200.0])
def test_low_arpu_customer_with_perfect_payments_is_never_a_flea(settings, arpu: float, tenure: float) -> None:
    # domain.md: low-ARPU loyal customers are not flea users; packaged defaults, whatever ARPU and tenure
    features = frame(
        [arpu],
        arpu_1m=[arpu],
        arpu_6m=[arpu],
        tenure_months=[tenure],
        months_in_arrears=[0],
        days_late_mean=[0.0],
        days_late_max=[0.0],
    )
    features = pd.concat([features] * 2, ignore_index=True).assign(subscriber_id=[1, 2])
    out = assign_tiers(features, settings.tiers)
    assert out["flea_flag"].tolist() == [False, False]


def test_flea_conditions_on_arpu_are_rejected() -> None:
    with pytest.raises(ValidationError, match="must not use ARPU"):
        FleaSettings.model_validate(
            {
                "require": [],
                "signals": [{"column": "arpu_3m", "op": "<", "threshold": 20, "label": "x"}],
                "min_signals": 1,
            }
        )


def test_assign_tiers_adds_the_interface_columns_and_leaves_the_input_alone() -> None:
    features = frame([30.0, 20, 10])
    before = features.copy()
    out = assign_tiers(features, tiers_settings())
    pd.testing.assert_frame_equal(features, before)
    added = ["value_score", "tier", "is_red_list", "is_black_list", "flea_flag", "tier_reason"]
    assert list(out.columns) == [*before.columns, *added]
    assert [str(out[c].dtype) for c in added] == ["float64", "str", "bool", "bool", "bool", "str"]
