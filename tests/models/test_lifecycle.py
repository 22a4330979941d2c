"""Lifecycle stage rules, their precedence, and hysteresis between yesterday's and today's stage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.lifecycle import assign_stages
from tiercast.settings.lifecycle import LifecycleSettings

NAN = np.nan


def cond(column: str, op: str, threshold: float, margin: float, label: str) -> dict[str, Any]:
    return {"column": column, "op": op, "threshold": threshold, "margin": margin, "label": label}


def lifecycle_settings(precedence: tuple[str, ...] = ("warning", "identification", "growth")) -> LifecycleSettings:
    """Rules written out here so that tuning the packaged defaults does not move these tests."""
    return LifecycleSettings.model_validate(
        {
            "precedence": precedence,
            "identification": [cond("tenure_months", "<", 6, 0, "tenure {value:.0f}m")],
            "warning": [
                cond("arpu_trend", "<=", -0.20, 0.10, "spend {value:+.0%}"),
                cond("complaints_30d", ">=", 2, 1, "{value:.0f} complaints"),
                cond("churn_score", ">=", 0.5, 0.1, "churn score {value:.2f}"),
            ],
            "growth": [cond("arpu_trend", ">=", 0.10, 0.05, "spend {value:+.0%}")],
        }
    )


def frame(**columns: list[Any]) -> pd.DataFrame:
    """Customers of 3 years with flat spend and no complaints unless the columns say otherwise."""
    n = len(next(iter(columns.values())))
    base: dict[str, Any] = {
        "subscriber_id": list(range(1, n + 1)),
        "tenure_months": [36.0] * n,
        "arpu_trend": [0.0] * n,
        "complaints_30d": [0] * n,
    }
    return pd.DataFrame({**base, **columns})


@pytest.mark.parametrize(
    ("columns", "stage", "reason"),
    [
        ({"tenure_months": [5.9]}, "identification", "identification: tenure 6m"),
        ({"tenure_months": [6.0]}, "stable", "stable: no warning or growth sign"),
        ({"arpu_trend": [-0.20]}, "warning", "warning: spend -20%"),
        ({"arpu_trend": [-0.19]}, "stable", "stable: no warning or growth sign"),
        ({"complaints_30d": [2]}, "warning", "warning: 2 complaints"),
        ({"complaints_30d": [1]}, "stable", "stable: no warning or growth sign"),
        ({"arpu_trend": [0.10]}, "growth", "growth: spend +10%"),
        ({"arpu_trend": [0.09]}, "stable", "stable: no warning or growth sign"),
        ({"arpu_trend": [NAN]}, "stable", "stable: no warning or growth sign"),  # no trend yet: no sign
        ({"arpu_trend": [-0.5], "complaints_30d": [3]}, "warning", "warning: spend -50%, 3 complaints"),
    ],
)
def test_each_rule_at_its_threshold(columns: dict[str, list[Any]], stage: str, reason: str) -> None:
    out = assign_stages(frame(**columns), lifecycle_settings())
    assert (out["lifecycle_stage"].iloc[0], out["lifecycle_reason"].iloc[0]) == (stage, reason)


def test_precedence_warning_then_identification_then_growth() -> None:
    features = frame(tenure_months=[3.0, 3.0, 36.0], arpu_trend=[-0.3, 0.5, 0.5], complaints_30d=[0, 0, 0])
    out = assign_stages(features, lifecycle_settings())
    assert out["lifecycle_stage"].tolist() == ["warning", "identification", "growth"]


def test_precedence_comes_from_config() -> None:
    features = frame(tenure_months=[3.0, 3.0, 36.0], arpu_trend=[-0.3, 0.5, 0.5], complaints_30d=[0, 0, 0])
    out = assign_stages(features, lifecycle_settings(("identification", "growth", "warning")))
    assert out["lifecycle_stage"].tolist() == ["identification", "identification", "growth"]


def test_precedence_must_name_each_stage_once() -> None:
    with pytest.raises(ValidationError, match="precedence"):
        lifecycle_settings(("warning", "warning", "growth"))


# Spend trends inside and outside the hysteresis bands: warning enters at <= -20% and holds while
# <= -10%; growth enters at >= +10% and holds while >= +5%.
TRENDS = [-0.25, -0.15, -0.05, 0.07, 0.12]


@pytest.mark.parametrize(
    ("yesterday", "expected"),
    [
        (None, ["warning", "stable", "stable", "stable", "growth"]),
        ("stable", ["warning", "stable", "stable", "stable", "growth"]),
        ("warning", ["warning", "warning", "stable", "stable", "growth"]),
        ("growth", ["warning", "stable", "stable", "growth", "growth"]),
        ("identification", ["warning", "stable", "stable", "stable", "growth"]),
    ],
)
def test_hysteresis_keeps_yesterdays_stage_within_the_margin(yesterday: str | None, expected: list[str]) -> None:
    features = frame(arpu_trend=TRENDS)
    previous = (
        None
        if yesterday is None
        else pd.DataFrame({"subscriber_id": [1, 2, 3, 4, 5], "lifecycle_stage": [yesterday] * 5})
    )
    out = assign_stages(features, lifecycle_settings(), previous=previous)
    assert out["lifecycle_stage"].tolist() == expected


def test_held_stage_says_so_and_new_subscribers_have_no_memory() -> None:
    features = frame(arpu_trend=[-0.15, -0.15, -0.15], complaints_30d=[0, 1, 0])
    previous = pd.DataFrame({"subscriber_id": [1, 2, 99], "lifecycle_stage": ["warning", "warning", "warning"]})
    out = assign_stages(features, lifecycle_settings(), previous=previous)
    assert out["lifecycle_stage"].tolist() == ["warning", "warning", "stable"]
    assert out["lifecycle_reason"].tolist() == [
        "warning (held): spend -15%",
        "warning (held): spend -15%, 1 complaints",
        "stable: no warning or growth sign",
    ]


def test_a_day_by_day_sequence_flips_only_on_clear_moves() -> None:
    # one subscriber over five days: -25% enters warning, -15% and -11% hold it, -9% leaves, -15% does not re-enter
    stages = []
    previous = None
    for trend in [-0.25, -0.15, -0.11, -0.09, -0.15]:
        out = assign_stages(frame(arpu_trend=[trend]), lifecycle_settings(), previous=previous)
        stages.append(out["lifecycle_stage"].iloc[0])
        previous = out[["subscriber_id", "lifecycle_stage"]]
    assert stages == ["warning", "warning", "warning", "stable", "stable"]


def test_churn_score_counts_only_when_given() -> None:
    features = frame(arpu_trend=[0.0, 0.0, 0.0])
    scores = pd.Series([0.7, 0.45, 0.2], index=[1, 2, 3])
    previous = pd.DataFrame({"subscriber_id": [2], "lifecycle_stage": ["warning"]})
    without = assign_stages(features, lifecycle_settings(), previous=previous)
    given = assign_stages(features, lifecycle_settings(), previous=previous, churn_score=scores)
    assert without["lifecycle_stage"].tolist() == ["stable", "stable", "stable"]
    assert given["lifecycle_stage"].tolist() == ["warning", "warning", "stable"]
    assert given["lifecycle_reason"].iloc[0] == "warning: churn score 0.70"
    assert "churn_score" not in given.columns


def test_churn_score_row_by_row_for_repeated_subscribers() -> None:
    # training holdouts hold several snapshots of one subscriber: scores then go row by row
    features = frame(arpu_trend=[0.0, 0.0, 0.0]).assign(subscriber_id=[7, 7, 8])
    by_row = pd.Series([0.9, 0.1, 0.6], index=features.index)
    expected = ["warning", "stable", "warning"]
    assert assign_stages(features, lifecycle_settings(), churn_score=by_row)["lifecycle_stage"].tolist() == expected
    as_array = by_row.to_numpy()
    assert assign_stages(features, lifecycle_settings(), churn_score=as_array)["lifecycle_stage"].tolist() == expected
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        assign_stages(features, lifecycle_settings(), churn_score=as_array[:2])


def test_a_missing_rule_column_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="complaints_30d"):
        assign_stages(frame(arpu_trend=[0.0]).drop(columns="complaints_30d"), lifecycle_settings())


def test_packaged_rules_run_on_every_interface_column(settings) -> None:
    # the defaults name only feature-table columns (docs/interfaces.md) plus churn_score
    features = frame(
        tenure_months=[2.0, 40.0, 40.0, 40.0],
        arpu_trend=[NAN, -0.4, 0.3, 0.0],
        usage_trend=[NAN, 0.0, 0.0, 0.0],
        complaints_30d=[0, 0, 0, 0],
        cancel_intent_90d=[0, 0, 0, 0],
        arrears_amount=[0.0, 0.0, 0.0, 0.0],
    )
    out = assign_stages(features, settings.lifecycle)
    assert out["lifecycle_stage"].tolist() == ["identification", "warning", "growth", "stable"]
