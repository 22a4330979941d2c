from datetime import date

import pandas as pd
import pytest

from features.labels import churn_labels
from tests.features import frames

D = date(2025, 3, 31)


@pytest.mark.parametrize(
    ("deactivation", "reason", "active", "churned"),
    [
        (None, None, True, False),
        ("2025-03-31", "voluntary", False, None),  # left on D: not active at D, no label
        ("2025-04-01", "voluntary", True, True),  # D + 1
        ("2025-05-30", "non_payment", True, True),  # D + 60: the horizon's last day
        ("2025-05-31", "voluntary", True, False),  # D + 61
    ],
)
def test_churned_means_deactivated_within_the_horizon_after_d(
    deactivation: str | None, reason: str | None, active: bool, churned: bool | None
) -> None:
    subscribers = frames.subscribers(
        {"subscriber_id": 5, "deactivation_date": deactivation, "deactivation_reason": reason}
    )
    labels = churn_labels(subscribers, D, horizon_days=60)
    assert list(labels.columns) == ["subscriber_id", "churned", "churn_reason"]
    assert len(labels) == int(active)
    if active:
        assert labels["churned"].tolist() == [churned]
        assert labels["churn_reason"].iloc[0] == reason if churned else pd.isna(labels["churn_reason"].iloc[0])


def test_labels_cover_active_subscribers_sorted_with_bool_dtype() -> None:
    subscribers = frames.subscribers(
        {"subscriber_id": 9, "deactivation_date": "2025-04-10", "deactivation_reason": "non_payment"},
        {"subscriber_id": 2, "activation_date": "2025-04-01"},  # joins after D
        {"subscriber_id": 4},
    )
    labels = churn_labels(subscribers, D, horizon_days=30)
    assert labels["subscriber_id"].tolist() == [4, 9]
    assert labels["churned"].dtype == bool
    assert labels["churned"].tolist() == [False, True]
    assert labels["churn_reason"].iloc[1] == "non_payment"
