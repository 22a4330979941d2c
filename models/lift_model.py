"""Lo's true lift model: one logistic regression with treatment interactions over a pooled baseline risk.

V.S.Y. Lo, "The True Lift Model - A Novel Data Mining Approach to Response Modeling in Database Marketing",
SIGKDD Explorations 4(2), 2002. Fitted on all campaign members, treated and control:

    logit P(y = 1 | x, t, o) = a + b s(x) + c z(x) + t (f_o + e z(x) + g_o z(x))

s(x): the out-of-fold logit of a LightGBM model of y fitted on every member (a strong baseline, so the
treatment terms are not spent on the baseline's shape); z(x): the inputs encoded for a linear model (numeric
columns median-imputed with a missing flag, and, with `n_bins` > 0, their quantile bins; text columns one-hot),
standardised; o: the offer (one-hot). The effect of offer o for a customer is sigma(eta0 + t-terms) - sigma(eta0):
one L2-penalised model shares strength across treated and control and across offers (g_o shrinks to the shared e),
so it needs far fewer control members than separate outcome models, predicts harm (sleeping dogs) as negative and
lets offers differ where the randomised offers show they do.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression

Z_CLIP = 5.0  # standardised inputs are clipped: the base reaches far beyond the campaign members' range


@dataclass(frozen=True)
class Encoding:
    """How `encode` turns a prepared frame into the linear model's z(x): learnt on the training rows."""

    numeric: tuple[str, ...]
    medians: np.ndarray
    flagged: np.ndarray  # positions in `numeric` of the columns with missing values in training
    edges: tuple[np.ndarray, ...]
    text: dict[str, pd.Index]
    mean: np.ndarray
    scale: np.ndarray


def _raw(
    frame: pd.DataFrame, numeric: tuple[str, ...], medians: np.ndarray, flagged: np.ndarray, edges: tuple, text: dict
) -> np.ndarray:
    values = frame[list(numeric)].to_numpy(dtype="float64") if numeric else np.empty((len(frame), 0))
    missing = np.isnan(values)
    filled = np.where(missing, medians[None, :], values)
    parts = [filled, missing[:, flagged].astype("float64")]
    for j, cuts in enumerate(edges):
        if len(cuts):
            codes = np.searchsorted(cuts, filled[:, j], side="right")
            parts.append((codes[:, None] == np.arange(1, len(cuts) + 1)[None, :]).astype("float64"))
    for col, categories in text.items():
        codes = categories.get_indexer(pd.Index(frame[col].astype("str")))  # -1: unseen
        parts.append((codes[:, None] == np.arange(len(categories))[None, :]).astype("float64"))
    return np.hstack(parts)


def fit_encoding(frame: pd.DataFrame, offer: str, n_bins: int) -> Encoding:
    """Return the encoding of every column but `offer` learnt on `frame` (a prepared frame: numeric or categorical)."""
    numeric = tuple(c for c in frame.columns if c != offer and not isinstance(frame[c].dtype, pd.CategoricalDtype))
    text = {
        c: pd.Index(frame[c].cat.categories.astype("str")) for c in frame.columns if c != offer and c not in numeric
    }
    values = frame[list(numeric)].to_numpy(dtype="float64")
    medians = np.nan_to_num(np.nanmedian(values, axis=0)) if len(values) else np.zeros(len(numeric))
    edges = []
    for j in range(len(numeric)):
        column = values[:, j][~np.isnan(values[:, j])]
        inner = np.linspace(0, 1, n_bins + 1)[1:-1] if n_bins > 1 and len(column) else np.empty(0)
        edges.append(np.unique(np.quantile(column, inner)) if len(inner) else np.empty(0))
    flagged = np.flatnonzero(np.isnan(values).any(axis=0))
    raw = _raw(frame, numeric, medians, flagged, tuple(edges), text)
    scale = raw.std(axis=0)
    return Encoding(numeric, medians, flagged, tuple(edges), text, raw.mean(axis=0), np.where(scale > 0, scale, 1.0))


def encode(frame: pd.DataFrame, encoding: Encoding) -> np.ndarray:
    """Return z(x): the encoded, standardised and clipped inputs (rows of `frame`)."""
    raw = _raw(frame, encoding.numeric, encoding.medians, encoding.flagged, encoding.edges, encoding.text)
    return np.clip((raw - encoding.mean) / encoding.scale, -Z_CLIP, Z_CLIP)


