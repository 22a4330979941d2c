"""The nightly's monitoring step: gather what the shards counted and kept, monitor, record, refuse if broken."""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from models.drift import ReferenceProfile
from pipelines.monitoring import DriftGuardrailError, NightMonitoring, monitor_night
from pipelines.monitoring_record import record
from pipelines.nightly import ModelRef, NightlyPlan, ShardFeatures, ShardOutputs
from tiercast.settings import Settings

log = logging.getLogger(__name__)


def _concat(paths: list, columns: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(path) for path in paths if path is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def monitor(
    settings: Settings,
    plan: NightlyPlan,
    model: ModelRef,
    reference: ReferenceProfile | None,
    parts: list[ShardFeatures],
    outputs: list[ShardOutputs],
    retention: pd.DataFrame,
    refuse: bool = True,
) -> NightMonitoring | None:
    """Monitor tonight (None when monitoring is off), write it to the history, the database and MLflow.

    Raises DriftGuardrailError after recording when the inputs look like a broken export (unless not
    `refuse`, for a replay): the publish step never runs, so yesterday's tables stay live.
    """
    if not settings.monitoring.enabled:
        return None
    scores = _concat([o.scores_path for o in outputs], ["subscriber_id", "churn_score", "tier"])
    leavers = _concat([p.leavers_path for p in parts], ["subscriber_id", "deactivation_date"])
    counts, inputs = [o.counts for o in outputs], [p.input_counts for p in parts]
    night = monitor_night(
        settings,
        plan.as_of,
        plan.data_end,
        model.version,
        reference,
        counts,
        inputs,
        scores,
        leavers,
        len(retention),
        keep=not refuse,  # the nightly keeps tonight as a baseline once it has published; a replay at once
    )
    night = replace(night, where=record(settings, night))
    if night.blocked and refuse:
        raise DriftGuardrailError(night.blocked)
    return night
