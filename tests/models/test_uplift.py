"""Uplift model (two-model, X-learner and Lo's lift model) and the gate against churn probability x value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.churn import MissingFeaturesError
from models.uplift import UpliftModel, uplift_gate
from tiercast.errors import ModelError


@dataclass(frozen=True)
class Campaign:
    """A simulated campaign's customers: features, called or not, churned, value, truth."""

    x: pd.DataFrame
    treated: np.ndarray
    churned: np.ndarray
    value: np.ndarray
    p0: np.ndarray
    effect: np.ndarray


def world(kind: str, n: int, seed: int, control_share: float = 0.3) -> Campaign:
    """Simulated past campaign: churn without a call 5-35% by `risk`; a call's effect (churn removed) is
    heterogeneous (price-sensitive customers respond, very loyal ones are woken up: sleeping dogs) or
    proportional to churn risk; value ~ lognormal (mean 600 CNY)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "price_sensitivity": rng.random(n),
            "loyalty": rng.random(n),
            "risk": rng.random(n),
            "noise": rng.random(n),
            "plan": rng.choice(["prepaid", "contract"], size=n),
        }
    )
    p0 = 0.05 + 0.30 * x["risk"].to_numpy()
    if kind == "heterogeneous":
        effect = 0.25 * x["price_sensitivity"].to_numpy() ** 2 - 0.15 * (x["loyalty"].to_numpy() > 0.8)
    else:
        effect = 0.4 * p0
    treated = rng.random(n) >= control_share
    churned = rng.random(n) < np.where(treated, np.clip(p0 - effect, 0.0, 1.0), p0)
    value = rng.lognormal(np.log(600.0) - 0.18, 0.6, n)
    return Campaign(x, treated, churned, value, p0, effect)


def fitted(train: Campaign, method: str) -> UpliftModel:
    return UpliftModel(method=method).fit(train.x, train.treated, ~train.churned)


@pytest.fixture(scope="module")
def heterogeneous() -> tuple[Campaign, dict[str, np.ndarray]]:
    """The held-out campaign of the heterogeneous world and each learner's predictions, trained on another."""
    train, held_out = world("heterogeneous", 20_000, 1), world("heterogeneous", 20_000, 2)
    return held_out, {method: fitted(train, method).predict(held_out.x) for method in ("t", "x", "lo")}


@pytest.mark.parametrize("method", ["t", "x", "lo"])
def test_learner_finds_who_responds_and_who_is_woken_up(heterogeneous, method: str) -> None:
    held_out, predictions = heterogeneous
    predicted = predictions[method]
    truth = np.asarray(held_out.effect)
    assert np.corrcoef(predicted, truth)[0, 1] > 0.6
    sleeping = np.asarray(held_out.x["loyalty"] > 0.8)
    assert predicted[sleeping].mean() < 0.0 < predicted[~sleeping].mean()


@pytest.mark.parametrize("method", ["t", "x", "lo"])
def test_gate_passes_a_learner_where_uplift_is_heterogeneous(heterogeneous, method: str) -> None:
    held_out, predictions = heterogeneous
    predicted = predictions[method]
    gate = uplift_gate(predicted, held_out.p0, held_out.value, held_out.treated, held_out.churned, n_boot=200, seed=0)
    assert gate.passed, gate
    assert gate.qini_low > 0.0 and gate.value_qini_gain_low > 0.0
    assert gate.value_qini_uplift > gate.value_qini_churn_value


@pytest.mark.parametrize("method", ["x", "lo"])
def test_gate_falls_back_to_churn_times_value_where_the_effect_is_proportional_to_risk(method: str) -> None:
    train, held_out = world("proportional", 20_000, 1), world("proportional", 20_000, 2)
    predicted = fitted(train, method).predict(held_out.x)
    gate = uplift_gate(predicted, held_out.p0, held_out.value, held_out.treated, held_out.churned, n_boot=200, seed=0)
    # the learner does find who responds (risky customers), but cannot rank better than churn x value
    assert gate.qini_low > 0.0
    assert not gate.passed
    assert gate.value_qini_gain_low <= 0.0
    assert gate.reason.startswith("keep churn x value")


def test_gate_refuses_a_random_ranking() -> None:
    held_out = world("heterogeneous", 20_000, 2)
    noise = np.random.default_rng(9).random(20_000)
    gate = uplift_gate(noise, held_out.p0, held_out.value, held_out.treated, held_out.churned, n_boot=100)
    assert not gate.passed and gate.qini_low < 0.0


def test_estimator_contract_and_determinism() -> None:
    train = world("heterogeneous", 3_000, 4)
    model = UpliftModel(method="x", n_estimators=30, random_state=7)
    assert clone(model).get_params() == model.get_params()
    y = ~train.churned
    assert model.fit(train.x, train.treated, y) is model
    again = UpliftModel(method="x", n_estimators=30, random_state=7).fit(train.x, train.treated, y)
    np.testing.assert_array_equal(model.predict(train.x), again.predict(train.x))
    assert model.feature_names_in_.tolist() == ["price_sensitivity", "loyalty", "risk", "noise", "plan"]
    assert model.propensity_ == pytest.approx(np.mean(train.treated))
    # columns in another order, an extra column and an unseen category score the same rows
    shuffled = train.x.iloc[:5][["plan", "noise", "risk", "loyalty", "price_sensitivity"]].assign(extra=1)
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(train.x.iloc[:5]))
    assert np.isfinite(model.predict(train.x.iloc[:5].assign(plan="unknown"))).all()


def test_missing_feature_and_one_sided_data_are_refused() -> None:
    train = world("heterogeneous", 2_000, 4)
    y = ~train.churned
    model = UpliftModel(method="t", n_estimators=10).fit(train.x, train.treated, y)
    with pytest.raises(MissingFeaturesError, match="risk"):
        model.predict(train.x.drop(columns="risk"))
    with pytest.raises(ModelError, match="both treated and control"):
        UpliftModel().fit(train.x, np.ones(2_000, dtype=bool), y)
    with pytest.raises(ModelError, match="method"):
        UpliftModel(method="s").fit(train.x, train.treated, y)
