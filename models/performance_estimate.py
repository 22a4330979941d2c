"""Label-free performance estimates from calibrated churn scores, and realised performance on matured labels.

The estimate follows NannyML's CBPE (confidence-based performance estimation): if the scores are
calibrated, customer i churns with probability p_i, so at any cut-off the expected true positives are
the sum of p over the customers above it and the expected false positives the sum of 1 - p. The
expected ROC curve joins (sum(1 - p) / N, sum(p) / P) over the distinct scores, N = sum(1 - p) and
P = sum(p), and its area is the expected ROC AUC. It equals the Mann-Whitney count of expected
churner/stayer pairs over P * N, including each customer's pair with itself (half of p_i (1 - p_i)),
a 1/n term: for scores [0.9, 0.1] it gives 0.9, while the AUC of two customers, given that exactly
one churns, is 0.81 / 0.82 = 0.988. At the nightly's sizes the term is negligible.

Bands come from Monte-Carlo draws of labels y_i ~ Bernoulli(p_i), independent: the AUC of each draw
from the ranks of the scores (computed once), precision and recall among the customers on the list,
the churn rate. The band runs between the order statistics just outside the central `band_level` of
the draws, so a further draw (the labels that will actually mature) falls inside with probability
`band_level`, not a little less. Above `subsample` customers in a group the draws run on a random
subsample of that size and the band's distances from the estimate are scaled by sqrt(subsample / n)
(each of these statistics has a standard error ~ 1 / sqrt(n)). A draw without a churner or without a
stayer has no AUC and is left out of the AUC band.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from models.evaluation import expected_calibration_error, lift_and_capture, pr_auc, roc_auc
from tiercast.settings.monitoring import EstimateSettings

OVERALL = "all"
ESTIMATED = ("roc_auc", "precision_at_k", "recall_at_k", "churn_rate")
CHUNK_CELLS = 4_000_000  # label draws x customers per chunk: ~16 MB of uniforms at a time


def expected_roc_auc(scores: object) -> float:
    """Return the CBPE expected ROC AUC of calibrated scores (NaN when no churn or no stay is expected)."""
    p = np.sort(np.asarray(scores, dtype="float64"))[::-1]
    positives, negatives = p.sum(), (1.0 - p).sum()
    if p.size == 0 or positives <= 0 or negatives <= 0:
        return math.nan
    last_of_score = np.r_[np.flatnonzero(np.diff(p) != 0), p.size - 1]
    tpr = np.r_[0.0, np.cumsum(p)[last_of_score]] / positives
    fpr = np.r_[0.0, np.cumsum(1.0 - p)[last_of_score]] / negatives
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def top_k_mask(scores: object, k: int) -> np.ndarray:
    """Return a boolean mask of the `k` highest scores (ties in row order, as `lift_and_capture`)."""
    p = np.asarray(scores, dtype="float64")
    mask = np.zeros(p.size, dtype=bool)
    mask[np.argsort(-p, kind="stable")[: max(k, 0)]] = True
    return mask


def _point_estimates(p: np.ndarray, on_list: np.ndarray) -> np.ndarray:
    listed, expected_churners = on_list.sum(), p.sum()
    caught = p[on_list].sum()
    return np.array(
        [
            expected_roc_auc(p),
            caught / listed if listed else math.nan,
            caught / expected_churners if expected_churners > 0 else math.nan,
            p.mean() if p.size else math.nan,
        ]
    )


def _draws(p: np.ndarray, on_list: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Return one row per Monte-Carlo label draw: ROC AUC, precision and recall on the list, churn rate."""
    n, p32, listed = p.size, p.astype(np.float32), on_list.sum()
    weights = np.c_[np.ones(n), rankdata(p), on_list]  # per draw: churners, their rank sum, churners on the list
    out = np.empty((draws, len(ESTIMATED)))
    step = max(1, CHUNK_CELLS // max(n, 1))
    for start in range(0, draws, step):
        y = rng.random((min(step, draws - start), n), dtype=np.float32) < p32
        churners, rank_sum, caught = (y.astype("float64") @ weights).T
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (rank_sum - churners * (churners + 1) / 2) / (churners * (n - churners))
            out[start : start + len(y)] = np.c_[auc, caught / listed, caught / churners, churners / n]
    return out


def _group_estimate(
    p: np.ndarray, on_list: np.ndarray, settings: EstimateSettings, rng: np.random.Generator
) -> np.ndarray:
    """Return (estimate, low, high) per metric of ESTIMATED for one group's scores."""
    estimate = _point_estimates(p, on_list)
    scale = 1.0
    if p.size > settings.subsample:
        keep = rng.choice(p.size, settings.subsample, replace=False)
        p, on_list, scale = p[keep], on_list[keep], math.sqrt(settings.subsample / p.size)
    draws = _draws(p, on_list, settings.draws, rng)
    tail = (1 - settings.band_level) / 2
    quantiles = np.full((2, len(ESTIMATED)), np.nan)
    for i, column in enumerate(draws.T):  # a draw with no churner (or no stayer) has no AUC: left out
        defined = column[np.isfinite(column)]
        if defined.size:
            quantiles[:, i] = (
                np.quantile(defined, tail, method="lower"),
                np.quantile(defined, 1 - tail, method="higher"),
            )
    centre = _point_estimates(p, on_list)
    low, high = estimate + scale * (quantiles - centre)
    return np.c_[estimate, low, high]


def group_rows(n: int, groups: pd.Series | None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (name, row positions): everyone first, then each group in sorted (category) order."""
    if groups is not None and len(groups) != n:
        raise ValueError(f"groups has {len(groups)} rows for {n} scores")
    yield OVERALL, np.arange(n)
    if groups is not None:
        positions = pd.Series(np.arange(n)).groupby(groups.reset_index(drop=True), observed=True, sort=True)
        for name, part in positions:
            yield str(name), part.to_numpy()


def estimated_performance(
    scores: object, settings: EstimateSettings, k: int, groups: pd.Series | None = None
) -> pd.DataFrame:
    """Return group, metric, estimate, low, high, n: expected ROC AUC, precision and recall at k, churn rate.

    The list is the `k` highest scores overall (the retention list's size); a group's precision and
    recall are those of its own customers on that list. Seeded by `settings.seed`.
    """
    p = np.asarray(scores, dtype="float64")
    on_list, rng = top_k_mask(p, k), np.random.default_rng(settings.seed)
    rows = []
    for name, rows_of in group_rows(p.size, groups):
        values = _group_estimate(p[rows_of], on_list[rows_of], settings, rng)
        rows += [(name, metric, *values[i], rows_of.size) for i, metric in enumerate(ESTIMATED)]
    return pd.DataFrame(rows, columns=["group", "metric", "estimate", "low", "high", "n"])


def _realised(y: np.ndarray, p: np.ndarray, on_list: np.ndarray, settings: EstimateSettings) -> dict[str, float]:
    churners = y.sum()
    lift, _ = lift_and_capture(y, p, settings.lift_share)
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "ece": expected_calibration_error(y, p, settings.ece_bins) if y.size else math.nan,
        f"lift_top{round(settings.lift_share * 100)}": lift,
        "precision_at_k": y[on_list].mean() if on_list.any() else math.nan,
        "recall_at_k": y[on_list].sum() / churners if churners else math.nan,
        "churn_rate": y.mean() if y.size else math.nan,
    }


def realised_performance(
    labels: object, scores: object, settings: EstimateSettings, k: int, groups: pd.Series | None = None
) -> pd.DataFrame:
    """Return group, metric, value, n on matured labels: ROC AUC, PR AUC, ECE, lift, precision and recall at k."""
    y, p = np.asarray(labels, dtype=int), np.asarray(scores, dtype="float64")
    on_list = top_k_mask(p, k)
    rows = [
        (name, metric, float(value), rows_of.size)
        for name, rows_of in group_rows(p.size, groups)
        for metric, value in _realised(y[rows_of], p[rows_of], on_list[rows_of], settings).items()
    ]
    return pd.DataFrame(rows, columns=["group", "metric", "value", "n"])


def _auc_alarm(table: pd.DataFrame, settings: EstimateSettings) -> tuple[np.ndarray, list[str]]:
    """Realised ROC AUC more than `auc_drop` below the estimate and below its band: the ranking got worse."""
    drop = table["estimate"] - table["realised"]
    alarm = (
        (table["metric"] == "roc_auc") & (drop > settings.auc_drop) & (table["realised"] < table["low"])
    ).to_numpy()
    message = [
        f"{group}: realised ROC AUC {real:.3f} is {gap:.3f} below the estimate {estimate:.3f} made that night"
        if flag
        else ""
        for group, real, gap, estimate, flag in zip(
            table["group"], table["realised"], drop, table["estimate"], alarm, strict=True
        )
    ]
    return alarm, message


def band_distance(realised: object, estimate: object, low: object, high: object) -> np.ndarray:
    """Return how far `realised` lies from `estimate` in half-widths of the band on its side (0 at the estimate,
    1 at the band's edge; NaN where that side of the band has no width)."""
    real, centre = np.asarray(realised, dtype="float64"), np.asarray(estimate, dtype="float64")
    side = np.where(
        real >= centre, np.asarray(high, dtype="float64") - centre, centre - np.asarray(low, dtype="float64")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(side > 0, np.abs(real - centre) / side, np.nan)


def _churn_rate_alarm(table: pd.DataFrame, settings: EstimateSettings) -> tuple[np.ndarray, list[str]]:
    """Realised churn rate at least `churn_rate_bands` band half-widths and `churn_rate_ratio` (relative) away
    from the rate the calibrated scores promised: the scores no longer say how many leave (calibration drift)."""
    ratio = table["realised"] / table["estimate"] - 1.0
    bands = band_distance(table["realised"], table["estimate"], table["low"], table["high"])
    alarm = (
        (table["metric"] == "churn_rate").to_numpy()
        & (np.nan_to_num(bands) >= settings.churn_rate_bands)
        & (ratio.abs().fillna(0.0).to_numpy() >= settings.churn_rate_ratio)
    )
    message = [
        f"{group}: realised churn rate {real:.2%} against {estimate:.2%} expected from that night's scores "
        f"({share:+.0%}, {distance:.1f} band half-widths): the scores no longer match who leaves"
        if flag
        else ""
        for group, real, estimate, share, distance, flag in zip(
            table["group"], table["realised"], table["estimate"], ratio, bands, alarm, strict=True
        )
    ]
    return alarm, message


def performance_comparison(estimated: pd.DataFrame, realised: pd.DataFrame, settings: EstimateSettings) -> pd.DataFrame:
    """Return group, metric, estimate, low, high, realised, n, level, message: the estimate made on a date by its truth.

    Two realised-performance alarms (level `significant`), each with a band condition so that a small tier's
    noise does not alarm:

    - ROC AUC: realised more than `settings.auc_drop` below that night's estimate and below its band: the model
      ranks worse than its calibrated scores promised (concept drift among the customers it ranks).
    - churn rate: realised at least `settings.churn_rate_bands` band half-widths and `settings.churn_rate_ratio`
      (relative) away from the estimate: more (or fewer) customers left than the scores said. Concept drift
      that raises everyone's risk in a tier (a price rise) shows here first: the ranking within the tier can
      hold while the level moves.
    """
    keys = pd.concat([estimated[["group", "metric"]], realised[["group", "metric"]]]).drop_duplicates()
    order = {group: i for i, group in enumerate(pd.unique(keys["group"]))}
    keys = keys.sort_values("group", key=lambda g: g.map(order), kind="stable")
    side = realised[["group", "metric", "value", "n"]].rename(columns={"value": "realised", "n": "n_realised"})
    table = keys.merge(estimated, how="left", on=["group", "metric"]).merge(side, how="left", on=["group", "metric"])
    table["n"] = table["n"].fillna(table.pop("n_realised")).astype("int64")
    table = table.reset_index(drop=True)
    auc, auc_message = _auc_alarm(table, settings)
    rate, rate_message = _churn_rate_alarm(table, settings)
    message = [a or b for a, b in zip(auc_message, rate_message, strict=True)]
    return table.assign(level=np.where(auc | rate, "significant", "ok"), message=message)
