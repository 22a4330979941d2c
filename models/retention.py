"""Who the retention desks call today: value at risk, exclusions, desk split by capacity, offers, control group.

Pure functions on the scored table (already keyed by subscriber_key); no I/O. Of the customers listed for a
desk, a random share (retention.control_share) is held out as `group = control` (models.control_groups):
published in the list table so that the campaign's lift can be measured, never called.

Two rankings (column `ranking`): `churn_value` ranks by value at risk (churn probability x value if lost);
`uplift`, used while an uplift model is champion (`uplift_targeting`), ranks by expected incremental value
(uplift x value if lost - offer cost, column `incremental_value`), leaves out customers a call is predicted
to harm, and suggests each customer's best offer (models.retention_targeting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.control_groups import TREATED, campaign_group
from models.retention_targeting import UpliftPredictor, best_offers, offer_uplifts
from tiercast.settings.retention import RetentionSettings

UPLIFT, CHURN_VALUE = "uplift", "churn_value"

RETENTION_COLUMNS = (
    "run_date",
    "desk",
    "rank",
    "subscriber_key",
    "group",
    "value_at_risk",
    "churn_score",
    "tier",
    "lifecycle_stage",
    "reasons",
    "suggested_action",
    "ranking",
    "incremental_value",
    "as_of",
    "run_id",
)


def value_if_lost(scored: pd.DataFrame, settings: RetentionSettings) -> pd.Series:
    """Return the margin a customer brings over the planning horizon (CNY): monthly margin x remaining months."""
    formula = settings.value_at_risk
    arpu = scored[formula.arpu_column].astype("float64").fillna(0.0).clip(lower=0.0)
    return (arpu * formula.margin_share * formula.remaining_months).rename("value_if_lost")


def value_at_risk(scored: pd.DataFrame, settings: RetentionSettings) -> pd.Series:
    """Return expected margin lost (CNY): churn probability x monthly margin x remaining months."""
    return (scored["churn_score"] * value_if_lost(scored, settings)).rename("value_at_risk")


def control_share(desk: pd.Series, settings: RetentionSettings) -> pd.Series:
    """Return each row's control share: its desk's own `control_share`, else retention.control_share."""
    shares = {name: d.control_share for name, d in settings.desks.items() if d.control_share is not None}
    return desk.astype("object").map(shares).astype("float64").fillna(settings.control_share).rename("control_share")


def exclusion_reason(scored: pd.DataFrame, settings: RetentionSettings) -> pd.Series:
    """Return why a subscriber must not be called (first reason that applies), or NA when callable."""
    recent = scored["days_since_retention_call"].astype("float64") <= settings.recent_retention_call_days
    reasons = [
        (scored["is_black_list"].astype(bool), "black list"),
        (scored["flea_flag"].astype(bool), "flea user"),
        (scored["do_not_contact"].astype(bool), "do not contact"),
        (recent.fillna(False).astype(bool), "retention call in the last days"),
    ]
    result = pd.Series(pd.NA, index=scored.index, dtype="str")
    for mask, text in reversed(reasons):
        result = result.mask(mask, text)
    return result.rename("exclusion_reason")


def desk_of(tier: pd.Series, settings: RetentionSettings) -> pd.Series:
    """Return the desk that calls each tier (NA for a tier no desk calls)."""
    mapping = {t: name for name, desk in settings.desks.items() for t in desk.tiers}
    return tier.astype("str").map(mapping).astype("str").rename("desk")


def suggested_action(scored: pd.DataFrame, settings: RetentionSettings) -> pd.Series:
    """Return the first offer of each row's tier whose feature bounds all hold (NA when none)."""
    action = pd.Series(pd.NA, index=scored.index, dtype="str")
    tier = scored["tier"].astype("str")
    for offer in settings.offers:
        applies = (tier == offer.tier) & action.isna()
        for feature, bounds in offer.when.items():
            values = scored[feature].astype("float64")
            if "ge" in bounds:
                applies &= (values >= bounds["ge"]).fillna(False)
            if "le" in bounds:
                applies &= (values <= bounds["le"]).fillna(False)
        action = action.mask(applies, offer.action)
    return action.rename("suggested_action")


