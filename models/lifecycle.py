"""Lifecycle stages (生命周期): identification, growth, stable, warning, with hysteresis against flip-flopping."""

from __future__ import annotations

import pandas as pd

from models.rules import condition_holds, condition_text, join_texts, relaxed_threshold
from tiercast.settings.lifecycle import LifecycleSettings, StageCondition

STAGES = ("identification", "growth", "stable", "warning")
FALLBACK = "stable"
CHURN_SCORE = "churn_score"


def _stage_rule(
    frame: pd.DataFrame, conditions: tuple[StageCondition, ...], was_in: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return (fires, held only by hysteresis, reason text) for one stage's any-of conditions."""
    fires = pd.Series(False, index=frame.index)
    entered = pd.Series(False, index=frame.index)
    texts = []
    for condition in conditions:
        if condition.column == CHURN_SCORE and CHURN_SCORE not in frame.columns:
            continue  # no churn score given (e.g. before the model has scored): the rule cannot fire
        enter = condition_holds(frame, condition)
        stay = condition_holds(frame, condition, relaxed_threshold(condition, condition.margin))
        holds = enter | (was_in & stay)
        fires |= holds
        entered |= enter
        texts.append(condition_text(frame, condition, holds))
    text = join_texts(texts) if texts else pd.Series("", index=frame.index, dtype="str")
    return fires, fires & ~entered, text


def _previous_stage(features: pd.DataFrame, previous: pd.DataFrame | None) -> pd.Series:
    if previous is None:
        return pd.Series(pd.NA, index=features.index, dtype="object")
    by_id = previous.drop_duplicates("subscriber_id", keep="last").set_index("subscriber_id")["lifecycle_stage"]
    return features["subscriber_id"].map(by_id.astype("object"))


def assign_stages(
    features: pd.DataFrame,
    settings: LifecycleSettings,
    previous: pd.DataFrame | None = None,
    churn_score: pd.Series | None = None,
) -> pd.DataFrame:
    """Return `features` plus lifecycle_stage and lifecycle_reason.

    A stage fires when any of its conditions holds; the first firing stage in `settings.precedence`
    wins, stable otherwise. `previous` (subscriber_id, lifecycle_stage: yesterday's stages) turns on
    hysteresis: a subscriber keeps yesterday's stage while its conditions hold within their margins.
    `churn_score` is a Series indexed by subscriber_id (or a churn_score column of `features`).
    """
    frame = features
    if churn_score is not None:
        frame = features.assign(**{CHURN_SCORE: features["subscriber_id"].map(churn_score).astype("float64")})
    before = _previous_stage(features, previous)
    stage = pd.Series(FALLBACK, index=features.index, dtype="str")
    reason = pd.Series(f"{FALLBACK}: no warning or growth sign", index=features.index, dtype="str")
    for name in reversed(settings.precedence):
        was_in = pd.Series((before == name).fillna(False).to_numpy(dtype=bool), index=features.index)
        fires, held, text = _stage_rule(frame, getattr(settings, name), was_in)
        label = pd.Series(f"{name}: ", index=features.index, dtype="str").where(~held, f"{name} (held): ")
        stage = stage.where(~fires, name)
        reason = reason.where(~fires, label + text)
    return features.assign(lifecycle_stage=stage, lifecycle_reason=reason)
