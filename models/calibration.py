"""Probability calibration of raw model margins: isotonic or Platt (sigmoid), chosen by cross-fitting.

The calibrator is chosen on rows the booster never trained on (the time-ordered validation data), and
the choice is made honestly: each candidate is fitted on K-1 folds and scored on the K-th, so no
calibrator is ever judged on the rows it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

METHODS = ("isotonic", "sigmoid")
# Isotonic regression is a step function: scores in one step tie, which would blur the ranking the
# booster learned. A tie-break this small keeps the order and moves no probability by more than 1e-6.
_TIE_BREAK = 1e-6


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


class MarginCalibrator:
    """Maps raw log-odds margins to calibrated probabilities (scikit-learn style: fit returns self)."""

    def __init__(self, method: str = "isotonic") -> None:
        self.method = method

    def fit(self, margin: np.ndarray, y: np.ndarray) -> MarginCalibrator:
        """Fit the mapping on margins and 0/1 labels; return self."""
        margin = np.asarray(margin, dtype=float)
        y = np.asarray(y, dtype=int)
        if self.method == "isotonic":
            self.model_: IsotonicRegression | LogisticRegression = IsotonicRegression(
                y_min=0.0, y_max=1.0, out_of_bounds="clip"
            ).fit(margin, y)
        elif self.method == "sigmoid":
            self.model_ = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
        elif self.method == "none":
            self.model_ = IsotonicRegression()  # unused: identity on the sigmoid scale
        else:
            raise ValueError(f"unknown calibration method {self.method!r}; use isotonic, sigmoid or none")
        return self

    def predict(self, margin: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities in [0, 1] for raw margins."""
        margin = np.asarray(margin, dtype=float)
        if self.method == "none":
            return _sigmoid(margin)
        if self.method == "sigmoid":
            assert isinstance(self.model_, LogisticRegression)
            return np.asarray(self.model_.predict_proba(margin.reshape(-1, 1))[:, 1])
        iso = np.asarray(self.model_.predict(margin), dtype=float)
        return np.clip(iso * (1 - _TIE_BREAK) + _TIE_BREAK * _sigmoid(margin), 0.0, 1.0)


@dataclass(frozen=True)
class CalibrationChoice:
    """The chosen calibrator (fitted on all rows), cross-fitted Brier score and log loss of every candidate."""

    calibrator: MarginCalibrator
    brier: dict[str, float]
    log_loss: dict[str, float]
    out_of_fold: np.ndarray


def cross_fitted(margin: np.ndarray, y: np.ndarray, method: str, folds: int, seed: int) -> np.ndarray:
    """Return out-of-fold calibrated probabilities: each row calibrated by a mapping fitted without it."""
    out = np.empty(len(y), dtype=float)
    n_splits = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    for fit_idx, held_idx in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(margin, y):
        out[held_idx] = MarginCalibrator(method).fit(margin[fit_idx], y[fit_idx]).predict(margin[held_idx])
    return out


def choose_calibration(margin: np.ndarray, y: np.ndarray, method: str, folds: int, seed: int) -> CalibrationChoice:
    """Return the calibrator for `method` ("auto": the candidate with the lower cross-fitted log loss).

    Log loss rather than Brier: isotonic steps reach 0 or 1 on small data, which Brier barely notices
    but which is a confident wrong answer for the customers in that step.
    """
    margin = np.asarray(margin, dtype=float)
    y = np.asarray(y, dtype=int)
    if method == "none" or np.unique(y).size < 2:
        return CalibrationChoice(MarginCalibrator("none").fit(margin, y), {}, {}, _sigmoid(margin))
    candidates = METHODS if method == "auto" else (method,)
    oof = {name: cross_fitted(margin, y, name, folds, seed) for name in candidates}
    brier = {name: float(np.mean((p - y) ** 2)) for name, p in oof.items()}
    loss = {name: _log_loss(y, p) for name, p in oof.items()}
    best = min(loss, key=loss.__getitem__)
    return CalibrationChoice(MarginCalibrator(best).fit(margin, y), brier, loss, oof[best])


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
