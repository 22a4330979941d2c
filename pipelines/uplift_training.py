"""Uplift training: past campaigns' treated and control members -> point-in-time rows -> fit -> held-out
Qini / AUUC -> MLflow -> register `tiercast-uplift` -> gate (issue 14, item 5).

Rows: every member (treated and control) of a campaign whose label window has closed by the data end.
Features are the feature table as of the eve of the campaign date (the day before its first calls, so
neither the campaign's calls nor anything later is seen), with `uplift.campaign_history` the member's answers
to earlier retention calls as of the same eve (features.campaign_history: campaigns issued and calls made by
then only), plus the campaign's offer (a control member carries the offer it would have had), so each
customer's uplift is predicted per offer. Label: the
member left within `uplift.horizon_days` of the eve (null: by the end of the campaign's month).
The latest matured campaign date(s) are held out: Qini and AUUC with bootstrap intervals, and the gate
(models.uplift.uplift_gate) against ranking by churn x value on the same members, with the churn score
of the registered churn champion when there is one, else of a churn model fitted on the training
campaigns' members (`FittedUplift.churn_source` says which).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.availability import unavailable_features
from features.campaign_history import HISTORY_COLUMNS, campaign_history, with_campaign_history
from features.labels import churn_labels
from models.churn import MissingFeaturesError
from models.retention import value_if_lost
from models.uplift import GateResult, UpliftModel, uplift_gate
from models.uplift_metrics import uplift_curves, uplift_metric_intervals
from pipelines.features import features_as_of, for_subscribers
from pipelines.training import LABEL, build_model, model_columns, month_end
from tiercast.errors import ModelError
from tiercast.settings import Settings
from tiercast.settings.uplift import UpliftSettings

log = logging.getLogger(__name__)

TREATED = "treated"
MEMBER_COLUMNS = ("subscriber_id", "campaign_date", "desk", "group")


@dataclass(frozen=True)
class CampaignPlan:
    """Which matured campaign dates train and which are held out."""

    train_dates: tuple[date, ...]
    holdout_dates: tuple[date, ...]
    data_end: date


def label_window(campaign_date: date, horizon_days: int | None) -> tuple[date, int]:
    """Return (feature date = the eve of the campaign date, label horizon in days from it)."""
    eve = campaign_date - timedelta(days=1)
    end = month_end(campaign_date) if horizon_days is None else eve + timedelta(days=horizon_days)
    return eve, (end - eve).days


def plan_campaigns(campaign_dates: Collection[date], data_end: date, settings: UpliftSettings) -> CampaignPlan:
    """Return the matured campaign dates (label window closed by `data_end`): the latest held out, the rest train."""
    matured = []
    for day in sorted(set(campaign_dates)):
        eve, horizon = label_window(day, settings.horizon_days)
        if eve + timedelta(days=horizon) <= data_end:
            matured.append(day)
    if len(matured) <= settings.holdout_campaigns:
        raise ModelError(
            f"uplift training needs more than {settings.holdout_campaigns} matured campaign date(s) "
            f"by {data_end}; found {len(matured)}"
        )
    cut = len(matured) - settings.holdout_campaigns
    return CampaignPlan(tuple(matured[:cut]), tuple(matured[cut:]), data_end)


def campaign_rows(
    tables: Mapping[str, pd.DataFrame],
    members: pd.DataFrame,
    campaign_date: date,
    settings: Settings,
    absent: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Return one row per member of the campaign of `campaign_date` active on its eve: features as of the eve
    (with `uplift.campaign_history` the HISTORY_COLUMNS as of the eve from `tables["campaigns"]`), `offer`,
    `desk`, `campaign_date`, `treated` and `churned` (left within the label window)."""
    eve, horizon = label_window(campaign_date, settings.uplift.horizon_days)
    ids = members["subscriber_id"].unique()
    subset = for_subscribers(tables, ids)
    features = features_as_of(subset, eve, settings, absent)
    labels = churn_labels(subset["subscribers"], eve, horizon)[["subscriber_id", LABEL]]
    offer = settings.uplift.offer_column
    chosen = members.loc[:, ["subscriber_id", "desk", "group", "offer"]].rename(columns={"offer": offer})
    rows = chosen.merge(features, on="subscriber_id", how="inner", validate="one_to_one")
    rows = rows.merge(labels, on="subscriber_id", how="inner", validate="one_to_one")
    if settings.uplift.campaign_history:
        rows = with_campaign_history(rows, campaign_history(tables["campaigns"], rows["subscriber_id"].to_numpy(), eve))
    out = rows.drop(columns="group")
    out[offer] = rows[offer].astype("str").fillna("none")
    out["campaign_date"] = pd.Timestamp(campaign_date)
    out[TREATED] = (rows["group"] == "treated").to_numpy()
    out[LABEL] = rows[LABEL].astype("int64")
    return out


