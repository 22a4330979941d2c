from datetime import date

import pytest

from features.tenure import contract_months_left, tenure_months
from tests.features import frames

D = date(2025, 3, 31)


@pytest.mark.parametrize(
    ("activation", "months"),
    [("2025-03-31", 0.0), ("2025-01-01", 89 / 30.4375), ("2015-03-31", 3653 / 30.4375)],
)
def test_tenure_is_days_since_activation_over_average_month(activation: str, months: float) -> None:
    active = frames.subscribers({"subscriber_id": 1, "activation_date": activation})
    assert tenure_months(active, D).tolist() == [months]


def test_contract_months_left_are_zero_when_past_or_without_contract() -> None:
    active = frames.subscribers(
        {"subscriber_id": 1, "contract_end_date": "2025-06-30", "contract_type": "contract_12m"},
        {"subscriber_id": 2, "contract_end_date": "2025-03-01", "contract_type": "contract_24m"},
        {"subscriber_id": 3, "contract_end_date": None},
    )
    assert contract_months_left(active, D).tolist() == [91 / 30.4375, 0.0, 0.0]
