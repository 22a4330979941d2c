"""The linear candidate of `tiercast evaluate-table`: one-hot categories, splines on numbers, L2 logistic regression.

On tables of a few thousand rows a well-regularised additive model often ranks churners as well as
boosting; `pipelines.evaluate_table` lets an inner cross-validation choose between the two. The
penalty C is chosen by the model's own cross-validation on log loss, inside every fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, SplineTransformer, StandardScaler

from models.churn import require_features

# Rows the quantile scaling estimates its grid from (fewer when the table is smaller).
MAX_QUANTILES = 200


def column_roles(x: pd.DataFrame, spline_min_distinct: int) -> dict[str, list[str]]:
    """Return the columns to one-hot ("category"), to expand in splines ("spline") and to keep linear ("linear")."""
    roles: dict[str, list[str]] = {"category": [], "spline": [], "linear": []}
    for name in x.columns:
        series = x[name]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            roles["category"].append(name)
        elif series.nunique() >= spline_min_distinct:
            roles["spline"].append(name)
        else:
            roles["linear"].append(name)
    return roles


class TableLinearModel(ClassifierMixin, BaseEstimator):
    """L2 logistic regression on one-hot categories and cubic splines of numbers, C chosen by inner CV."""

    def __init__(
        self,
        c_grid: Sequence[float] = (0.01, 0.1, 1.0),
        c_folds: int = 3,
        n_knots: int = 5,
        degree: int = 3,
        spline_min_distinct: int = 10,
        min_frequency: int = 20,
        max_iter: int = 2000,
        random_state: int = 0,
    ) -> None:
        self.c_grid = c_grid
        self.c_folds = c_folds
        self.n_knots = n_knots
        self.degree = degree
        self.spline_min_distinct = spline_min_distinct
        self.min_frequency = min_frequency
        self.max_iter = max_iter
        self.random_state = random_state

    def _encoder(self, roles: dict[str, list[str]], rows: int) -> ColumnTransformer:
        numbers = roles["spline"] + roles["linear"]
        # Knots evenly spaced on the quantile scale sit at quantiles of the data, robust to ties and outliers.
        splines = make_pipeline(
            SimpleImputer(strategy="median"),
            QuantileTransformer(n_quantiles=min(MAX_QUANTILES, rows), random_state=self.random_state),
            SplineTransformer(n_knots=self.n_knots, degree=self.degree, extrapolation="constant"),
        )
        return ColumnTransformer(
            [
                # A level unseen at fit falls in the pooled rare-level column (or none when there is none).
                (
                    "category",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", min_frequency=self.min_frequency, sparse_output=False
                    ),
                    roles["category"],
                ),
                ("spline", splines, roles["spline"]),
                ("linear", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), roles["linear"]),
                ("missing", MissingIndicator(features="missing-only", error_on_new=False), numbers),
            ]
        )

    def fit(self, x: pd.DataFrame, y: Any) -> TableLinearModel:
        """Encode the columns by role and fit the logistic regression; return self."""
        y_arr = np.asarray(y, dtype=int)
        self.feature_names_in_ = np.asarray(list(x.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.classes_ = np.array([0, 1])
        self.roles_ = column_roles(x, self.spline_min_distinct)
        folds = StratifiedKFold(n_splits=self.c_folds, shuffle=True, random_state=self.random_state)
        # Newton-Cholesky: a few iterations on a few hundred dense columns, 10-30x faster than lbfgs here.
        regression = GridSearchCV(
            LogisticRegression(solver="newton-cholesky", max_iter=self.max_iter),
            {"C": list(self.c_grid)},
            scoring="neg_log_loss",
            cv=folds,
        )
        self.pipeline_: Pipeline = Pipeline(
            [("encode", self._encoder(self.roles_, len(x))), ("regression", regression)]
        ).fit(self._frame(x), y_arr)
        self.c_ = float(regression.best_params_["C"])
        return self

    def _frame(self, x: pd.DataFrame) -> pd.DataFrame:
        require_features(x, self.feature_names_in_)
        # One-hot needs plain objects: a pandas category column with a blank becomes text with None.
        return x.loc[:, list(self.feature_names_in_)].assign(
            **{c: x[c].astype("object").where(x[c].notna(), None) for c in self.roles_["category"]}
        )

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Return probabilities as an (n, 2) array: [P(stay), P(churn)]."""
        return np.asarray(self.pipeline_.predict_proba(self._frame(x)))

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Return 1 where the churn probability is at least 0.5."""
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)
