"""Queue priority, desk, service level and call-back for every scored subscriber, from the routing table.

The policy is data (`settings.routing.rules`, first match wins); this module only applies it.
Priority 1 is served first; larger numbers wait longer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.distinct import per_distinct
from tiercast.settings.routing import RoutingSettings

ROUTING_COLUMNS = (
    "risk_band",
    "priority",
    "queue",
    "sla_target_share",
    "sla_target_seconds",
    "callback_hours",
    "reason",
)


def list_flag(scored: pd.DataFrame) -> pd.Series:
    """Return 'black', 'red' or 'none' per row; black wins when both flags are set."""
    flag = np.where(scored["is_black_list"], "black", np.where(scored["is_red_list"], "red", "none"))
    return pd.Series(flag, index=scored.index, dtype="str")


def risk_band(churn_score: pd.Series, settings: RoutingSettings) -> pd.Series:
    """Return the churn-risk band name of each score (bands start at their `min_score`)."""
    cuts = np.array([band.min_score for band in settings.risk_bands])
    names = np.array([band.name for band in settings.risk_bands], dtype=object)
    position = np.searchsorted(cuts, churn_score.to_numpy(dtype="float64"), side="right") - 1
    return pd.Series(names[position], index=churn_score.index, dtype="str")


def matching_rule(conditions: dict[str, pd.Series], settings: RoutingSettings) -> np.ndarray:
    """Return, per row, the index of the first rule whose conditions all match."""
    n_rows = len(next(iter(conditions.values())))
    chosen = np.full(n_rows, -1, dtype=np.int64)
    for position, rule in enumerate(settings.rules):
        mask = chosen == -1
        for field, values in conditions.items():
            accepted = rule.values(field)
            if accepted is not None:
                mask &= values.isin(accepted).to_numpy()
        chosen[mask] = position
    return chosen


def _lookup(values: pd.Series, mapping: dict[str, Any]) -> np.ndarray:
    """Return `mapping[value]` per row (None where the value is missing or not a key), looked up once per
    distinct value: a base has a handful of tiers and levels, and a row-by-row map of 1M rows costs seconds."""
    return per_distinct(values, lambda distinct: [mapping.get(value) for value in distinct])


def route(scored: pd.DataFrame, settings: RoutingSettings) -> pd.DataFrame:
    """Return `scored` plus risk_band, priority, queue, SLA target, callback_hours and reason columns."""
    band = risk_band(scored["churn_score"], settings)
    conditions = {
        "list_flag": list_flag(scored),
        "tier": scored["tier"].astype("str"),
        "stage": scored["lifecycle_stage"].astype("str"),
        "risk": band,
    }
    rule = matching_rule(conditions, settings)
    rules = settings.rules

    def pick(attribute: str) -> np.ndarray:
        return np.array([getattr(r, attribute) for r in rules], dtype=object)[rule]

    level_name = pd.Series(pick("service_level"), index=scored.index)
    by_tier = pd.Series(_lookup(conditions["tier"], settings.tier_service_level), index=scored.index)
    level_name = level_name.where(level_name != "tier", by_tier)
    if level_name.isna().any():
        unknown = sorted(set(conditions["tier"][level_name.isna()]))
        raise ValueError(f"no service level for tier(s) {unknown}; add them to routing.tier_service_level")
    levels = settings.service_levels

    def of_level(attribute: str, dtype: str) -> np.ndarray:
        return _lookup(level_name, {k: getattr(v, attribute) for k, v in levels.items()}).astype(dtype)

    return scored.assign(
        risk_band=band,
        priority=pick("priority").astype("int64"),
        queue=pd.Series(pick("queue"), index=scored.index, dtype="str"),
        sla_target_share=of_level("answered_share", "float64"),
        sla_target_seconds=of_level("within_seconds", "int64"),
        callback_hours=of_level("callback_hours", "float64"),
        reason=pd.Series(pick("reason"), index=scored.index, dtype="str"),
    )
