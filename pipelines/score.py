"""The scoring step: feature table + champion model -> scored table -> tier table + retention lists -> publish.

The raw MSISDN is read from the subscribers table only here, turned into subscriber_key at once and
never kept as a column; nothing downstream of `key_subscribers` sees a phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from data_contracts.loader import load_contract, validate_output
from models.callbacks import callback_list
from models.churn import reason_codes
from models.lifecycle import assign_stages, new_customer_months
from models.retention import CHURN_VALUE, UpliftTargeting, ranking_of, retention_list
from models.routing import route
from pipelines.privacy import subscriber_key
from pipelines.stage_clock import StageClock
from pipelines.uplift_inputs import scoring_rows
from tiercast.settings import Settings

log = logging.getLogger(__name__)

# Settings sections whose values shape the published content; their fingerprint is part of run_id.
RUN_SECTIONS = ("features", "tiers", "lifecycle", "churn", "routing", "retention", "uplift")


@dataclass(frozen=True)
class ScoreResult:
    """What one scoring run produced, ready to publish."""

    tier_table: pd.DataFrame
    retention: pd.DataFrame
    as_of: date
    run_id: str
    model_version: str
    stages: pd.DataFrame  # subscriber_id, lifecycle_stage: kept for tomorrow's hysteresis
    scored: pd.DataFrame | None = None  # features, churn_score, tier, lifecycle_stage by subscriber_id (monitoring)
    callbacks: pd.DataFrame | None = None  # the call-back list, when the contacts were given
    ranking: str = CHURN_VALUE  # how the retention list was ranked: uplift | churn_value (run summary)
    uplift_version: str | None = None  # the uplift champion's version when ranking = uplift
    to_explain: pd.DataFrame | None = None  # explain=False: the listed customers' scored rows, reasons not yet added


def run_id_for(settings: Settings, as_of: date, model_version: str, key: bytes) -> str:
    """Return the run identity: as_of, model version and a fingerprint of the settings and key that shape the output.

    A rerun for the same as_of with the same model and settings has the same run_id and the same
    content; the publisher replaces that as_of's rows.
    """
    sections = {name: getattr(settings, name).model_dump(mode="json") for name in RUN_SECTIONS}
    sections["key_id"] = hmac.new(key, b"tiercast key id", hashlib.sha256).hexdigest()[:16]  # not the key
    fingerprint = hashlib.sha256(json.dumps(sections, sort_keys=True).encode()).hexdigest()[:8]
    return f"{as_of:%Y%m%d}-m{model_version}-{fingerprint}"


def published_score(probability: Any, decimals: int) -> np.ndarray:
    """Return churn probabilities clipped to [0, 1], rounded to `decimals` (publish.score_decimals) before routing."""
    return np.round(np.clip(np.asarray(probability, dtype="float64"), 0.0, 1.0), decimals)


def score_features(
    features: pd.DataFrame,
    model: Any,
    model_version: str,
    settings: Settings,
    previous_stages: pd.DataFrame | None = None,
    clock: StageClock | None = None,
) -> pd.DataFrame:
    """Return features + churn_score, model_version, and lifecycle stages re-assigned with the score.

    churn_reasons stays empty here: reason codes need per-feature contributions, which cost far
    more than a score, so `with_reasons` computes them only for the customers on the retention list.
    `clock` gets the seconds of the scoring and of the lifecycle stages (the nightly's stage profile).
    """
    clock = clock or StageClock()
    with clock.timed("scoring"):
        churn = published_score(np.asarray(model.predict_proba(features))[:, 1], settings.publish.score_decimals)
        scored = features.assign(churn_score=churn, churn_reasons="", model_version=model_version)
    with clock.timed("tiers and lifecycle"):
        by_id = pd.Series(churn, index=features["subscriber_id"].to_numpy())
        return assign_stages(scored, settings.lifecycle, previous=previous_stages, churn_score=by_id)


def explained_rows(listed: pd.DataFrame, keyed: pd.DataFrame) -> pd.DataFrame:
    """Return the scored rows of the listed customers, in the list's order: what their reason codes are computed on."""
    return keyed.set_index("subscriber_key").loc[listed["subscriber_key"]].reset_index()


def add_reasons(
    listed: pd.DataFrame, rows: pd.DataFrame, model: Any, top_k: int, new_customer_months: float | None = None
) -> pd.DataFrame:
    """Return the retention list with the top `top_k` reasons in plain words for each listed customer, computed
    on `rows` (explained_rows: the listed customers' scored rows, in the list's order)."""
    if listed.empty:
        return listed
    reasons = reason_codes(model, rows, top_k=top_k, new_customer_months=new_customer_months)
    churn = pd.Series(reasons.to_numpy(), index=listed.index, dtype="str").fillna("")
    # an uplift-ranked list already says which offer the customer is likely to respond to: keep it first
    joined = listed["reasons"].astype("str").fillna("").str.cat(churn, sep="; ").str.strip("; ")
    return listed.assign(reasons=joined.astype("str"))


def with_reasons(
    listed: pd.DataFrame, keyed: pd.DataFrame, model: Any, top_k: int, new_customer_months: float | None = None
) -> pd.DataFrame:
    """Return the retention list with the top `top_k` reasons in plain words for each listed customer."""
    if listed.empty:
        return listed
    return add_reasons(listed, explained_rows(listed, keyed), model, top_k, new_customer_months)


def key_subscribers(scored: pd.DataFrame, subscribers: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Return `scored` plus subscriber_key (HMAC of the subscriber's MSISDN); the MSISDN itself is not kept."""
    numbers = scored["subscriber_id"].map(subscribers.set_index("subscriber_id")["msisdn"])
    if numbers.isna().any():
        raise ValueError(f"{int(numbers.isna().sum())} scored subscribers have no MSISDN in the subscribers table")
    keyed = scored.assign(subscriber_key=subscriber_key(numbers, key))
    return keyed.drop(columns=[c for c in ("msisdn",) if c in keyed.columns])


def tier_table(routed: pd.DataFrame, as_of: date, run_id: str, decimals: int) -> pd.DataFrame:
    """Return the contract-checked tier table (data_contracts/tier_table.yaml), ordered by subscriber_key.

    Churn scores rounded to `decimals` (publish.score_decimals).
    """
    text = ["subscriber_key", "tier", "lifecycle_stage", "risk_band", "queue", "reason", "model_version"]
    table = routed.astype(dict.fromkeys(text, "str")).assign(
        is_red_list=routed["is_red_list"].astype(bool),
        is_black_list=routed["is_black_list"].astype(bool),
        flea_flag=routed["flea_flag"].astype(bool),
        churn_score=published_score(routed["churn_score"], decimals),
        as_of=pd.Timestamp(as_of),
        run_id=pd.Series(run_id, index=routed.index, dtype="str"),
    )
    columns = load_contract("tier_table").column_names
    ordered = table.loc[:, columns].sort_values("subscriber_key", kind="stable").reset_index(drop=True)
    return validate_output(ordered, "tier_table", examples=0)


_UPLIFT: dict[tuple[str, str], tuple[UpliftTargeting, str]] = {}  # one loaded uplift champion per process
_UPLIFT_LOCK = threading.Lock()


def targeting_for(model: Any, settings: Settings) -> UpliftTargeting:
    """Return an uplift model as the lists use it: the offers it was trained on (its offer column's categories)
    and their costs (uplift.offer_costs)."""
    column = settings.uplift.offer_column
    offers = tuple(str(o) for o in getattr(model, "categories_", {}).get(column, ()))
    return UpliftTargeting(model, offers, settings.uplift.offer_costs, column, settings.uplift.min_incremental_value)


def uplift_champion(settings: Settings) -> tuple[UpliftTargeting | None, str | None]:
    """Return the uplift champion ready for targeting and its version, (None, None) without one.

    The model is loaded once per process (thread or Dask worker) and version, like the churn model in
    pipelines.nightly; a missing local MLflow store means no champion (nothing is created).
    """
    from pipelines import registry, tracking

    uri = tracking.tracking_uri(settings)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None, None
    uplift_settings = registry.for_model(settings, settings.uplift.registered_model)
    version = registry.champion_version(uplift_settings)
    if version is None:
        return None, None
    with _UPLIFT_LOCK:
        if (uri, version) not in _UPLIFT:
            _UPLIFT.clear()
            model = tracking.load_version(uplift_settings, version)
            _UPLIFT[(uri, version)] = (targeting_for(model, settings), version)
            log.info("retention lists ranked by uplift: %s v%s", settings.uplift.registered_model, version)
        return _UPLIFT[(uri, version)]


def build_outputs(
    features: pd.DataFrame,
    subscribers: pd.DataFrame,
    model: Any,
    model_version: str,
    as_of: date,
    settings: Settings,
    key: bytes,
    previous_stages: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    targeting: UpliftTargeting | Literal["champion"] | None = "champion",
    clock: StageClock | None = None,
    explain: bool = True,
    campaign_history: pd.DataFrame | None = None,
    history_noted: bool = False,
) -> ScoreResult:
    """Return the tier table and retention list for one as_of from the feature table and the model, and with
    the subscribers' `contacts` (those of the as_of day suffice) the call-back list.

    `targeting`: "champion" ranks the list by uplift when an uplift model is champion (`uplift_champion`),
    else by churn x value; None always by churn x value; or a given uplift model. `clock` gets the seconds
    of each stage (scoring, keys, routing, retention, reason codes, tier table). `explain=False` leaves the
    churn reasons out of the list and returns the listed customers' rows in `to_explain` (`add_reasons`
    adds them later: the nightly explains only the customers left after the shards' lists are merged).
    `campaign_history`: the lines' campaign history as of `as_of` (pipelines.uplift_inputs), for an uplift model
    trained with it; without it such a model is not used (churn x value, logged as a warning unless
    `history_noted`: the caller has warned already, as the nightly's staging does once for all its shards).
    """
    clock = clock or StageClock()
    run_id = run_id_for(settings, as_of, model_version, key)
    scored = score_features(features, model, str(model_version), settings, previous_stages, clock)
    with clock.timed("subscriber keys"):
        keyed = key_subscribers(scored, subscribers, key)
    with clock.timed("routing"):
        routed = route(keyed, settings.routing)
    uplift_version = None
    with clock.timed("retention"):
        if targeting == "champion":
            targeting, uplift_version = uplift_champion(settings)
        candidates = (
            keyed
            if targeting is None
            else scoring_rows(targeting.model, uplift_version, keyed, campaign_history, warn=not history_noted)
        )
        if candidates is None:  # the uplift model needs the campaign history and there is none tonight
            targeting, uplift_version, candidates = None, None, keyed
        listed = retention_list(candidates, settings.retention, as_of, run_id, key, targeting)
    to_explain = None
    with clock.timed("reason codes"):
        if explain:
            listed = with_reasons(
                listed, keyed, model, settings.churn.reasons_top_k, new_customer_months(settings.lifecycle)
            )
        else:
            to_explain = explained_rows(listed, keyed) if len(listed) else keyed.head(0)
    callbacks = None
    with clock.timed("retention"):
        if contacts is not None:
            owed = callback_list(contacts, keyed, as_of, settings.retention, run_id)
            callbacks = validate_output(owed, "callback_list", examples=0)
    with clock.timed("tier table"):
        table = tier_table(routed, as_of, run_id, settings.publish.score_decimals)
    with clock.timed("retention"):
        retention = validate_output(listed, "retention_list", examples=0)
    return ScoreResult(
        tier_table=table,
        retention=retention,
        as_of=as_of,
        run_id=run_id,
        model_version=str(model_version),
        stages=scored[["subscriber_id", "lifecycle_stage"]].reset_index(drop=True),
        scored=scored,
        callbacks=callbacks,
        ranking=ranking_of(listed, CHURN_VALUE if targeting is None else "uplift"),
        uplift_version=uplift_version,
        to_explain=to_explain,
    )
