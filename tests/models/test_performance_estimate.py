"""Label-free performance estimates (CBPE) and realised performance: exact cases and a coverage simulation."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from models.performance_estimate import (
    OVERALL,
    band_distance,
    estimated_performance,
    expected_roc_auc,
    performance_comparison,
    realised_performance,
    top_k_mask,
)
from tiercast.settings.monitoring import EstimateSettings, MonitoringSettings


def estimate_settings(**changes: object) -> EstimateSettings:
    """Settings written out here so that tuning the packaged defaults does not move these tests."""
    values = {
        "band_level": 0.95,
        "draws": 400,
        "subsample": 100_000,
        "seed": 7,
        "lift_share": 0.1,
        "ece_bins": 2,
        "auc_drop": 0.03,
        "churn_rate_bands": 2.0,
        "churn_rate_ratio": 0.1,
    }
    return EstimateSettings.model_validate({**values, **changes})


def packaged() -> EstimateSettings:
    """The estimate settings as shipped (tiercast/defaults/monitoring.yaml)."""
    text = (resources.files("tiercast") / "defaults" / "monitoring.yaml").read_text()
    return MonitoringSettings.model_validate(yaml.safe_load(text)).estimate


def pairwise_auc(p: np.ndarray) -> float:
    """Independent O(n^2) CBPE: expected churner/stayer pairs ranked right (ties half, self-pairs included)."""
    above = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    return float((p[:, None] * (1 - p[None, :]) * above).sum() / (p.sum() * (1 - p).sum()))


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # ROC through (0.1, 0.9): 0.1 * 0.9 / 2 + 0.9 * (0.9 + 1) / 2
        ([0.9, 0.1], 0.9),
        ([0.3, 0.3, 0.3, 0.3], 0.5),
        # tie at 0.8: ROC through (1/3, 8/9): 4/27 + 17/27
        ([0.8, 0.2, 0.8], 7 / 9),
        ([1.0, 1.0, 0.0, 0.0], 1.0),
    ],
)
def test_expected_roc_auc_exact(scores: list[float], expected: float) -> None:
    assert expected_roc_auc(scores) == pytest.approx(expected, rel=1e-12)


def test_expected_roc_auc_is_nan_when_no_churn_is_expected() -> None:
    assert np.isnan(expected_roc_auc([0.0, 0.0]))


def test_expected_roc_auc_equals_the_pairwise_count_with_ties() -> None:
    p = np.random.default_rng(3).integers(0, 40, 300) / 40  # many ties
    assert expected_roc_auc(p) == pytest.approx(pairwise_auc(p), rel=1e-12)


def test_top_k_mask_breaks_ties_in_row_order() -> None:
    assert top_k_mask([0.2, 0.5, 0.5, 0.1], 2).tolist() == [False, True, True, False]
    assert top_k_mask([0.5, 0.5, 0.5], 1).tolist() == [True, False, False]


def test_estimates_overall_and_per_group_exact() -> None:
    """List = top 2 (0.9, 0.6): precision 1.5 / 2, recall 1.5 / 2.0; group a's part of it is 0.9 of 1.2."""
    scores = [0.9, 0.6, 0.3, 0.2]
    groups = pd.Series(["a", "b", "a", "b"], index=[10, 11, 12, 13])
    table = estimated_performance(scores, estimate_settings(), 2, groups)
    assert table.columns.tolist() == ["group", "metric", "estimate", "low", "high", "n"]
    estimate = table.set_index(["group", "metric"])["estimate"]
    assert estimate[(OVERALL, "precision_at_k")] == pytest.approx(0.75)
    assert estimate[(OVERALL, "recall_at_k")] == pytest.approx(0.75)
    assert estimate[(OVERALL, "churn_rate")] == pytest.approx(0.5)
    assert estimate[("a", "precision_at_k")] == pytest.approx(0.9)
    assert estimate[("a", "recall_at_k")] == pytest.approx(0.75)
    assert estimate[("b", "churn_rate")] == pytest.approx(0.4)
    assert table["group"].unique().tolist() == [OVERALL, "a", "b"]
    assert table.groupby("group", sort=False)["n"].first().tolist() == [4, 2, 2]


