"""Campaign effect: churn treated vs control, lift, customers and value saved, bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.campaign_effect import campaign_effect_report, campaign_effects

DAY = pd.Timestamp("2026-01-05")


def members() -> pd.DataFrame:
    """Offer a: treated 4 (1 churner worth 100), control 2 (1 churner worth 80); offer b: treated 3 (none),
    control 2 (both churn, 20 each)."""
    return pd.DataFrame(
        {
            "campaign_date": DAY,
            "desk": "tariff",
            "tier": "low",
            "offer": ["a"] * 6 + ["b"] * 5,
            "group": ["treated"] * 4 + ["control"] * 2 + ["treated"] * 3 + ["control"] * 2,
            "churned": [True, False, False, False, True, False, False, False, False, True, True],
            "value": [100.0, 50.0, 50.0, 50.0, 80.0, 20.0, 5.0, 5.0, 5.0, 20.0, 20.0],
        }
    )


def test_point_values_per_offer() -> None:
    table = campaign_effects(members(), n_boot=50).set_index("offer")
    # offer a: churn 1/4 treated vs 1/2 control; value lost 100/4 = 25 vs 80/2 = 40 per member; 4 treated
    a = table.loc["a"]
    assert (a["n_treated"], a["n_control"]) == (4, 2)
    assert (a["churn_rate_treated"], a["churn_rate_control"]) == (0.25, 0.5)
    assert (a["lift"], a["relative_lift"], a["customers_saved"], a["value_saved"]) == (0.25, 0.5, 1.0, 60.0)
    # offer b: 0/3 vs 2/2; value lost 0 vs 20 per member
    b = table.loc["b"]
    assert (b["lift"], b["relative_lift"], b["customers_saved"], b["value_saved"]) == (1.0, 1.0, 3.0, 60.0)


def test_a_certain_outcome_has_a_degenerate_interval() -> None:
    # offer b: nobody treated churns, every control does, all worth 20: every replicate is the same
    b = campaign_effects(members(), n_boot=200).set_index("offer").loc["b"]
    for name, value in {"lift": 1.0, "customers_saved": 3.0, "value_saved": 60.0}.items():
        assert (b[f"{name}_low"], b[name], b[f"{name}_high"]) == (value, value, value)


def test_overall_row_pools_the_segments() -> None:
    overall = campaign_effects(members(), by=(), n_boot=50).iloc[0]
    # treated 7 with one churner (100); control 4 with three (80 + 20 + 20)
    assert (overall["n_treated"], overall["n_control"]) == (7, 4)
    assert overall["lift"] == pytest.approx(0.75 - 1 / 7)
    assert overall["customers_saved"] == pytest.approx((0.75 - 1 / 7) * 7)
    assert overall["value_saved"] == pytest.approx((120 / 4 - 100 / 7) * 7)  # = 110


def test_report_stacks_the_levels() -> None:
    report = campaign_effect_report(members(), n_boot=20)
    assert report["level"].tolist() == ["campaign_date x desk x tier x offer"] * 2 + [
        "campaign_date x desk",
        "campaign_date",
        "overall",
    ]
    assert report["offer"].isna().tolist() == [False, False, True, True, True]
    assert report["n_treated"].tolist() == [4, 3, 7, 7, 7]


def test_a_segment_without_controls_has_no_effect() -> None:
    frame = members().assign(group="treated")
    row = campaign_effects(frame, by=(), n_boot=20).iloc[0]
    assert row["n_control"] == 0
    assert np.isnan(row["lift"]) and np.isnan(row["lift_low"]) and np.isnan(row["value_saved_high"])


def test_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        campaign_effects(members().assign(group="called"), n_boot=10)


def test_same_seed_same_intervals() -> None:
    first = campaign_effects(members(), n_boot=100, seed=4)
    pd.testing.assert_frame_equal(first, campaign_effects(members(), n_boot=100, seed=4))


def simulated_campaign(seed: int, n: int = 20_000, control_share: float = 0.05) -> pd.DataFrame:
    """Two desks; churn 10% without a call, 7% with; value ~ lognormal(mean 150 CNY), independent of churn."""
    rng = np.random.default_rng(seed)
    control = rng.random(n) < control_share
    churned = rng.random(n) < np.where(control, 0.10, 0.07)
    return pd.DataFrame(
        {
            "campaign_date": DAY,
            "desk": rng.choice(["product", "tariff"], size=n),
            "tier": "low",
            "offer": "cheaper plan",
            "group": np.where(control, "control", "treated"),
            "churned": churned,
            "value": rng.lognormal(np.log(150.0) - 0.5, 1.0, size=n),  # mean exp(mu + 1/2) = 150
        }
    )


def test_interval_covers_the_true_effect_in_at_least_18_of_20_repetitions() -> None:
    # true effect: 3 points of churn; customers saved 0.03 x n_treated; value saved 0.03 x 150 x n_treated
    covered = {"lift": 0, "customers_saved": 0, "value_saved": 0}
    for seed in range(20):
        frame = simulated_campaign(seed)
        n_treated = int((frame["group"] == "treated").sum())
        truth = {"lift": 0.03, "customers_saved": 0.03 * n_treated, "value_saved": 0.03 * 150.0 * n_treated}
        row = campaign_effects(frame, by=(), n_boot=1000, seed=seed).iloc[0]
        for name, true_value in truth.items():
            covered[name] += int(row[f"{name}_low"] <= true_value <= row[f"{name}_high"])
    assert min(covered.values()) >= 18, covered


def test_many_segments_at_once_match_one_at_a_time() -> None:
    # the vectorised draw gives each segment the same point values as computing it alone
    frame = simulated_campaign(1, n=4_000)
    both = campaign_effects(frame, by=("desk",), n_boot=10).set_index("desk")
    alone = campaign_effects(frame[frame["desk"] == "tariff"], by=("desk",), n_boot=10).set_index("desk")
    for column in ("n_treated", "n_control", "lift", "customers_saved", "value_saved"):
        assert both.loc["tariff", column] == pytest.approx(alone.loc["tariff", column])
