"""Behaviour of the true hazard: each warning sign raises it, loyalty and contracts lower it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tiercast.synthetic.hazard import Observables, non_payment_probabilities, sigmoid, voluntary_logits
from tiercast.synthetic.payments import Standing


def _observables(**changes: Any) -> Observables:
    """Two lines: line 0 a plain 3-year prepaid line, line 1 the same with `changes` applied."""
    base: dict[str, Any] = {
        "arpu": 30.0,
        "arpu_trend": 0.0,
        "usage_trend": 0.0,
        "volatility": 0.1,
        "complaints_1m": 0,
        "complaints_3m": 0,
        "cancel_intents_1m": 0,
        "cancel_intents_3m": 0,
        "retention_call_2m": False,
        "tenure_months": 36.0,
        "contract_left": np.nan,
        "prepaid": True,
        "young": False,
        "senior": False,
        "business": False,
        "red": False,
    }
    standing = {"overdue": 0, "arrears": 0.0, "paid_any": True, "late_share": 0.0}
    columns = {name: np.array([value, changes.get(name, value)]) for name, value in base.items()}
    paid = {name: np.array([value, changes.get(name, value)]) for name, value in standing.items()}
    return Observables(**columns, standing=Standing(**paid))


def _voluntary(obs: Observables, generator_settings) -> np.ndarray:
    return sigmoid(voluntary_logits(obs, generator_settings, np.zeros(2))[0])


@pytest.mark.parametrize(
    "changes",
    [
        {"arpu": 15.0},
        {"arpu_trend": -0.4},
        {"usage_trend": -0.5},
        {"complaints_1m": 2, "complaints_3m": 2},
        {"cancel_intents_1m": 1, "cancel_intents_3m": 1},
        {"overdue": 1, "arrears": 30.0},
        {"tenure_months": 2.0},
        {"young": True},
        {"contract_left": 0.5, "prepaid": False},
    ],
)
def test_warning_signs_raise_the_voluntary_hazard(generator_settings, changes: dict[str, Any]) -> None:
    p = _voluntary(_observables(**changes), generator_settings)
    assert p[1] > p[0]


@pytest.mark.parametrize(
    "changes",
    [
        {"arpu": 150.0},
        {"tenure_months": 120.0},
        {"contract_left": 12.0, "prepaid": False},
        {"red": True},
        {"retention_call_2m": True},
    ],
)
def test_value_loyalty_and_contracts_lower_the_voluntary_hazard(generator_settings, changes: dict[str, Any]) -> None:
    p = _voluntary(_observables(**changes), generator_settings)
    assert p[1] < p[0]


def test_a_month_later_the_contract_end_and_tenure_move(generator_settings) -> None:
    obs = _observables(contract_left=1.5, prepaid=False)
    now, later = voluntary_logits(obs, generator_settings, np.zeros(2))
    assert later[1] > now[1]  # the contract end comes within a month: more likely to leave
    assert later[0] < now[0]  # a month more tenure: less likely


@pytest.mark.parametrize(
    ("overdue", "expected"),
    [(0, "zero"), (1, "zero"), (2, "between"), (3, "one")],
)
def test_suspension_needs_unpaid_bills_and_is_certain_at_the_threshold(
    generator_settings, overdue: int, expected: str
) -> None:
    assert generator_settings.suspend_after_unpaid_bills == 3
    obs = _observables(overdue=overdue, arrears=50.0 * overdue, paid_any=False, late_share=1.0)
    p = non_payment_probabilities(obs, generator_settings)[0][1]
    assert {"zero": p == 0.0, "between": 0.0 < p < 1.0, "one": p == 1.0}[expected]


def test_good_payment_history_earns_grace(generator_settings) -> None:
    flea_like = _observables(overdue=2, arrears=400.0, paid_any=False, late_share=1.0, tenure_months=3.0)
    loyal = _observables(overdue=2, arrears=60.0, paid_any=True, late_share=0.1, tenure_months=96.0)
    p_flea = non_payment_probabilities(flea_like, generator_settings)[0][1]
    p_loyal = non_payment_probabilities(loyal, generator_settings)[0][1]
    assert p_flea > 0.6 > 0.2 > p_loyal
