"""Churn model evaluation: ranking, calibration, lift and capture, retention profit; overall and by slice.

Calibration error (ECE) uses equal-frequency bins by default (`calibration_binning: quantile`): every
bin holds the same number of customers, so a rare-event score is not judged on a few near-empty bins.
The profit measure is EMP, the expected maximum profit of Verbraken, Verbeke & Baesens (2013, IEEE
TKDE 25(5), "A novel profit maximizing metric for measuring classification performance of customer
churn prediction models"): targeting the top share of the base, per customer in the base

    profit(t; gamma) = (gamma * (CLV - d) - f) * TP(t) / N  -  (d + f) * FP(t) / N

(churners who accept the offer, share gamma, are kept; non-churners take the offer anyway), maximised
over the cut-off t and averaged over gamma ~ Beta(alpha, beta). MP is the deterministic version at
gamma = alpha / (alpha + beta). Both come with the cost-optimal share of the base to target.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

from tiercast.settings.evaluation import EvaluationSettings, ProfitSettings


def _arrays(y: object, p: object) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(y, dtype=int), np.asarray(p, dtype=float)


def roc_auc(y: object, p: object) -> float:
    """Return ROC AUC, or NaN when only one class is present."""
    y_, p_ = _arrays(y, p)
    return float(roc_auc_score(y_, p_)) if np.unique(y_).size == 2 else math.nan


def pr_auc(y: object, p: object) -> float:
    """Return the area under the precision-recall curve (average precision), NaN without positives."""
    y_, p_ = _arrays(y, p)
    return float(average_precision_score(y_, p_)) if np.unique(y_).size == 2 else math.nan


def calibration_table(y: object, p: object, bins: int, binning: str = "quantile") -> pd.DataFrame:
    """Return per-bin count, mean score and observed rate (equal-frequency or equal-width bins)."""
    y_, p_ = _arrays(y, p)
    if binning == "quantile":
        order = np.argsort(p_, kind="stable")
        bin_of = np.empty(len(p_), dtype=int)
        for b, idx in enumerate(np.array_split(order, bins)):
            bin_of[idx] = b
    elif binning == "uniform":
        bin_of = np.minimum((p_ * bins).astype(int), bins - 1)
    else:
        raise ValueError(f"unknown binning {binning!r}; use quantile or uniform")
    frame = pd.DataFrame({"bin": bin_of, "y": y_, "p": p_})
    table = frame.groupby("bin", sort=True).agg(n=("y", "size"), mean_score=("p", "mean"), observed=("y", "mean"))
    return table.reset_index()


def expected_calibration_error(y: object, p: object, bins: int, binning: str = "quantile") -> float:
    """Return ECE: the count-weighted mean |observed rate - mean score| over the bins."""
    table = calibration_table(y, p, bins, binning)
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["observed"] - table["mean_score"]).abs()).sum())


def lift_and_capture(y: object, p: object, share: float) -> tuple[float, float]:
    """Return (lift, capture) among the top `share` of customers by score."""
    y_, p_ = _arrays(y, p)
    k = max(1, math.ceil(share * len(y_)))
    top = y_[np.argsort(-p_, kind="stable")[:k]]
    positives = y_.sum()
    if positives == 0:
        return math.nan, math.nan
    return float(top.mean() / y_.mean()), float(top.sum() / positives)


def _cumulative_counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return TP and FP when targeting everyone with score >= each distinct score, plus the cut-offs."""
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    tp = np.cumsum(ys)[last_of_group]
    fp = (last_of_group + 1) - tp
    return np.r_[0, tp].astype(float), np.r_[0, fp].astype(float), np.r_[np.inf, ps[last_of_group]]


