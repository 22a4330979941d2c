"""Reason codes: plain words from the customer's own values, only for risk-raising features."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.lifecycle import new_customer_months
from models.reasons import describe, reason_codes
from tiercast.settings import load_settings


@pytest.mark.parametrize(
    ("feature", "value", "expected"),
    [
        ("months_in_arrears", 2.0, "arrears 2 months"),
        ("months_in_arrears", 1, "arrears 1 month"),
        ("complaints_30d", 3, "3 complaints in 30 days"),
        ("complaints_30d", 1, "1 complaint in 30 days"),
        ("arpu_trend", -0.4, "spend down 40%"),
        ("usage_trend", 0.25, "usage up 25%"),
        ("tenure_months", 40.0, "tenure 40 months"),
        ("arrears_amount", 1234.0, "owes 1,234 CNY"),
        ("days_since_retention_call", math.nan, "never had a retention call"),
        ("plan", "prepaid_19", "plan prepaid_19"),
        ("mystery_score", 0.123456, "mystery score 0.1235"),
        ("mystery_flag", None, "mystery flag unknown"),
    ],
)
def test_describe(feature: str, value: object, expected: str) -> None:
    assert describe(feature, value) == expected


def test_new_customer_wording_follows_the_identification_stage_setting() -> None:
    """ "New customer" means the identification stage's tenure limit, read from the lifecycle settings."""
    lifecycle = load_settings(environ={}).lifecycle
    limit = new_customer_months(lifecycle)
    assert limit == 6  # tiercast/defaults/lifecycle.yaml: identification while tenure_months < 6
    assert describe("tenure_months", 2.2, limit) == "new customer (2 months)"
    assert describe("tenure_months", 7.0, limit) == "tenure 7 months"
    assert describe("tenure_months", 7.0, 9) == "new customer (7 months)"


class FixedContributions:
    """A stand-in model whose contributions are given."""

    def __init__(self, contributions: pd.DataFrame) -> None:
        self.frame = contributions

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        return self.frame


def test_reason_codes_rank_only_risk_raising_features() -> None:
    """Given contributions, when explaining, then the top 3 positive ones are worded, largest first."""
    x = pd.DataFrame(
        {
            "months_in_arrears": [2.0, 0.0],
            "complaints_30d": [3, 0],
            "tenure_months": [2.0, 50.0],
            "arpu_trend": [-0.4, 0.1],
        }
    )
    contrib = pd.DataFrame(
        {
            "months_in_arrears": [0.9, -0.5],
            "complaints_30d": [0.3, -0.2],
            "tenure_months": [0.5, -0.1],
            "arpu_trend": [0.1, 0.2],
        }
    )
    reasons = reason_codes(FixedContributions(contrib), x, top_k=3, new_customer_months=6)
    assert reasons.name == "churn_reasons"
    assert reasons.tolist() == [
        "arrears 2 months; new customer (2 months); 3 complaints in 30 days",
        "spend up 10%",
    ]


def test_reason_codes_name_real_features_of_a_fitted_model() -> None:
    from models.churn import ChurnModel
    from tests.models.test_churn import churn_frame

    x, y = churn_frame(2000, seed=5)
    model = ChurnModel(n_estimators=40, early_stopping_rounds=0, n_jobs=1).fit(x, y)
    reasons = reason_codes(model, x.head(50))
    words = {"arrears", "complaint", "tenure", "new customer", "noise", "plan", "region"}
    parts = [part for text in reasons for part in text.split("; ") if part]
    assert parts and all(any(w in part for w in words) for part in parts)
    assert all(len(text.split("; ")) <= 3 for text in reasons)
