"""Lo's true lift model (models.lift_model) and UpliftModel(method="lo")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.lift_model import encode, fit_encoding, offer_matrix
from models.uplift import UpliftModel

OFFER_STRENGTH = {"discount": 1.5, "none": 0.3}  # multiplier of the persuadables' effect per offer


def campaign(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Simulated campaign: `complaints` > 0 marks persuadables (a call lowers their churn logit by 1.5 x the offer's
    strength), `loyal` ones are sleeping dogs (+1.2), the rest do not respond; risk drives churn without a call.
    Returns features, treated (70%), stayed and the true effect on staying of each row's offer."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "risk": rng.normal(size=n),
            "complaints": rng.poisson(0.4, n).astype("float64"),
            "loyal": (rng.random(n) < 0.15).astype("float64"),
            "noise": rng.normal(size=n),
            "plan": rng.choice(["prepaid", "contract"], n),
            "offer": rng.choice(list(OFFER_STRENGTH), n),
        }
    )
    persuadable = (x["complaints"] > 0) & (x["loyal"] == 0)
    strength = x["offer"].map(OFFER_STRENGTH).to_numpy()
    shift = np.where(persuadable, -1.5 * strength, 0.0) + np.where(x["loyal"] == 1, 1.2, 0.0)
    logit = -1.5 + 0.8 * x["risk"].to_numpy()
    p0, p1 = 1 / (1 + np.exp(-logit)), 1 / (1 + np.exp(-(logit + shift)))
    treated = rng.random(n) < 0.7
    churned = rng.random(n) < np.where(treated, p1, p0)
    return x, treated, ~churned, p0 - p1


@pytest.fixture(scope="module")
def lifted() -> tuple[pd.DataFrame, np.ndarray, UpliftModel]:
    x, treated, stayed, _ = campaign(30_000, 1)
    model = UpliftModel(method="lo", n_estimators=40, num_leaves=7, lift_folds=3).fit(x, treated, stayed)
    held_out, _, _, effect = campaign(10_000, 2)
    return held_out, effect, model


def test_lift_model_recovers_the_sign_of_the_effect_per_segment(lifted) -> None:
    held_out, effect, model = lifted
    predicted = model.predict(held_out)
    persuadable = ((held_out["complaints"] > 0) & (held_out["loyal"] == 0)).to_numpy()
    sleeping = (held_out["loyal"] == 1).to_numpy()
    assert predicted[sleeping].mean() < 0.0 < predicted[persuadable].mean()
    assert np.corrcoef(predicted, effect)[0, 1] > 0.7
    top = np.argsort(-predicted)[: persuadable.sum() // 2]
    assert persuadable[top].mean() > 0.95  # persuadables are ranked first


def test_offers_with_different_true_effects_get_different_predictions(lifted) -> None:
    held_out, _, model = lifted
    persuadable = held_out[(held_out["complaints"] > 0) & (held_out["loyal"] == 0)]
    discount = model.predict(persuadable.assign(offer="discount"))
    none = model.predict(persuadable.assign(offer="none"))
    assert discount.mean() > 2.0 * none.mean() > 0.0
    assert (discount > none).mean() > 0.9


def test_encoding_imputes_flags_missing_standardises_and_one_hot_encodes() -> None:
    # given a numeric column with one missing value and a text column
    train = pd.DataFrame(
        {
            "arpu": [10.0, np.nan, 30.0, 50.0],
            "plan": pd.Categorical(["a", "b", "a", "a"]),
            "offer": pd.Categorical(["x", "y", "x", "y"]),
        }
    )
    encoding = fit_encoding(train, "offer", n_bins=0)
    z = encode(train, encoding)
    # then: arpu (median 30 imputed), its missing flag, plan one-hot a / b; each standardised; offer left out
    raw = np.array([[10, 0, 1, 0], [30, 1, 0, 1], [30, 0, 1, 0], [50, 0, 1, 0]], dtype="float64")
    np.testing.assert_allclose(z, (raw - raw.mean(axis=0)) / raw.std(axis=0))
    # an unseen text value has no one-hot; an extreme number is clipped at 5 standard deviations
    scored = encode(pd.DataFrame({"arpu": [1e6], "plan": pd.Categorical(["c"]), "offer": ["x"]}), encoding)
    np.testing.assert_allclose(scored[0, [0, 2, 3]], [5.0, -(3**0.5), -1 / 3**0.5])


def test_offer_matrix_is_one_hot_in_the_model_order_and_ones_without_offers() -> None:
    frame = pd.DataFrame({"offer": ["none", "discount", "gift"]})
    np.testing.assert_array_equal(
        offer_matrix(frame, "offer", pd.Index(["discount", "none"])), [[0, 1], [1, 0], [0, 0]]
    )
    np.testing.assert_array_equal(offer_matrix(frame, None, pd.Index(["all"])), [[1], [1], [1]])


def test_lift_model_contract_determinism_and_no_offer_column() -> None:
    x, treated, stayed, _ = campaign(4_000, 3)
    model = UpliftModel(method="lo", n_estimators=10, lift_folds=2, random_state=5)
    assert clone(model).get_params() == model.get_params()
    assert model.fit(x, treated, stayed) is model
    again = UpliftModel(method="lo", n_estimators=10, lift_folds=2, random_state=5).fit(x, treated, stayed)
    np.testing.assert_array_equal(model.predict(x.iloc[:50]), again.predict(x.iloc[:50]))
    shuffled = x.iloc[:5][list(reversed(x.columns))].assign(extra=1)
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(x.iloc[:5]))
    without = UpliftModel(method="lo", n_estimators=10, lift_folds=2).fit(x.drop(columns="offer"), treated, stayed)
    assert np.isfinite(without.predict(x.drop(columns="offer"))).all()
