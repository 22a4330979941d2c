"""ChurnModel: scikit-learn contract, column checks, categories, calibration, monotone behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.churn import ChurnModel, MissingFeaturesError, _class_weight

MONOTONE = {"months_in_arrears": 1, "complaints_30d": 1}


def churn_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A make_classification-like churn frame: counts, a continuous driver, noise and two categoricals."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "months_in_arrears": rng.poisson(0.4, n).astype(float),
            "complaints_30d": rng.poisson(0.3, n),
            "tenure_months": rng.uniform(0, 120, n),
            "noise": rng.normal(size=n),
            "plan": pd.Categorical(rng.choice(["prepaid_19", "postpaid_88", "business_198"], n)),
            "region": rng.choice(["north", "south"], n).astype(object),
        }
    )
    logit = (
        -3.0
        + 0.9 * X["months_in_arrears"]
        + 0.7 * X["complaints_30d"]
        - 0.02 * X["tenure_months"]
        + 0.8 * (X["plan"] == "prepaid_19")
    )
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[ChurnModel, pd.DataFrame, np.ndarray]:
    X, y = churn_frame(4000, seed=1)
    X_val, y_val = churn_frame(1500, seed=2)
    model = ChurnModel(n_estimators=150, early_stopping_rounds=20, monotone_constraints=MONOTONE, n_jobs=1)
    return model.fit(X, y, eval_set=(X_val, y_val)), X_val, y_val


def test_sklearn_contract_clone_and_params() -> None:
    model = ChurnModel(learning_rate=0.1, monotone_constraints=MONOTONE)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert twin.set_params(num_leaves=7) is twin and twin.num_leaves == 7
    assert not [k for k in vars(model) if k.endswith("_")]  # nothing learned before fit


def test_fit_returns_self_and_learned_state_ends_in_underscore(fitted) -> None:
    model, _, _ = fitted
    learned = {k for k in vars(model) if k.endswith("_")}
    assert {"booster_", "calibrator_", "feature_names_in_", "categories_", "best_iteration_"} <= learned
    assert 1 <= model.best_iteration_ <= 150


def test_probabilities_are_calibrated_and_within_bounds(fitted) -> None:
    model, X_val, y_val = fitted
    proba = model.predict_proba(X_val)
    assert proba.shape == (len(X_val), 2)
    assert np.all((proba >= 0) & (proba <= 1)) and np.allclose(proba.sum(axis=1), 1)
    assert model.calibration_method_ in {"isotonic", "sigmoid"}
    assert set(model.calibration_brier_) == {"isotonic", "sigmoid"}
    assert abs(proba[:, 1].mean() - y_val.mean()) < 0.02


def test_missing_columns_are_named(fitted) -> None:
    model, X_val, _ = fitted
    with pytest.raises(MissingFeaturesError, match=r"\['noise', 'region'\]"):
        model.predict_proba(X_val.drop(columns=["noise", "region"]))


def test_extra_columns_and_column_order_do_not_matter(fitted) -> None:
    model, X_val, _ = fitted
    shuffled = X_val[list(reversed(X_val.columns))].assign(extra=1.0)
    np.testing.assert_allclose(model.predict_proba(shuffled), model.predict_proba(X_val))


def test_unseen_category_scores_like_missing(fitted) -> None:
    model, X_val, _ = fitted
    rows = X_val.head(3)
    unseen = rows.assign(region=["atlantis"] * 3, plan=pd.Categorical(["mars_1"] * 3))
    missing = rows.assign(region=[None] * 3, plan=pd.Categorical([None] * 3))
    np.testing.assert_allclose(model.predict_proba(unseen), model.predict_proba(missing))


def test_input_frame_is_not_mutated(fitted) -> None:
    model, X_val, _ = fitted
    before = X_val.copy()
    model.predict_proba(X_val)
    model.contributions(X_val)
    pd.testing.assert_frame_equal(X_val, before)


@pytest.mark.parametrize("feature", ["months_in_arrears", "complaints_30d"])
def test_more_arrears_or_complaints_never_lowers_the_score(fitted, feature: str) -> None:
    """Given any customer, when only `feature` grows, then the churn score does not fall (monotone constraint)."""
    model, X_val, _ = fitted
    base = X_val.head(200)
    scores = np.column_stack([model.predict_proba(base.assign(**{feature: float(v)}))[:, 1] for v in range(8)])
    assert np.all(np.diff(scores, axis=1) >= 0)
    assert np.any(np.diff(scores, axis=1) > 0)  # the feature matters at all


def test_fit_without_eval_set_uses_an_inner_split() -> None:
    X, y = churn_frame(1500, seed=3)
    model = ChurnModel(n_estimators=60, early_stopping_rounds=10, calibration="sigmoid", n_jobs=1).fit(X, y)
    assert model.calibration_method_ == "sigmoid"
    assert model.predict_proba(X).shape == (1500, 2)


@pytest.mark.parametrize(("mode", "expected"), [("none", 1.0), ("sqrt", 2.0), ("balanced", 4.0)])
def test_class_weight_of_positives(mode: str, expected: float) -> None:
    assert _class_weight(np.array([1, 0, 0, 0, 0]), mode) == expected


def test_unknown_monotone_column_is_an_error() -> None:
    X, y = churn_frame(300, seed=4)
    with pytest.raises(MissingFeaturesError, match="arrears_days"):
        ChurnModel(n_estimators=5, monotone_constraints={"arrears_days": 1}).fit(X, y)


@pytest.mark.parametrize("region_dtype", ["str", "object", "category"])
def test_the_scoring_matrix_gives_the_margins_of_lightgbms_own_pandas_conversion(fitted, region_dtype: str) -> None:
    model, X_val, _ = fitted
    rows = X_val.head(400).copy()
    rows.loc[rows.index[:5], "region"] = "atlantis"  # unseen
    rows.loc[rows.index[5:10], "region"] = None
    rows.loc[rows.index[10:15], "tenure_months"] = np.nan
    rows["plan"] = rows["plan"].cat.add_categories(["mars_1"])
    rows.loc[rows.index[15:20], "plan"] = "mars_1"
    rows["region"] = rows["region"].astype(region_dtype)
    by_pandas = model.booster_.predict(model.prepare(rows), raw_score=True, num_iteration=model.best_iteration_)
    matrix = model.matrix(rows)
    region = list(model.feature_names_in_).index("region")
    assert matrix.shape == (400, len(model.feature_names_in_)) and np.isnan(matrix[:10, region]).all()
    np.testing.assert_array_equal(model.decision_function(rows), by_pandas)