def rank_by_desk(candidates: pd.DataFrame, settings: RetentionSettings) -> pd.DataFrame:
    """Return, per desk, the candidates with the largest value at risk up to the desk's capacity, with `rank`.

    Rows ranked by uplift (`ranking` = uplift) are ordered by their incremental value instead of value at risk.
    Ties go to the higher churn score, then the smaller subscriber_key, on the unrounded values, so
    the list is the same whether it is ranked whole or shard by shard and then again (merge).
    """
    priority = candidates["value_at_risk"].astype("float64")
    if "ranking" in candidates.columns:
        by_uplift = (candidates["ranking"] == UPLIFT).to_numpy(dtype=bool)
        priority = priority.mask(by_uplift, candidates["incremental_value"].astype("float64"))
    ranked = candidates.assign(_priority=priority).sort_values(
        ["desk", "_priority", "churn_score", "subscriber_key"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    ranked = ranked.drop(columns="_priority")
    rank = ranked.groupby("desk", sort=False).cumcount() + 1
    capacities = {name: desk.daily_capacity for name, desk in settings.desks.items()}
    # float64: an empty shard's (or an unknown desk's) capacity is a number too, never a str Series
    capacity = ranked["desk"].astype("object").map(capacities).astype("float64")
    within = (rank.to_numpy(dtype="float64") <= capacity.to_numpy()).astype(bool)
    return ranked[within].assign(rank=rank[within].astype("int64"))


@dataclass(frozen=True)
class UpliftTargeting:
    """An uplift champion as the lists use it: the model, the offers it has data on and what each costs (CNY)."""

    model: UpliftPredictor
    offers: tuple[str, ...]
    offer_costs: Mapping[str, float]
    offer_column: str = "offer"
    min_incremental_value: float = 0.0


def uplift_targeting(
    settings: RetentionSettings, candidates: pd.DataFrame, targeting: UpliftTargeting | None
) -> pd.DataFrame:
    """Return the callable `candidates` to rank, with `ranking`, `incremental_value`, `offer` and `offer_reason`.

    Without an uplift champion (`targeting` None): every candidate, ranking churn_value (today's list).
    With one: each candidate's best offer among `targeting.offers` by uplift x value if lost - cost; those
    whom every offer is predicted to harm, or whose best offer is not worth more than
    `min_incremental_value`, are left out (models.retention_targeting.best_offers).
    """
    if targeting is None or not targeting.offers:
        return candidates.assign(
            ranking=CHURN_VALUE, incremental_value=np.nan, offer=pd.Series(pd.NA, index=candidates.index, dtype="str"),
            offer_reason="",
        )  # fmt: skip
    uplifts = offer_uplifts(targeting.model, candidates, targeting.offers, targeting.offer_column)
    best = best_offers(
        uplifts, value_if_lost(candidates, settings), targeting.offer_costs, targeting.min_incremental_value
    )
    callable_ = best["excluded"].isna()
    return candidates[callable_].assign(
        ranking=UPLIFT,
        incremental_value=best.loc[callable_, "incremental_value"].astype("float64"),
        offer=best.loc[callable_, "offer"].astype("str"),
        offer_reason=best.loc[callable_, "reason"].astype("str"),
    )


def ranking_of(listed: pd.DataFrame, default: str = CHURN_VALUE) -> str:
    """Return the ranking a list was built with (uplift | churn_value), `default` for an empty list."""
    if "ranking" not in listed.columns or listed["ranking"].dropna().empty:
        return default
    return str(listed["ranking"].dropna().iloc[0])


def rounded_for_output(listed: pd.DataFrame, settings: RetentionSettings) -> pd.DataFrame:
    """Return the list as published: value at risk and churn score rounded as the settings say (after ranking)."""
    rounded = listed.assign(
        value_at_risk=listed["value_at_risk"].round(settings.value_decimals),
        churn_score=listed["churn_score"].astype("float64").round(settings.score_decimals),
    )
    if "incremental_value" in listed.columns:
        rounded["incremental_value"] = listed["incremental_value"].astype("float64").round(settings.value_decimals)
    return rounded


def retention_list(
    scored: pd.DataFrame,
    settings: RetentionSettings,
    as_of: date,
    run_id: str,
    key: bytes,
    targeting: UpliftTargeting | None = None,
) -> pd.DataFrame:
    """Return today's list: per desk, the callable subscribers with the largest value at risk (with an uplift
    champion in `targeting`: the largest incremental value, harmful calls left out), up to capacity, each
    `group` treated (to call) or control (held out at random: models.control_groups, drawn with the
    pseudonymisation `key` for the campaign date = run_date).

    Values are not rounded (`rounded_for_output` does it when the list is written).
    """
    candidates = scored.assign(
        value_at_risk=value_at_risk(scored, settings),
        desk=desk_of(scored["tier"], settings),
        excluded=exclusion_reason(scored, settings),
    )
    keep = candidates["excluded"].isna() & candidates["desk"].notna()
    if targeting is None:  # with uplift the bar is the incremental value (uplift.min_incremental_value)
        keep &= candidates["value_at_risk"] > settings.min_value_at_risk
    chosen = rank_by_desk(uplift_targeting(settings, candidates[keep], targeting), settings)
    churn_reasons = chosen["churn_reasons"] if "churn_reasons" in chosen else pd.Series("", index=chosen.index)
    reasons = chosen["offer_reason"].str.cat(churn_reasons.astype("str").fillna(""), sep="; ").str.strip("; ")
    by_uplift = (chosen["ranking"] == UPLIFT).to_numpy(dtype=bool)
    action = suggested_action(chosen, settings).mask(by_uplift, chosen["offer"])
    run_date = as_of + timedelta(days=settings.run_date_offset_days)
    keys = chosen["subscriber_key"].astype("str")
    listed = pd.DataFrame(
        {
            "run_date": pd.Timestamp(run_date),
            "desk": chosen["desk"],
            "rank": chosen["rank"],
            "subscriber_key": keys,
            "group": campaign_group(keys, run_date, key, control_share(chosen["desk"], settings)),
            "value_at_risk": chosen["value_at_risk"].astype("float64"),
            "churn_score": chosen["churn_score"].astype("float64"),
            "tier": chosen["tier"].astype("str"),
            "lifecycle_stage": chosen["lifecycle_stage"].astype("str"),
            "reasons": reasons.astype("str").fillna(""),
            "suggested_action": action.astype("str"),
            "ranking": chosen["ranking"].astype("str"),
            "incremental_value": chosen["incremental_value"].astype("float64"),
            "as_of": pd.Timestamp(as_of),
            "run_id": run_id,
        },
        index=chosen.index,
    )
    return listed.astype({"run_id": "str"}).reset_index(drop=True).loc[:, list(RETENTION_COLUMNS)]


def to_call(listed: pd.DataFrame) -> pd.DataFrame:
    """Return the listed customers a desk calls: the treated group (control members are never called)."""
    return listed[listed["group"] == TREATED]


def capacity_used(listed: pd.DataFrame, settings: RetentionSettings) -> dict[str, tuple[int, int]]:
    """Return {desk: (rows listed, daily capacity)} for the run summary; rows listed include the control group."""
    counts = listed["desk"].value_counts()
    return {name: (int(counts.get(name, 0)), desk.daily_capacity) for name, desk in settings.desks.items()}
