"""The linear candidate of evaluate-table: column roles, fit/score contract, blanks and unseen levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.churn import MissingFeaturesError
from models.evaluation import roc_auc
from models.table_linear import TableLinearModel, column_roles


def test_column_roles() -> None:
    frame = pd.DataFrame(
        {
            "plan": pd.Categorical(["a", "b", None, "a", "b"]),
            "tenure": [1.0, 5.0, 9.0, np.nan, 30.0],
            "senior": [0.0, 1.0, 0.0, 1.0, 0.0],
        }
    )
    assert column_roles(frame, spline_min_distinct=4) == {
        "category": ["plan"],
        "spline": ["tenure"],
        "linear": ["senior"],
    }


def churn_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Churn rises with charges and falls on a two-year contract; a few blanks in both kinds of column."""
    rng = np.random.default_rng(seed)
    charges = rng.uniform(20, 120, n)
    contract = rng.choice(["month", "one year", "two year"], n)
    logit = 0.04 * (charges - 70) - 1.5 * (contract == "two year")
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    charges[:5] = np.nan
    plans = pd.Series(contract).where(np.arange(n) % 50 != 0).astype("category")
    return pd.DataFrame({"charges": charges, "contract": plans, "senior": rng.integers(0, 2, n) * 1.0}), y


def test_fit_and_score_with_blanks_and_an_unseen_level() -> None:
    x, y = churn_frame(1200, seed=0)
    model = TableLinearModel(c_grid=(0.01, 1.0), random_state=0).fit(x, y)
    x_new, y_new = churn_frame(600, seed=1)
    x_new["contract"] = x_new["contract"].cat.add_categories(["prepaid"])
    x_new.loc[0, "contract"] = "prepaid"
    p = model.predict_proba(x_new[["senior", "contract", "charges"]])  # column order does not matter
    assert p.shape == (600, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert roc_auc(y_new, p[:, 1]) > 0.7
    assert model.c_ in {0.01, 1.0}
    assert model.predict(x_new).tolist() == (p[:, 1] >= 0.5).astype(int).tolist()


def test_higher_charges_never_lower_the_churn_score() -> None:
    x, y = churn_frame(1500, seed=2)
    model = TableLinearModel(n_knots=3, c_grid=(0.1,), random_state=0).fit(x, y)
    grid = pd.DataFrame(
        {"charges": np.linspace(25, 115, 10), "contract": pd.Categorical(["month"] * 10), "senior": 0.0}
    )
    assert np.all(np.diff(model.predict_proba(grid)[:, 1]) > 0)


def test_scoring_checks_the_trained_columns() -> None:
    x, y = churn_frame(300, seed=3)
    model = clone(TableLinearModel(c_grid=(1.0,))).fit(x, y)
    with pytest.raises(MissingFeaturesError, match="contract"):
        model.predict_proba(x.drop(columns="contract"))