def campaign_members(campaigns: pd.DataFrame, day: date) -> pd.DataFrame:
    """Return the members of the campaign(s) of `day` (one row per subscriber; the first desk if listed twice)."""
    dates = pd.to_datetime(campaigns["campaign_date"]).dt.date
    return campaigns[dates == day].drop_duplicates("subscriber_id").reset_index(drop=True)


def uplift_columns(rows: pd.DataFrame, settings: Settings, unavailable: Collection[str]) -> list[str]:
    """Return the uplift model's inputs: the churn model's feature columns plus the offer."""
    offer = settings.uplift.offer_column
    extra = {offer, "desk", "campaign_date", TREATED, "as_of"}
    return [*(c for c in model_columns(rows, settings.churn, unavailable) if c not in extra), offer]


def _newest_first(frames: list[pd.DataFrame], limit: int) -> pd.DataFrame:
    """Return the frames (one per campaign, oldest first) concatenated, dropping the oldest past `limit` rows."""
    kept, total = [], 0
    for frame in reversed(frames):
        if total >= limit:
            break
        kept.append(frame.head(limit - total))
        total += len(kept[-1])
    return pd.concat(list(reversed(kept)), ignore_index=True)


@dataclass
class FittedUplift:
    """Everything one uplift training produced before anything is logged."""

    plan: CampaignPlan
    model: UpliftModel
    columns: list[str]
    holdout: pd.DataFrame  # held-out members with uplift, churn_score, value_if_lost
    metrics: dict[str, float]
    gate: GateResult
    churn_source: str  # "churn champion v<N>" or "churn model fitted on the training campaigns' members"
    n_train: int
    curves: pd.DataFrame  # Qini curve of the uplift ranking on the holdout (uplift_curves)


def holdout_churn_scores(
    holdout: pd.DataFrame, train: pd.DataFrame, columns: list[str], settings: Settings, churn_model: Any, source: str
) -> tuple[np.ndarray, str]:
    """Return the held-out members' churn scores from `churn_model` (the champion), or, when there is none or
    it cannot score these features, from a churn model fitted on the training rows; and which it was."""
    if churn_model is not None:
        try:
            return np.asarray(churn_model.predict_proba(holdout)[:, 1], dtype="float64"), source
        except (MissingFeaturesError, KeyError, ValueError) as exc:
            log.warning("the churn champion cannot score the held-out members (%s): fitting one instead", exc)
    # the churn score of churn x value ranking, as the nightly's churn model has it: no campaign history
    inputs = [c for c in columns if c != settings.uplift.offer_column and c not in HISTORY_COLUMNS]
    fallback = build_model(inputs, settings.churn).fit(train[inputs], train[LABEL])
    scores = np.asarray(fallback.predict_proba(holdout[inputs])[:, 1], dtype="float64")
    return scores, "churn model fitted on the training campaigns' members"


