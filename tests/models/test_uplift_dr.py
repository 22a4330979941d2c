"""The DR-learner (models.uplift_dr) and UpliftModel(method="dr")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.uplift import UpliftModel
from models.uplift_dr import TREATED_FEATURE, pseudo_outcome, with_treatment
from tests.models.test_uplift_lift import campaign


def test_pseudo_outcome_matches_the_hand_computed_values() -> None:
    # given four members, e = 0.8; when the pseudo-outcome is built; then mu1 - mu0 plus the weighted residual
    y = np.array([1.0, 0.0, 1.0, 0.0])
    t = np.array([1.0, 1.0, 0.0, 0.0])
    mu1 = np.array([0.9, 0.6, 0.7, 0.5])
    mu0 = np.array([0.8, 0.5, 0.6, 0.3])
    phi = pseudo_outcome(y, t, mu1, mu0, 0.8)
    expected = [0.1 + 0.1 / 0.8, 0.1 - 0.6 / 0.8, 0.1 - 0.4 / 0.2, 0.2 + 0.3 / 0.2]
    np.testing.assert_allclose(phi, expected)


def test_pseudo_outcome_averages_to_the_effect_when_the_outcome_model_is_wrong() -> None:
    # given a true effect of +0.1 on staying and a useless outcome model (0.5 everywhere): the mean phi is still 0.1
    rng = np.random.default_rng(0)
    n = 400_000
    t = (rng.random(n) < 0.8).astype("float64")
    y = (rng.random(n) < np.where(t == 1, 0.8, 0.7)).astype("float64")
    phi = pseudo_outcome(y, t, np.full(n, 0.5), np.full(n, 0.5), 0.8)
    assert phi.mean() == pytest.approx(0.1, abs=0.01)


def test_with_treatment_appends_the_flag_and_leaves_the_input_alone() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    out = with_treatment(frame, np.array([True, False, True]))
    assert out[TREATED_FEATURE].tolist() == [1.0, 0.0, 1.0]
    assert with_treatment(frame, False)[TREATED_FEATURE].tolist() == [0.0, 0.0, 0.0]
    assert list(frame.columns) == ["a"]


@pytest.fixture(scope="module")
def dr_fitted() -> tuple[pd.DataFrame, np.ndarray, UpliftModel]:
    x, treated, stayed, _ = campaign(40_000, 1)
    model = UpliftModel(
        method="dr", n_estimators=60, num_leaves=7, lift_folds=3, effect_leaves=4, effect_min_child_samples=500,
        effect_estimators=80,
    ).fit(x, treated, stayed)  # fmt: skip
    held_out, _, _, effect = campaign(10_000, 2)
    return held_out, effect, model


def test_dr_learner_finds_persuadables_and_sleeping_dogs(dr_fitted) -> None:
    held_out, effect, model = dr_fitted
    predicted = model.predict(held_out)
    persuadable = ((held_out["complaints"] > 0) & (held_out["loyal"] == 0)).to_numpy()
    sleeping = (held_out["loyal"] == 1).to_numpy()
    assert predicted[sleeping].mean() < 0.0 < predicted[persuadable].mean()
    assert np.corrcoef(predicted, effect)[0, 1] > 0.6


def test_dr_learner_is_deterministic_for_a_seed() -> None:
    x, treated, stayed, _ = campaign(4_000, 3)

    def fitted() -> UpliftModel:
        model = UpliftModel(method="dr", n_estimators=20, lift_folds=2, effect_min_child_samples=200)
        return model.fit(x, treated, stayed)

    first, again = fitted().predict(x), fitted().predict(x)
    np.testing.assert_array_equal(first, again)
