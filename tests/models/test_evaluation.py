"""Evaluation metrics on hand-built frames with exact expected values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.evaluation import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    gains_table,
    lift_and_capture,
    oracle_comparison,
    profit,
    roc_auc,
    sliced_metrics,
)
from tiercast.settings.evaluation import ProfitSettings


def test_roc_auc_exact_and_nan_for_one_class() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert math.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))


@pytest.mark.parametrize(("binning", "expected"), [("quantile", 0.25), ("uniform", 0.25)])
def test_ece_two_bins(binning: str, expected: float) -> None:
    """Bins {0.1, 0.3} (rate 0, mean 0.2) and {0.6, 0.8} (rate 1, mean 0.7): ECE = 0.5*0.2 + 0.5*0.3."""
    ece = expected_calibration_error([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8], bins=2, binning=binning)
    assert ece == pytest.approx(expected)


def test_equal_frequency_bins_hold_equal_counts() -> None:
    table = calibration_table([0, 1, 0, 1, 0, 1], [0.01, 0.02, 0.03, 0.9, 0.95, 0.99], bins=3)
    assert table["n"].tolist() == [2, 2, 2]
    assert table["observed"].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_lift_and_capture_top_share() -> None:
    """Given 2 churners in 10, the top-scored one a churner: top 10% has lift 5 and captures half."""
    y = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    p = [0.9, 0.8, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert lift_and_capture(y, p, 0.10) == (5.0, 0.5)
    assert lift_and_capture(y, p, 0.20) == (2.5, 0.5)


def economics(alpha: float, beta: float) -> ProfitSettings:
    return ProfitSettings(
        clv_cny=100, offer_cost_cny=10, contact_cost_cny=1, acceptance_alpha=alpha, acceptance_beta=beta, gamma_grid=200
    )


def test_profit_deterministic_mp() -> None:
    """Target the churner only: (0.5*(100-10) - 1) / 2 = 22 a customer; both: (44 - 11) / 2 = 16.5."""
    result = profit([1, 0], [0.9, 0.1], economics(50, 50))
    assert result["mp"] == pytest.approx(22.0)
    assert result["mp_share"] == 0.5
    assert result["mp_threshold"] == 0.9
    assert result["emp"] == pytest.approx(22.0, abs=0.05)  # gamma concentrated near 0.5


def test_profit_is_zero_when_no_one_is_worth_calling() -> None:
    result = profit([0, 0, 1], [0.9, 0.8, 0.1], economics(1, 99))
    assert result["mp"] == 0.0 and result["mp_share"] == 0.0 and math.isnan(result["mp_threshold"])


def test_classification_metrics_keys(settings) -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.3, 2000)
    y = (rng.uniform(size=2000) < p).astype(int)
    metrics = classification_metrics(y, p, settings.evaluation)
    assert {
        "roc_auc",
        "pr_auc",
        "brier",
        "ece",
        "lift_top10",
        "capture_top5",
        "capture_top20",
        "emp",
        "mp_share",
    } <= set(metrics)
    assert metrics["ece"] < 0.03  # p are the true probabilities


def test_sliced_metrics_by_tier_skip_absent_columns(settings) -> None:
    frame = pd.DataFrame(
        {"tier": ["high", "high", "low", "low", "low"], "churned": [1, 0, 1, 0, 0], "score": [0.9, 0.2, 0.6, 0.4, 0.7]}
    )
    evaluation = settings.evaluation.model_copy(update={"min_slice_rows": 3})
    table = sliced_metrics(frame, "churned", "score", evaluation)
    assert table["slice"].tolist() == ["tier", "tier"]  # no lifecycle_stage column: skipped
    low = table.set_index("value").loc["low"]
    assert low["roc_auc"] == 0.5 and low["n"] == 3
    assert table.set_index("value")["roc_auc"].isna().to_dict() == {
        "high": True,
        "low": False,
    }  # 2 rows < min: counts only


def test_oracle_ratio() -> None:
    result = oracle_comparison([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [0.1, 0.2, 0.3, 0.4])
    assert result == {"model_auc": 0.75, "oracle_auc": 1.0, "auc_ratio": 0.75}


def test_gains_table_ends_at_full_capture() -> None:
    table = gains_table([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], points=4)
    assert table["capture"].tolist() == [0.5, 0.5, 1.0, 1.0]
    assert table["share"].tolist() == [0.25, 0.5, 0.75, 1.0]