def test_groups_come_in_category_order() -> None:
    tiers = pd.Series(pd.Categorical(["low", "high", "mid", "low"], ["high", "mid", "low"]))
    table = estimated_performance([0.1, 0.8, 0.4, 0.2], estimate_settings(), 1, tiers)
    assert table["group"].unique().tolist() == [OVERALL, "high", "mid", "low"]


def test_groups_must_match_the_scores_row_for_row() -> None:
    with pytest.raises(ValueError, match="3 rows for 4 scores"):
        estimated_performance([0.1, 0.2, 0.3, 0.4], estimate_settings(), 1, pd.Series(["a", "b", "a"]))


def test_certain_scores_give_a_band_of_width_zero() -> None:
    table = estimated_performance([1.0, 1.0, 0.0, 0.0], estimate_settings(), 2).set_index("metric")
    band = table[["estimate", "low", "high"]]
    assert list(band.loc["roc_auc"]) == [1.0, 1.0, 1.0]
    assert list(band.loc["churn_rate"]) == [0.5, 0.5, 0.5]


def test_band_brackets_the_estimate_and_is_seeded() -> None:
    p = np.random.default_rng(5).beta(2, 8, 1000)
    first = estimated_performance(p, estimate_settings(), 50)
    assert (first["low"] < first["estimate"]).all() and (first["estimate"] < first["high"]).all()
    pd.testing.assert_frame_equal(first, estimated_performance(p, estimate_settings(), 50))


def test_subsampled_band_keeps_the_width_of_the_full_band() -> None:
    """Draws on 2,000 of 8,000 rows, distances scaled by sqrt(1/4): about the width of draws on all 8,000."""
    p = np.random.default_rng(9).beta(2, 8, 8000)
    full = estimated_performance(p, estimate_settings(), 400).set_index("metric")
    sub = estimated_performance(p, estimate_settings(subsample=2000), 400).set_index("metric")
    pd.testing.assert_series_equal(full["estimate"], sub["estimate"])
    ratio = (sub["high"] - sub["low"]) / (full["high"] - full["low"])
    assert ratio.between(0.8, 1.25).all(), ratio


def test_realised_auc_falls_in_the_band_in_95_percent_of_200_label_draws() -> None:
    """Issue 12 acceptance: 2,000 calibrated scores, 200 label draws y ~ Bernoulli(p), the shipped 95% band.

    A 95% band covers 95% of draws on average, so a given seed passes ">= 190 of 200" about half the
    time; the next test checks the coverage itself, both ways, on 1,000 draws.
    """
    rng = np.random.default_rng(12)
    p = rng.beta(2, 8, 2000)
    band = estimated_performance(p, packaged(), 100).set_index("metric").loc["roc_auc"]
    realised = np.array([roc_auc_score(rng.random(p.size) < p, p) for _ in range(200)])
    inside = np.mean((band["low"] <= realised) & (realised <= band["high"]))
    assert inside >= 0.95
    assert abs(band["estimate"] - realised.mean()) < 0.002  # CBPE is the expected AUC up to a 1/n term


def test_band_coverage_is_nominal_neither_too_narrow_nor_too_wide() -> None:
    """5 score sets x 200 label draws: coverage of the 95% band within 93-97% (about 3 binomial SDs)."""
    rng = np.random.default_rng(2024)
    inside: list[bool] = []
    for _ in range(5):
        p = rng.beta(1.5, 6, 2000)
        band = estimated_performance(p, packaged(), 100).set_index("metric").loc["roc_auc"]
        realised = np.array([roc_auc_score(rng.random(p.size) < p, p) for _ in range(200)])
        inside += ((band["low"] <= realised) & (realised <= band["high"])).tolist()
    assert 0.93 <= np.mean(inside) <= 0.97


def test_realised_performance_exact() -> None:
    """y 1,0,1,0 on 0.9, 0.6, 0.3, 0.2: 3 of 4 pairs right; top 2 holds one churner; top 10% (1 row) lift 2."""
    table = realised_performance([1, 0, 1, 0], [0.9, 0.6, 0.3, 0.2], estimate_settings(), 2)
    assert table.columns.tolist() == ["group", "metric", "value", "n"]
    assert dict(zip(table["metric"], table["value"], strict=True)) == pytest.approx(
        {
            "roc_auc": 0.75,
            "pr_auc": (1 + 2 / 3) / 2,
            "ece": 0.25,  # bins {0.2, 0.3}: rate 0.5 vs 0.25; {0.6, 0.9}: 0.5 vs 0.75
            "lift_top10": 2.0,
            "precision_at_k": 0.5,
            "recall_at_k": 0.5,
            "churn_rate": 0.5,
        }
    )