def fit_uplift(
    tables: Mapping[str, pd.DataFrame],
    settings: Settings,
    data_end: date,
    absent: Mapping[str, Collection[str]] | None = None,
    churn_model: Any = None,
    churn_source: str = "champion",
) -> FittedUplift:
    """Build the campaign rows, fit the uplift model on the training campaigns and evaluate it on the held-out
    ones against churn x value ranking (`churn_model`: the churn champion, None to fit one)."""
    if "campaigns" not in tables:
        raise ModelError("uplift training needs the optional input table `campaigns` (data_contracts/campaigns.yaml)")
    cfg = settings.uplift
    campaigns = tables["campaigns"]
    plan = plan_campaigns(set(pd.to_datetime(campaigns["campaign_date"]).dt.date), data_end, cfg)

    def rows_of(days: tuple[date, ...]) -> list[pd.DataFrame]:
        return [campaign_rows(tables, campaign_members(campaigns, d), d, settings, absent) for d in days]

    train = _newest_first(rows_of(plan.train_dates), cfg.max_training_rows)
    holdout = pd.concat(rows_of(plan.holdout_dates), ignore_index=True)
    columns = uplift_columns(train, settings, unavailable_features(absent or {}))
    log.info(
        "uplift: training on %d members of %d campaigns, holdout %d", len(train), len(plan.train_dates), len(holdout)
    )
    model = UpliftModel(**cfg.model.model_dump(), offer_column=cfg.offer_column).fit(
        train[columns], train[TREATED], 1 - train[LABEL]
    )
    uplift = model.predict(holdout[columns])
    churn, source = holdout_churn_scores(holdout, train, columns, settings, churn_model, churn_source)
    value = value_if_lost(holdout, settings.retention).to_numpy()
    treated, churned = holdout[TREATED].to_numpy(), holdout[LABEL].to_numpy()
    gate = uplift_gate(uplift, churn, value, treated, churned, cfg.gate.n_boot, cfg.gate.seed, cfg.gate.level)
    scores = {"uplift": uplift, "churn": churn, "churn_value": churn * value}
    intervals = uplift_metric_intervals(
        scores, treated, 1 - churned, None, cfg.gate.n_boot, cfg.gate.seed, cfg.gate.level
    )
    metrics = evaluation_metrics(intervals, gate, holdout)
    decorated = holdout.assign(uplift=uplift, churn_score=churn, value_if_lost=value)
    curves = uplift_curves(uplift, treated, 1 - churned)
    return FittedUplift(plan, model, columns, decorated, metrics, gate, source, len(train), curves)


def evaluation_metrics(intervals: pd.DataFrame, gate: GateResult, holdout: pd.DataFrame) -> dict[str, float]:
    """Return the metrics logged with an uplift run: Qini and AUUC (with intervals) per ranking, the gate's figures,
    and the held-out campaign's observed lift (treated minus control churn rate)."""
    metrics = {f"{name}.{metric}": float(value) for name, row in intervals.iterrows() for metric, value in row.items()}
    treated = holdout[TREATED].to_numpy()
    churned = holdout[LABEL].to_numpy(dtype="float64")
    metrics |= {
        "gate.passed": float(gate.passed),
        "gate.value_qini_uplift": gate.value_qini_uplift,
        "gate.value_qini_churn_value": gate.value_qini_churn_value,
        "gate.value_qini_gain": gate.value_qini_gain,
        "gate.value_qini_gain_low": gate.value_qini_gain_low,
        "gate.value_qini_gain_high": gate.value_qini_gain_high,
        "holdout.n": float(len(holdout)),
        "holdout.n_control": float((~treated).sum()),
        "holdout.churn_rate_treated": float(churned[treated].mean()) if treated.any() else float("nan"),
        "holdout.churn_rate_control": float(churned[~treated].mean()) if (~treated).any() else float("nan"),
    }
    return metrics


@dataclass(frozen=True)
class UpliftTrainingResult:
    """What `tiercast uplift train` reports: the run, the registered version, the gate, the fit."""

    run_id: str
    version: str
    promoted: bool
    fitted: FittedUplift


def qini_figure(fitted: FittedUplift) -> Any:
    """Return the held-out Qini curve of the uplift ranking against random targeting (pipelines.plots)."""
    from pipelines.plots import new_figure

    fig, ax = new_figure("Qini curve on the held-out campaign(s)")
    curves = fitted.curves
    ax.plot(curves["share_targeted"], curves["qini"], label=f"uplift (Qini {fitted.gate.qini:.4f})")
    ax.plot([0, 1], [0, curves["qini"].iloc[-1]], linestyle="--", color="grey", label="random")
    ax.set_xlabel("share of members targeted")
    ax.set_ylabel("incremental customers kept")
    ax.legend()
    return fig


