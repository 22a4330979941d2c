"""Value tiers (分层管理): value score, high / mid / low cut-offs, red and black lists, the flea-user flag."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.rules import column_values, condition_holds, describe
from tiercast.settings.tiers import CutoffSettings, FleaSettings, TiersSettings, ValueScoreSettings

# list_flag values (data_contracts/subscribers.yaml).
RED_LIST = "red"
BLACK_LIST = "black"
TIERS = ("high", "mid", "low")


def value_score(features: pd.DataFrame, settings: ValueScoreSettings) -> pd.Series:
    """Return the value score: ARPU x tenure factor x credit factor, in CNY a month (formula in tiers.yaml)."""
    arpu = features[settings.arpu_column].astype("float64").fillna(0.0).clip(lower=0.0)
    cap = settings.tenure_cap_months
    loyalty = features["tenure_months"].astype("float64").fillna(0.0).clip(0.0, cap) / cap
    credit = features["credit_score"].astype("float64").fillna(1.0).clip(0.0, 1.0)
    score = arpu * (1.0 + settings.tenure_weight * loyalty) * (1.0 - settings.credit_weight * (1.0 - credit))
    return score.rename("value_score")


@dataclass(frozen=True, eq=False)
class Cutoffs:
    """The value-score cut-offs of the high and mid tiers, with the score scale of the base they came from.

    `top_scores[k - 1]` is the lowest score within the top k% of that base (k = 1..100; +inf when
    the top k% is less than one subscriber), so a shard can say "top 5%" of the whole base.
    """

    high_min: float
    mid_min: float
    top_scores: np.ndarray

    @classmethod
    def given(cls, high_min: float, mid_min: float, scores: pd.Series) -> Cutoffs:
        """Return fixed cut-offs whose "top k%" refers to `scores`."""
        return cls(high_min, mid_min, _top_scores(np.sort(scores.to_numpy(dtype="float64"))[::-1]))

    def top_percent(self, scores: pd.Series) -> np.ndarray:
        """Return, per score, the smallest k such that the score is within the top k% of the base."""
        ascending = self.top_scores[::-1]
        above = len(ascending) - np.searchsorted(ascending, scores.to_numpy(dtype="float64"), side="right")
        return np.minimum(above + 1, 100)


def _score_at_share(descending: np.ndarray, share: float) -> float:
    count = math.floor(len(descending) * share + 0.5 + 1e-9)
    return float(descending[count - 1]) if count >= 1 else math.inf


def _top_scores(descending: np.ndarray) -> np.ndarray:
    counts = (len(descending) * np.arange(1, 101)) // 100
    padded = np.append(descending, math.inf)  # index -1 (fewer than one subscriber) -> +inf
    return padded[counts - 1]


def score_cutoffs(scores: pd.Series, settings: CutoffSettings) -> Cutoffs:
    """Return the lowest value scores of the high and mid tiers: configured CNY, or read off `scores`.

    Quantile mode: the top `high_share` of subscribers (rounded to whole subscribers) are high and the
    next `mid_share` mid; subscribers tied with the last one in are in too, so equal scores share a tier.
    """
    descending = np.sort(scores.to_numpy(dtype="float64"))[::-1]
    top_scores = _top_scores(descending)
    if settings.mode == "absolute":
        return Cutoffs(settings.high_min_cny, settings.mid_min_cny, top_scores)
    high_min = _score_at_share(descending, settings.high_share)
    return Cutoffs(high_min, _score_at_share(descending, settings.high_share + settings.mid_share), top_scores)


def tier_by_score(scores: pd.Series, high_min: float, mid_min: float) -> pd.Series:
    """Return high / mid / low by comparing each score with the two cut-offs."""
    tiers = np.select([scores >= high_min, scores >= mid_min], ["high", "mid"], "low")
    return pd.Series(tiers, index=scores.index, dtype="str", name="tier")


def flea_flag(features: pd.DataFrame, settings: FleaSettings) -> tuple[pd.Series, np.ndarray]:
    """Return (flea_flag, reason text per row): short tenure, no on-time record, and signals worth `min_points`.

    Who has paid more than `max_on_time_ratio` of the bills due on time is never flagged; a missing
    on-time ratio (no bill due yet) is no record either way.
    """
    tenure = column_values(features, "tenure_months")
    with np.errstate(invalid="ignore"):
        paid_on_time = column_values(features, "on_time_ratio") > settings.max_on_time_ratio
        candidate = (tenure < settings.max_tenure_months) & ~paid_on_time
    holds = [condition_holds(features, signal) for signal in settings.signals]
    points = np.zeros(len(features), dtype=np.int64)
    for signal, mask in zip(settings.signals, holds, strict=True):
        points += mask * signal.points
    flag = candidate & (points >= settings.min_points)
    texts = np.full(len(features), "", dtype=object)
    texts[flag] = "tenure " + tenure_texts(tenure[flag]).astype(object)
    signals = describe(features, ((signal, mask & flag) for signal, mask in zip(settings.signals, holds, strict=True)))
    texts[flag] = [f"{head}, {tail}" if tail else head for head, tail in zip(texts[flag], signals[flag], strict=True)]
    return pd.Series(flag, index=features.index, name="flea_flag"), texts


def tenure_texts(months: np.ndarray) -> np.ndarray:
    """Return tenure as short text: whole months under a year ("11m"), else whole years ("9y"); "n/a" if missing."""
    known = np.nan_to_num(months, nan=0.0)
    whole = np.where(known < 12, known, known // 12).astype(np.int64).astype(str)
    return np.where(np.isnan(months), "n/a", np.strings.add(whole, np.where(known < 12, "m", "y")))


def tier_reasons(
    features: pd.DataFrame, settings: ValueScoreSettings, top: np.ndarray, tiers: pd.Series, is_red: np.ndarray
) -> np.ndarray:
    """Return one short reason per row, e.g. "high: ARPU 312 CNY top 5%, tenure 9y, credit 0.98" (object array)."""
    arpu = column_values(features, settings.arpu_column)
    credit = column_values(features, "credit_score")
    tier = tiers.to_numpy(dtype=object)
    tenure = tenure_texts(column_values(features, "tenure_months"))
    rows = zip(tier.tolist(), arpu.tolist(), top.tolist(), tenure.tolist(), credit.tolist(), strict=True)
    reasons = np.array(
        [f"{t}: ARPU {a:.0f} CNY top {k}%, tenure {m}, credit {c:.2f}" for t, a, k, m, c in rows], dtype=object
    )
    unknown = np.isnan(arpu) | np.isnan(credit)  # rare: rebuilt one by one
    for i in np.flatnonzero(unknown | is_red):
        money = "no bill yet" if np.isnan(arpu[i]) else f"ARPU {arpu[i]:.0f} CNY"
        credit_text = "n/a" if np.isnan(credit[i]) else f"{credit[i]:.2f}"
        position = "" if np.isnan(arpu[i]) else f" top {top[i]}%"
        reasons[i] = (
            f"high: red list ({money})"
            if is_red[i]
            else f"{tier[i]}: {money}{position}, tenure {tenure[i]}, credit {credit_text}"
        )
    return reasons


def assign_tiers(features: pd.DataFrame, settings: TiersSettings, cutoffs: Cutoffs | None = None) -> pd.DataFrame:
    """Return `features` plus value_score, tier, is_red_list, is_black_list, flea_flag and tier_reason.

    Red list -> high whatever the score; black list -> is_black_list (routing puts it last), tier by
    score. `cutoffs` replaces the configured ones, e.g. `score_cutoffs` over the whole base when tiers
    are assigned shard by shard: its tiers and its "top k%" in the reasons refer to that base.
    """
    scores = value_score(features, settings.value_score)
    scale = cutoffs if cutoffs is not None else score_cutoffs(scores, settings.cutoffs)
    high_min, mid_min = scale.high_min, scale.mid_min
    list_flag = features["list_flag"].astype("object")
    is_red = (list_flag == RED_LIST).to_numpy(dtype=bool)
    is_black = (list_flag == BLACK_LIST).to_numpy(dtype=bool)
    tiers = tier_by_score(scores, high_min, mid_min).where(~is_red, "high")
    flea, flea_text = flea_flag(features, settings.flea)
    reasons = tier_reasons(features, settings.value_score, scale.top_percent(scores), tiers, is_red)
    reasons[is_black] = reasons[is_black] + "; black list"
    flagged = flea.to_numpy()
    reasons[flagged] = reasons[flagged] + "; flea: " + flea_text[flagged]
    return features.assign(
        value_score=scores,
        tier=tiers,
        is_red_list=is_red,
        is_black_list=is_black,
        flea_flag=flea,
        tier_reason=pd.Series(reasons, index=features.index, dtype="str"),
    )
