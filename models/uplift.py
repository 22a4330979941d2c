"""The uplift model: how much a retention call changes each customer's chance to stay, and its promotion gate.

`UpliftModel` is a meta-learner with LightGBM base learners and scikit-learn's estimator contract:
`fit(X, treatment, y)` with y = 1 for the response a call aims at (for retention: the customer stayed, i.e.
1 - churned within the horizon), `predict(X)` the uplift tau(x) = P(y = 1 | called, x) - P(y = 1 | not called, x),
so for retention a positive uplift is the churn probability a call removes and a negative one a "sleeping dog"
whom a call wakes up. Methods (Kunzel, Sekhon, Bickel & Yu, PNAS 2019):

- "t" (two-model): mu_1 on the treated, mu_0 on the control; tau = mu_1 - mu_0.
- "x" (X-learner, the default): the same mu_0, mu_1; imputed effects D_1 = y - mu_0(x) on the treated and
  D_0 = mu_1(x) - y on the control; regressions tau_1 on D_1 and tau_0 on D_0;
  tau = e tau_0 + (1 - e) tau_1 with e the propensity (share treated; constant because the control group is
  drawn at random, models.control_groups). With 5% control the X-learner leans on tau_0, which is built from
  mu_1 (fitted on the 95%), which is why it suits unbalanced groups better than the two-model learner.

Own code rather than causalml (checked 2026-12 with `pip download causalml --no-deps`, causalml 0.18.0):
its wheel is prebuilt now (no Cython build), but it pins forestci==0.6 and pathos==0.2.9 and requires
xgboost, shap, statsmodels, seaborn, pydot, graphviz and black>=26.1 at run time (torch / tensorflow / jax
only as extras), ~10 MB itself plus hundreds of MB of dependencies that tiercast does not otherwise need and
that the lock file would have to carry and keep compatible with mlflow's and prefect's pins. The two learners
tiercast needs are ~100 lines over LightGBM, which is already a dependency and what the churn model uses.

`uplift_gate` decides whether a fitted uplift challenger may replace ranking by churn probability x value
(definition in its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from models.churn import require_features
from models.lift_model import fit_true_lift, true_lift_effect
from models.uplift_dr import dr_effect, fit_dr
from models.uplift_metrics import metric_replicates, qini_coefficient
from tiercast.errors import ModelError

METHODS = ("t", "x", "lo", "dr")


class UpliftModel(BaseEstimator):
    """Two-model or X-learner uplift estimator over LightGBM (module docstring); deterministic for a seed."""

    def __init__(
        self,
        method: str = "x",
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        lambda_l2: float = 1.0,
        propensity: float | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
        offer_column: str = "offer",
        lift_c: float = 0.1,
        lift_bins: int = 0,
        lift_folds: int = 5,
        effect_leaves: int = 4,
        effect_min_child_samples: int = 2000,
        effect_estimators: int = 100,
    ) -> None:
        self.method = method
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.lambda_l2 = lambda_l2
        self.propensity = propensity
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.offer_column = offer_column
        self.lift_c = lift_c
        self.lift_bins = lift_bins
        self.lift_folds = lift_folds
        self.effect_leaves = effect_leaves
        self.effect_min_child_samples = effect_min_child_samples
        self.effect_estimators = effect_estimators

    def _params(self, objective: str) -> dict[str, Any]:
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.n_jobs,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def _train(self, x: pd.DataFrame, target: np.ndarray, objective: str) -> lgb.Booster:
        return lgb.train(self._params(objective), lgb.Dataset(x, target), self.n_estimators)

    def prepare(self, x: pd.DataFrame) -> pd.DataFrame:
        """Return `x` reduced to the trained columns in trained order, text columns as the fit's categories."""
        require_features(x, self.feature_names_in_)
        out = {}
        for col in self.feature_names_in_:
            if col in self.categories_:
                text = x[col].astype("str")
                known = text.where(x[col].notna() & text.isin(self.categories_[col]))
                out[col] = pd.Categorical(known, categories=self.categories_[col])
            else:
                out[col] = pd.to_numeric(x[col], errors="coerce").astype("float64").to_numpy()
        return pd.DataFrame(out, index=x.index)

    def fit(self, x: pd.DataFrame, treatment: Any, y: Any) -> UpliftModel:
        """Fit the outcome models (and for "x" the effect models) on treated and control rows; return self."""
        if self.method not in METHODS:
            raise ModelError(f"uplift method must be one of {METHODS}, not {self.method!r}")
        t = np.asarray(treatment).astype(bool)
        target = np.asarray(y, dtype="float64")
        if t.all() or not t.any():
            raise ModelError("an uplift model needs both treated and control customers")
        self.feature_names_in_ = np.asarray(list(x.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.categories_ = {
            c: pd.Index(sorted(x[c].dropna().astype("str").unique()))
            for c in x.columns
            if not (pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c]))
        }
        frame = self.prepare(x)
        self.propensity_ = float(t.mean()) if self.propensity is None else float(self.propensity)
        if self.method == "lo":
            self.lift_ = fit_true_lift(
                frame, t, target, self.offer_column, self._params("binary"), self.n_estimators, self.lift_c,
                self.lift_bins, self.lift_folds, self.random_state,
            )  # fmt: skip
            return self
        if self.method == "dr":
            effect_params = self._params("regression") | {
                "num_leaves": self.effect_leaves, "min_child_samples": self.effect_min_child_samples,
            }  # fmt: skip
            self.dr_ = fit_dr(
                frame, t, target, self._params("binary"), self.n_estimators, effect_params, self.effect_estimators,
                self.lift_folds, self.random_state,
            )  # fmt: skip
            return self
        treated, control = frame[t], frame[~t]
        self.outcome_control_ = self._train(control, target[~t], "binary")
        self.outcome_treated_ = self._train(treated, target[t], "binary")
        if self.method == "x":
            imputed_treated = target[t] - np.asarray(self.outcome_control_.predict(treated), dtype="float64")
            imputed_control = np.asarray(self.outcome_treated_.predict(control), dtype="float64") - target[~t]
            self.effect_treated_ = self._train(treated, imputed_treated, "regression")
            self.effect_control_ = self._train(control, imputed_control, "regression")
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Return each customer's uplift: P(y = 1 | called) - P(y = 1 | not called), in [-1, 1]."""
        frame = self.prepare(x)
        if self.method == "lo":
            return np.clip(true_lift_effect(self.lift_, frame), -1.0, 1.0)
        if self.method == "dr":
            return np.clip(dr_effect(self.dr_, frame), -1.0, 1.0)

        def of(booster: lgb.Booster) -> np.ndarray:
            return np.asarray(booster.predict(frame), dtype="float64")

        if self.method == "t":
            uplift = of(self.outcome_treated_) - of(self.outcome_control_)
        else:
            uplift = self.propensity_ * of(self.effect_control_) + (1.0 - self.propensity_) * of(self.effect_treated_)
        return np.clip(uplift, -1.0, 1.0)