def apply_gate(registry_settings: Settings, version: str, gate: GateResult) -> bool:
    """Tag the version with the gate's decision and promote it to champion when it passed; return whether it did."""
    from pipelines import registry, tracking

    tags = {"gate_metric": "qini", "gate_value": gate.qini, "gate_reason": gate.reason}
    tracking.set_version_tags(registry_settings, version, tags)
    if gate.passed:
        registry.promote(registry_settings, version, gate.reason)
    else:
        tracking.set_version_tags(registry_settings, version, {"status": "rejected"})
    return gate.passed


def log_and_gate(settings: Settings, fitted: FittedUplift) -> UpliftTrainingResult:
    """Log the uplift run (params, metrics, Qini curve, gate, model), register it as challenger and gate it."""
    from pipelines import registry, tracking

    cfg = settings.uplift
    registry_settings = registry.for_model(settings, cfg.registered_model)
    holdout_name = ",".join(map(str, fitted.plan.holdout_dates))
    with tracking.run(settings, cfg.experiment, run_name=f"uplift-{holdout_name}") as run_id:
        tracking.log_params(
            {
                "train_campaigns": ",".join(map(str, fitted.plan.train_dates)),
                "holdout_campaigns": holdout_name,
                "data_end": fitted.plan.data_end,
                "n_train": fitted.n_train,
                "n_holdout": len(fitted.holdout),
                "n_features": len(fitted.columns),
                "campaign_history": any(c in HISTORY_COLUMNS for c in fitted.columns),
                "churn_score_source": fitted.churn_source,
                **{f"uplift_{k}": v for k, v in cfg.model.model_dump().items()},
            }
        )
        tracking.log_metrics(fitted.metrics)
        tracking.log_dict({**vars(fitted.gate), "churn_score_source": fitted.churn_source}, "uplift_gate.json")
        tracking.log_dict({"features": list(fitted.columns)}, "uplift_features.json")
        if settings.tracking.log_plots:
            tracking.log_figure(qini_figure(fitted), "plots/qini.png")
        example = fitted.holdout[fitted.columns].head(5)
        model_uri = tracking.log_model(settings, fitted.model, example, predict_fn="predict")
        tags = {"holdout_campaigns": holdout_name, "data_end": fitted.plan.data_end, "run_id": run_id}
        tags["needs_campaigns"] = any(c in HISTORY_COLUMNS for c in fitted.columns)  # scoring needs that input
        version = registry.register_challenger(registry_settings, model_uri, tags)
        promoted = apply_gate(registry_settings, version, fitted.gate)
        tracking.set_tags({"model_version": version, "promoted": promoted, "gate_reason": fitted.gate.reason})
    return UpliftTrainingResult(run_id, version, promoted, fitted)


def churn_champion(settings: Settings) -> tuple[Any, str]:
    """Return the registered churn champion and its label ("champion v3"), or (None, "") when there is none."""
    from pipelines import registry

    version = registry.champion_version(settings)
    if version is None:
        return None, ""
    model, version = registry.load_champion(settings)
    return model, f"churn champion v{version}"


def train_uplift(settings: Settings, data_dir: Path | None = None, as_of: date | None = None) -> UpliftTrainingResult:
    """Validate the inputs in `data_dir`, fit and evaluate the uplift model on the campaigns matured by `as_of`
    (default: the data end), then log, register and gate it."""
    from pipelines.features import data_end_date
    from pipelines.ingest import validate_inputs

    inputs = validate_inputs(settings, data_dir or settings.paths.resolve(settings.paths.raw), None, None, "uplift")
    end = as_of or data_end_date(inputs.tables["bills"], settings.validation.data_end_min_share)
    churn_model, source = churn_champion(settings)
    fitted = fit_uplift(inputs.tables, settings, end, inputs.absent, churn_model, source)
    return log_and_gate(settings, fitted)