def design(baseline: np.ndarray, z: np.ndarray, treated: np.ndarray, offers: np.ndarray) -> sparse.csr_matrix:
    """Return the lift model's design: [s, z, t x offer, t x z, t x offer x z] (offers: one-hot, rows x offers)."""
    t = treated.astype("float64")[:, None]
    by_offer = offers * t
    blocks = [baseline[:, None], z, by_offer, z * t]
    blocks += [z * by_offer[:, [k]] for k in range(offers.shape[1])]
    return sparse.csr_matrix(np.hstack(blocks))


class LiftBaseline:
    """Out-of-fold LightGBM logits of y on all members (s(x) in training) and the folds' mean logit (scoring)."""

    def __init__(self, params: dict, n_estimators: int, n_folds: int, seed: int) -> None:
        self.params, self.n_estimators, self.n_folds, self.seed = params, n_estimators, n_folds, seed
        self.boosters: list[lgb.Booster] = []

    def fit_oof(self, x: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        """Fit one booster per fold; return each row's logit from the booster that did not see it."""
        fold = np.random.default_rng(self.seed).integers(0, self.n_folds, len(x))
        oof = np.empty(len(x))
        for k in range(self.n_folds):
            inside = fold != k
            booster = lgb.train(self.params, lgb.Dataset(x[inside], y[inside]), self.n_estimators)
            oof[~inside] = booster.predict(x[~inside], raw_score=True)
            self.boosters.append(booster)
        return oof

    def logit(self, x: pd.DataFrame) -> np.ndarray:
        """Return the mean logit of the fold boosters."""
        return np.mean([b.predict(x, raw_score=True) for b in self.boosters], axis=0)


def fit_lift(
    z: np.ndarray, baseline: np.ndarray, treated: np.ndarray, offers: np.ndarray, y: np.ndarray, c: float, seed: int
) -> LogisticRegression:
    """Return the fitted L2 logistic regression of the lift model."""
    model = LogisticRegression(C=c, max_iter=500, tol=1e-4, random_state=seed)
    return model.fit(design(baseline, z, treated, offers), y)


def lift_effect(model: LogisticRegression, z: np.ndarray, baseline: np.ndarray, offers: np.ndarray) -> np.ndarray:
    """Return P(y = 1 | called with the row's offer) - P(y = 1 | not called) per row."""
    n = len(z)
    eta0 = model.decision_function(design(baseline, z, np.zeros(n, dtype=bool), offers))
    eta1 = model.decision_function(design(baseline, z, np.ones(n, dtype=bool), offers))
    return 1.0 / (1.0 + np.exp(-eta1)) - 1.0 / (1.0 + np.exp(-eta0))


@dataclass
class TrueLift:
    """A fitted lift model: baseline, encoding, offers (one-hot order) and the regression."""

    baseline: LiftBaseline
    encoding: Encoding
    offer_column: str | None
    offers: pd.Index
    regression: LogisticRegression


def offer_matrix(frame: pd.DataFrame, offer_column: str | None, offers: pd.Index) -> np.ndarray:
    """Return the offers one-hot (rows x offers); a single column of ones when the model has no offer column."""
    if offer_column is None:
        return np.ones((len(frame), 1))
    codes = offers.get_indexer(pd.Index(frame[offer_column].astype("str")))  # -1: unseen
    return (codes[:, None] == np.arange(len(offers))[None, :]).astype("float64")


def fit_true_lift(
    frame: pd.DataFrame,
    treated: np.ndarray,
    y: np.ndarray,
    offer_column: str,
    params: dict,
    n_estimators: int,
    c: float,
    n_bins: int,
    n_folds: int,
    seed: int,
) -> TrueLift:
    """Return the lift model fitted on a prepared frame (numeric or categorical columns) of treated and control rows."""
    column = offer_column if offer_column in frame.columns else None
    inputs = frame.drop(columns=[column]) if column else frame
    baseline = LiftBaseline(params, n_estimators, n_folds, seed)
    s = baseline.fit_oof(inputs, y)
    encoding = fit_encoding(frame, offer_column, n_bins)
    offers = pd.Index(frame[column].cat.categories.astype("str")) if column else pd.Index(["all"])
    regression = fit_lift(encode(frame, encoding), s, treated, offer_matrix(frame, column, offers), y, c, seed)
    return TrueLift(baseline, encoding, column, offers, regression)


def true_lift_effect(lift: TrueLift, frame: pd.DataFrame) -> np.ndarray:
    """Return each row's effect of a call with the row's offer: P(y = 1 | called) - P(y = 1 | not called)."""
    inputs = frame.drop(columns=[lift.offer_column]) if lift.offer_column else frame
    offers = offer_matrix(frame, lift.offer_column, lift.offers)
    return lift_effect(lift.regression, encode(frame, lift.encoding), lift.baseline.logit(inputs), offers)