def profit(y: object, p: object, settings: ProfitSettings) -> dict[str, float]:
    """Return EMP and MP (CNY per customer in the base) with the cost-optimal share to target."""
    y_, p_ = _arrays(y, p)
    n = len(y_)
    tp, fp, cutoffs = _cumulative_counts(y_, p_)
    clv, d, f = settings.clv_cny, settings.offer_cost_cny, settings.contact_cost_cny
    slope, intercept = (clv - d) * tp / n, (-f * tp - (d + f) * fp) / n  # profit = gamma * slope + intercept
    share = (tp + fp) / n
    a, b = settings.acceptance_alpha, settings.acceptance_beta
    gammas = beta_dist.ppf((np.arange(settings.gamma_grid) + 0.5) / settings.gamma_grid, a, b)
    best_profit, best_share = np.empty(len(gammas)), np.empty(len(gammas))
    for start in range(0, len(gammas), 8):
        chunk = gammas[start : start + 8, None] * slope[None, :] + intercept[None, :]
        best = chunk.argmax(axis=1)
        best_profit[start : start + 8] = chunk[np.arange(len(best)), best]
        best_share[start : start + 8] = share[best]
    mean_gamma = a / (a + b)
    mp_curve = mean_gamma * slope + intercept
    k = int(mp_curve.argmax())
    return {
        "emp": float(best_profit.mean()),
        "emp_share": float(best_share.mean()),
        "mp": float(mp_curve[k]),
        "mp_share": float(share[k]),
        "mp_threshold": float(cutoffs[k]) if k > 0 else math.nan,
    }


def classification_metrics(y: object, p: object, settings: EvaluationSettings) -> dict[str, float]:
    """Return every overall metric for labels `y` and churn probabilities `p`."""
    y_, p_ = _arrays(y, p)
    metrics: dict[str, float] = {
        "n": float(len(y_)),
        "positives": float(y_.sum()),
        "churn_rate": float(y_.mean()) if len(y_) else math.nan,
        "mean_score": float(p_.mean()) if len(p_) else math.nan,
        "roc_auc": roc_auc(y_, p_),
        "pr_auc": pr_auc(y_, p_),
        "brier": float(np.mean((p_ - y_) ** 2)),
        "log_loss": float(log_loss(y_, np.clip(p_, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "ece": expected_calibration_error(y_, p_, settings.calibration_bins, settings.calibration_binning),
    }
    for share in settings.top_shares:
        lift, capture = lift_and_capture(y_, p_, share)
        metrics[f"lift_top{round(share * 100)}"] = lift
        metrics[f"capture_top{round(share * 100)}"] = capture
    metrics.update(profit(y_, p_, settings.profit))
    return metrics


def sliced_metrics(frame: pd.DataFrame, label: str, score: str, settings: EvaluationSettings) -> pd.DataFrame:
    """Return one row of metrics per value of each slice column present (tier, lifecycle stage, ...)."""
    rows = []
    for column in settings.slice_columns:
        if column not in frame.columns:
            continue
        for value, group in frame.groupby(column, observed=True, sort=True):
            if len(group) >= settings.min_slice_rows:
                metrics = classification_metrics(group[label], group[score], settings)
            else:
                metrics = {"n": float(len(group)), "positives": float(group[label].sum())}
            rows.append({"slice": column, "value": str(value), **metrics})
    return pd.DataFrame(rows)


def oracle_comparison(y: object, p_model: object, p_true: object) -> dict[str, float]:
    """Return the model's ROC AUC, the AUC of the true probabilities on the same rows, and their ratio."""
    model_auc, oracle_auc = roc_auc(y, p_model), roc_auc(y, p_true)
    return {"model_auc": model_auc, "oracle_auc": oracle_auc, "auc_ratio": model_auc / oracle_auc}


def gains_table(y: object, p: object, points: int = 100) -> pd.DataFrame:
    """Return the cumulative gains curve: share of base targeted vs share of churners captured."""
    y_, p_ = _arrays(y, p)
    ordered = y_[np.argsort(-p_, kind="stable")]
    captured = np.cumsum(ordered) / max(int(ordered.sum()), 1)
    idx = np.unique(np.linspace(0, len(y_) - 1, points).astype(int))
    share = (idx + 1) / len(y_)
    return pd.DataFrame({"share": share, "capture": captured[idx], "lift": captured[idx] / share})
