"""Value score, tier cut-offs (quantile and absolute), list overrides, reasons and the flea-user flag."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.tiers import Cutoffs, assign_tiers, flea_flag, score_cutoffs, value_score
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
                "max_tenure_months": 6,
                "max_on_time_ratio": 0.0,
                "signals": [
                    {"column": "unpaid_bills", "op": ">=", "threshold": 1, "points": 1, "label": "{value:.0f} unpaid"},
                    {"column": "unpaid_bills", "op": ">=", "threshold": 2, "points": 1, "label": ""},
                    {
                        "column": "arrears_amount",
                        "op": ">=",
                        "threshold": 150,
                        "points": 1,
                        "label": "arrears {value:.0f}",
                    },
                    {
                        "column": "roaming_share",
                        "op": ">=",
                        "threshold": 0.15,
                        "points": 2,
                        "label": "roaming {value:.0%}",
                    },
                ],
                "min_points": 3,
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
        "roaming_share": [0.0] * n,
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
    quantiles = score_cutoffs(scores, tiers_settings().cutoffs)
    small_top = score_cutoffs(scores, tiers_settings(high_share=0.04, mid_share=0.46).cutoffs)
    assert (quantiles.high_min, quantiles.mid_min) == (9.0, 6.0)
    assert (small_top.high_min, small_top.mid_min) == (np.inf, 6.0)


def test_given_cutoffs_replace_the_configured_ones() -> None:
    # shard by shard: cut-offs computed over the whole base are passed in
    rows = frame([10.0, 20, 30])
    given = Cutoffs.given(39.0, 26.0, value_score(rows, tiers_settings().value_score))
    out = assign_tiers(rows, tiers_settings(), cutoffs=given)
    assert out["tier"].tolist() == ["low", "mid", "high"]


def test_cutoffs_are_a_declared_type_not_a_tuple() -> None:
    """A plain (high, mid) tuple once changed what "top k%" meant in the reasons without a word."""
    cutoffs = score_cutoffs(pd.Series([1.0, 2, 3]), tiers_settings().cutoffs)
    assert not isinstance(cutoffs, tuple)
    with pytest.raises(AttributeError):
        assign_tiers(frame([10.0]), tiers_settings(), cutoffs=(39.0, 26.0))  # type: ignore[arg-type]


def test_cutoffs_of_the_whole_base_give_a_shard_the_same_tiers_and_reasons() -> None:
    whole = frame([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    cutoffs = score_cutoffs(value_score(whole, tiers_settings().value_score), tiers_settings().cutoffs)
    shard = whole.iloc[[1, 8, 9]]
    out = assign_tiers(shard, tiers_settings(), cutoffs=pickle.loads(pickle.dumps(cutoffs)))
    expected = assign_tiers(whole, tiers_settings()).iloc[[1, 8, 9]]
    assert out["tier"].tolist() == ["low", "high", "high"]
    assert out["tier_reason"].tolist() == expected["tier_reason"].tolist()
    assert out["tier_reason"].iloc[1] == "high: ARPU 90 CNY top 20%, tenure 10y, credit 1.00"


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


def test_flea_reason_lists_the_signals_that_fired() -> None:
    features = frame(
        [60.0, 50], tenure_months=[5.0, 120], unpaid_bills=[3, 0], arrears_amount=[300.0, 0], on_time_ratio=[0.0, 1]
    )
    out = assign_tiers(features, tiers_settings())
    assert out["flea_flag"].tolist() == [True, False]
    assert out["tier_reason"].iloc[0] == (
        "low: ARPU 60 CNY top 100%, tenure 5m, credit 1.00; flea: tenure 5m, 3 unpaid, arrears 300"
    )


@pytest.mark.parametrize(
    ("tenure", "unpaid", "arrears", "on_time", "roaming", "expected"),
    [
        (5.0, 2, 150.0, 0.0, 0.0, True),  # two unpaid bills (2 points) and large arrears (1): 3 points
        (5.0, 2, 149.0, 0.0, 0.0, False),  # 2 points only
        (5.0, 1, 150.0, 0.0, 0.0, False),  # 2 points only
        (5.0, 1, 0.0, 0.0, 0.15, True),  # one unpaid bill and heavy roaming: 3 points
        (0.5, 0, 0.0, NAN, 0.15, False),  # no bill due yet, heavy roaming alone: 2 points
        (6.0, 2, 150.0, 0.0, 0.0, False),  # tenure not under 6 months: not a hopper
        (5.0, 2, 150.0, 0.01, 0.15, False),  # paid some bill on time: never a flea
    ],
)
def test_flea_flag_needs_short_tenure_no_on_time_record_and_enough_points(
    tenure: float, unpaid: int, arrears: float, on_time: float, roaming: float, expected: bool
) -> None:
    features = frame(
        [50.0],
        tenure_months=[tenure],
        unpaid_bills=[unpaid],
        arrears_amount=[arrears],
        on_time_ratio=[on_time],
        roaming_share=[roaming],
    )
    flag, _ = flea_flag(features, tiers_settings().flea)
    assert flag.tolist() == [expected]


LIGHT_USE = {"roaming_share": 0.0, "long_distance_share": 0.01, "voice_minutes_3m": 40.0, "data_mb_3m": 300.0}
HEAVY_USE = {"roaming_share": 0.6, "long_distance_share": 0.3, "voice_minutes_3m": 2000.0, "data_mb_3m": 90000.0}


@pytest.mark.parametrize("usage", [LIGHT_USE, HEAVY_USE], ids=["light_use", "heavy_use"])
def test_low_arpu_customer_with_perfect_payments_is_never_a_flea(settings, usage: dict[str, float]) -> None:
    # domain.md: low-ARPU loyal customers are not flea users (packaged defaults), whatever ARPU, tenure, usage
    grid = [(arpu, tenure) for arpu in (0.0, 0.5, 5.0, 19.0, 38.0, 49.9) for tenure in (0.5, 1.0, 5.0, 30.0, 200.0)]
    arpu = [a for a, _ in grid]
    columns = {name: [value] * len(grid) for name, value in usage.items()}
    features = frame(arpu, arpu_1m=arpu, arpu_6m=arpu, tenure_months=[t for _, t in grid], **columns)
    out = assign_tiers(features, settings.tiers)
    assert out["flea_flag"].sum() == 0


def test_packaged_flea_rule_does_flag_a_new_non_payer(settings) -> None:
    # the counterpart of the test above, so that it cannot pass with a rule that never fires
    usage = {name: [value] for name, value in HEAVY_USE.items()}
    features = frame([30.0], tenure_months=[3.0], on_time_ratio=[0.0], unpaid_bills=[2], arrears_amount=[60.0], **usage)
    assert assign_tiers(features, settings.tiers)["flea_flag"].tolist() == [True]


def test_flea_conditions_on_arpu_are_rejected() -> None:
    with pytest.raises(ValidationError, match="must not use ARPU"):
        FleaSettings.model_validate(
            {
                "max_tenure_months": 6,
                "max_on_time_ratio": 0.0,
                "signals": [{"column": "arpu_3m", "op": "<", "threshold": 20, "points": 1, "label": "x"}],
                "min_points": 1,
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