@dataclass(frozen=True)
class GateResult:
    """The uplift gate's decision with the figures it rests on (Qini: customers kept, value Qini: value lost avoided,
    both per customer of the held-out campaigns, as areas above random: models.uplift_metrics)."""

    passed: bool
    reason: str
    qini: float
    qini_low: float
    qini_high: float
    value_qini_uplift: float
    value_qini_churn_value: float
    value_qini_gain: float
    value_qini_gain_low: float
    value_qini_gain_high: float


def uplift_gate(
    uplift: Any,
    churn_score: Any,
    value: Any,
    treatment: Any,
    churned: Any,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> GateResult:
    """Return whether an uplift challenger beats ranking by churn probability x value on held-out campaigns.

    Inputs: the held-out campaigns' treated and control customers, the challenger's predicted `uplift`, the
    churn model's `churn_score`, `value` (CNY lost if the customer leaves: models.retention.value_if_lost, so
    churn_score x value is today's value_at_risk ranking), `treatment` (called) and `churned`.
    Responses are y = 1 - churned (a customer kept). The challenger passes when both hold:

    1. its ranking by uplift finds the customers a call keeps: the bootstrap interval of its Qini
       coefficient (models.uplift_metrics) lies above 0;
    2. averaged over every targeting depth it keeps more value than today's rule: the value Qini coefficient
       of the ranking by uplift x value minus that of the ranking by churn_score x value has a paired bootstrap
       interval (the same resampled customers for both) above 0. The value Qini takes response -churned with
       weight `value`, i.e. value lost avoided; it equals value kept (response stayed x value) in expectation,
       as the control group is random, without the noise of the groups' differing total value. A challenger
       that only ties the rule, as it must where a call's effect is proportional to churn risk, does not
       pass, and targeting keeps churn x value.
    """
    treated = np.asarray(treatment).astype(bool)
    stayed = 1.0 - np.asarray(churned, dtype="float64")
    worth = np.asarray(value, dtype="float64")
    predicted = np.asarray(uplift, dtype="float64")
    tail = (1.0 - level) / 2.0
    customers = metric_replicates({"uplift": predicted}, treated, stayed, None, n_boot, seed)
    qini_low, qini_high = np.quantile(customers["qini"], [tail, 1.0 - tail])
    rankings = {"uplift": predicted * worth, "churn_value": np.asarray(churn_score, dtype="float64") * worth}
    lost = -np.asarray(churned, dtype="float64")
    valued = metric_replicates(rankings, treated, lost, worth, n_boot, seed + 1)
    replicate = {name: valued.loc[valued["ranking"] == name, "qini"].to_numpy() for name in rankings}
    gain_low, gain_high = np.quantile(replicate["uplift"] - replicate["churn_value"], [tail, 1.0 - tail])
    point = {name: qini_coefficient(score, treated, lost, worth) for name, score in rankings.items()}
    finds_effect, beats_rule = bool(qini_low > 0.0), bool(gain_low > 0.0)
    if finds_effect and beats_rule:
        reason = "uplift ranking passes: Qini interval above 0 and it keeps more value than churn x value"
    elif not finds_effect:
        reason = f"keep churn x value: the uplift ranking's Qini interval reaches {qini_low:.4g} (not above 0)"
    else:
        reason = f"keep churn x value: the uplift ranking's value gain over it is not above 0 ({gain_low:.4g})"
    return GateResult(
        passed=finds_effect and beats_rule,
        reason=reason,
        qini=qini_coefficient(predicted, treated, stayed),
        qini_low=float(qini_low),
        qini_high=float(qini_high),
        value_qini_uplift=point["uplift"],
        value_qini_churn_value=point["churn_value"],
        value_qini_gain=point["uplift"] - point["churn_value"],
        value_qini_gain_low=float(gain_low),
        value_qini_gain_high=float(gain_high),
    )