def test_realised_performance_per_group() -> None:
    groups = pd.Series(["a", "a", "b", "b"])
    table = realised_performance([1, 0, 1, 0], [0.9, 0.6, 0.3, 0.2], estimate_settings(), 2, groups)
    value = table.set_index(["group", "metric"])["value"]
    assert value[("a", "roc_auc")] == 1.0
    assert value[("a", "precision_at_k")] == 0.5
    assert np.isnan(value[("b", "precision_at_k")])  # nobody of b on the list
    assert value[("b", "recall_at_k")] == 0.0  # its churner is not on the list


@pytest.mark.parametrize(
    ("realised", "low", "level"),
    [
        (0.75, 0.76, "significant"),  # 0.05 below the estimate and below the band
        (0.78, 0.76, "ok"),  # 0.02 below: within auc_drop
        (0.76, 0.70, "ok"),  # 0.04 below but inside a wide (small group's) band
    ],
)
def test_realised_auc_far_below_the_estimate_alarms(realised: float, low: float, level: str) -> None:
    estimated = pd.DataFrame(
        {"group": ["high"], "metric": ["roc_auc"], "estimate": [0.80], "low": [low], "high": [0.84], "n": [500]}
    )
    truth = pd.DataFrame(
        {"group": ["high", "high"], "metric": ["roc_auc", "pr_auc"], "value": [realised, 0.3], "n": [500, 500]}
    )
    table = performance_comparison(estimated, truth, estimate_settings())
    assert table["metric"].tolist() == ["roc_auc", "pr_auc"]
    assert table["level"].tolist() == [level, "ok"]
    assert table["n"].tolist() == [500, 500]
    if level == "significant":
        assert (
            table["message"].iloc[0] == "high: realised ROC AUC 0.750 is 0.050 below the estimate 0.800 made that night"
        )


@pytest.mark.parametrize(
    ("realised", "level"),
    [
        (0.0260, "significant"),  # +30%, 3 half-widths above
        (0.0140, "significant"),  # -30%, 3 half-widths below (low side: 0.02 - 0.018 = 0.002 a half-width)
        (0.0215, "ok"),  # +7.5%: 0.75 half-widths
        (0.0235, "ok"),  # +17.5% but 1.75 half-widths: a small tier's noise
    ],
)
def test_realised_churn_rate_far_from_the_estimate_alarms(realised: float, level: str) -> None:
    estimated = pd.DataFrame(
        {"group": ["high"], "metric": ["churn_rate"], "estimate": [0.02], "low": [0.018], "high": [0.022], "n": [9000]}
    )
    truth = pd.DataFrame({"group": ["high"], "metric": ["churn_rate"], "value": [realised], "n": [9000]})
    table = performance_comparison(estimated, truth, estimate_settings())
    assert table["level"].tolist() == [level]
    if level == "significant" and realised > 0.02:
        assert table["message"].iloc[0] == (
            "high: realised churn rate 2.60% against 2.00% expected from that night's scores (+30%, 3.0 band"
            " half-widths): the scores no longer match who leaves"
        )


def test_a_small_relative_miss_does_not_alarm_however_narrow_the_band() -> None:
    estimated = pd.DataFrame(
        {
            "group": ["all"],
            "metric": ["churn_rate"],
            "estimate": [0.034],
            "low": [0.0339],
            "high": [0.0341],
            "n": [10**7],
        }
    )
    truth = pd.DataFrame({"group": ["all"], "metric": ["churn_rate"], "value": [0.036], "n": [10**7]})  # +5.9%
    assert performance_comparison(estimated, truth, estimate_settings())["level"].tolist() == ["ok"]


def test_band_distance_counts_half_widths_on_the_realised_side() -> None:
    distance = band_distance([0.6, 0.4, 0.5, 0.7], [0.5, 0.5, 0.5, 0.5], [0.45, 0.45, 0.45, 0.5], [0.6, 0.6, 0.6, 0.5])
    assert distance[:3].tolist() == pytest.approx([1.0, 2.0, 0.0])
    assert np.isnan(distance[3])  # no width above the estimate
