"""Lifecycle stages (生命周期): identification, growth, stable, warning, with hysteresis against flip-flopping."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.rules import condition_holds, describe, relaxed_threshold
from tiercast.settings.lifecycle import LifecycleSettings, StageCondition

STAGES = ("identification", "growth", "stable", "warning")
FALLBACK = "stable"
CHURN_SCORE = "churn_score"


def new_customer_months(settings: LifecycleSettings) -> float | None:
    """Return the tenure (months) below which a customer is in identification (识别期), if a rule says so."""
    limits = [c.threshold for c in settings.identification if c.column == "tenure_months" and c.op in ("<", "<=")]
    return max(limits) if limits else None


def _stage_rule(
    frame: pd.DataFrame, conditions: tuple[StageCondition, ...], was_in: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (fires, held only by hysteresis, reason text) for one stage's any-of conditions."""
    fires = np.zeros(len(frame), dtype=bool)
    entered = np.zeros(len(frame), dtype=bool)
    parts = []
    for condition in conditions:
        if condition.column == CHURN_SCORE and CHURN_SCORE not in frame.columns:
            continue  # no churn score given (e.g. before the model has scored): the rule cannot fire
        enter = condition_holds(frame, condition)
        stay = condition_holds(frame, condition, relaxed_threshold(condition, condition.margin))
        holds = enter | (was_in & stay)
        fires |= holds
        entered |= enter
        parts.append((condition, holds))
    return fires, fires & ~entered, describe(frame, parts)


def _churn(features: pd.DataFrame, churn_score: pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(churn_score, pd.Series) and not churn_score.index.equals(features.index):
        return features["subscriber_id"].map(churn_score).to_numpy(dtype="float64", na_value=np.nan)
    values = np.asarray(churn_score, dtype="float64")
    if len(values) != len(features):
        raise ValueError(f"churn_score has {len(values)} values for {len(features)} rows")
    return values


def _previous_stage(features: pd.DataFrame, previous: pd.DataFrame | None) -> np.ndarray:
    if previous is None:
        return np.full(len(features), "", dtype=object)
    by_id = previous.drop_duplicates("subscriber_id", keep="last").set_index("subscriber_id")["lifecycle_stage"]
    return features["subscriber_id"].map(by_id.astype("object")).astype("object").fillna("").to_numpy(dtype=object)


def assign_stages(
    features: pd.DataFrame,
    settings: LifecycleSettings,
    previous: pd.DataFrame | None = None,
    churn_score: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Return `features` plus lifecycle_stage and lifecycle_reason.

    A stage fires when any of its conditions holds; the first firing stage in `settings.precedence`
    wins, stable otherwise. `previous` (subscriber_id, lifecycle_stage: yesterday's stages) turns on
    hysteresis: a subscriber keeps yesterday's stage while its conditions hold within their margins.
    `churn_score`: a Series indexed by subscriber_id, or row by row: a Series with the index of
    `features` or an array of its length (e.g. several snapshots of one subscriber); without it, a
    churn_score column of `features` is used when present.
    """
    frame = features if churn_score is None else features.assign(**{CHURN_SCORE: _churn(features, churn_score)})
    before = _previous_stage(features, previous)
    stage = np.full(len(features), FALLBACK, dtype=object)
    reason = np.full(len(features), f"{FALLBACK}: no warning or growth sign", dtype=object)
    for name in reversed(settings.precedence):
        fires, held, text = _stage_rule(frame, getattr(settings, name), before == name)
        rows = np.flatnonzero(fires)
        stage[rows] = name
        reason[rows] = np.where(held[rows], f"{name} (held): ", f"{name}: ").astype(object) + text[rows]
    return features.assign(
        lifecycle_stage=pd.Series(stage, index=features.index, dtype="str"),
        lifecycle_reason=pd.Series(reason, index=features.index, dtype="str"),
    )
