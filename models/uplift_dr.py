"""The DR-learner: a doubly robust pseudo-outcome per member, cross-fitted, regressed on the inputs and offer.

E.H. Kennedy, "Towards optimal doubly robust estimation of heterogeneous causal effects" (2020/2023). On the
campaigns' treated and control members (the control is drawn at random within a campaign, so the propensity e is
the share treated, known and constant):

    phi = mu(x, o, 1) - mu(x, o, 0) + t (y - mu(x, o, 1)) / e - (1 - t) (y - mu(x, o, 0)) / (1 - e)

mu: one LightGBM outcome model of y on the inputs, the offer o and t, fitted on every member (the treatment is a
feature, so the baseline is learnt from all members and not only the ~20% control); cross-fitted, so each
member's phi comes from outcome models that did not see it. E[phi | x, o] is the effect of a call with offer o
whatever the outcome model's error (e is known), so a regression of phi on (x, o) estimates the effect without
the outcome model's bias. phi is noisy (its variance ~ var(y) / (e (1 - e))), so the effect regression is a small,
strongly regularised LightGBM (its own leaves and minimum leaf size). The effect is predicted per row's offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

TREATED_FEATURE = "__treated__"


def pseudo_outcome(y: np.ndarray, t: np.ndarray, mu1: np.ndarray, mu0: np.ndarray, e: float) -> np.ndarray:
    """Return the doubly robust pseudo-outcome phi of each member (module docstring)."""
    return mu1 - mu0 + t * (y - mu1) / e - (1.0 - t) * (y - mu0) / (1.0 - e)


def with_treatment(frame: pd.DataFrame, treated: bool | np.ndarray) -> pd.DataFrame:
    """Return `frame` with the outcome model's treatment column (1.0 called, 0.0 not) appended."""
    flag = np.broadcast_to(np.asarray(treated, dtype="float64"), (len(frame),))
    return frame.assign(**{TREATED_FEATURE: flag})


def cross_fitted_outcomes(
    frame: pd.DataFrame, t: np.ndarray, y: np.ndarray, params: dict, n_estimators: int, n_folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (mu1, mu0) per row: P(y = 1) if called / not called, from the outcome model of the folds without it."""
    fold = np.random.default_rng(seed).integers(0, n_folds, len(frame))
    mu1, mu0 = np.empty(len(frame)), np.empty(len(frame))
    for k in range(n_folds):
        inside = fold != k
        booster = lgb.train(params, lgb.Dataset(with_treatment(frame[inside], t[inside]), y[inside]), n_estimators)
        outside = frame[~inside]
        mu1[~inside] = booster.predict(with_treatment(outside, True))
        mu0[~inside] = booster.predict(with_treatment(outside, False))
    return mu1, mu0


@dataclass
class DrLearner:
    """A fitted DR-learner: the effect regression over the inputs and offer."""

    effect: lgb.Booster
    propensity: float


def fit_dr(
    frame: pd.DataFrame,
    treated: np.ndarray,
    y: np.ndarray,
    outcome_params: dict[str, Any],
    n_estimators: int,
    effect_params: dict[str, Any],
    effect_estimators: int,
    n_folds: int,
    seed: int,
) -> DrLearner:
    """Return the DR-learner fitted on a prepared frame (inputs and offer) of treated and control members."""
    t = treated.astype("float64")
    e = float(t.mean())
    mu1, mu0 = cross_fitted_outcomes(frame, t, y, outcome_params, n_estimators, n_folds, seed)
    phi = pseudo_outcome(y, t, mu1, mu0, e)
    effect = lgb.train(effect_params, lgb.Dataset(frame, phi), effect_estimators)
    return DrLearner(effect, e)


def dr_effect(model: DrLearner, frame: pd.DataFrame) -> np.ndarray:
    """Return each row's predicted effect of a call with the row's offer on P(y = 1)."""
    return np.asarray(model.effect.predict(frame), dtype="float64")
