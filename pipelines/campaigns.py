"""Campaign evaluation: what the retention desks' calls achieved against their random control groups.

validated inputs (campaigns, subscribers, bills, payments, contacts) -> each member's tier and value as
known the day before its campaign -> churned within the horizon -> models.campaign_effect (treated vs
control, bootstrap intervals) at every level -> CSV + Parquet + PNG -> MLflow experiment `tiercast-campaigns`.

Point in time. A campaign's list is issued on campaign_date from what was known by the end of the day
before (the generator plans month t + 1's campaign at the end of month t; the desks' own calls start on
campaign_date). So each member's tier and value come from the feature table as of campaign_date - 1
(features.build.feature_table: bills, payments and contacts after that day are ignored), tiered with
models.tiers.assign_tiers over the whole base active that day (quantile cut-offs are shares of the base,
as the nightly run would have published them), valued with models.retention.value_if_lost. A member with
no feature row that day (not active) gets tier `unknown` and value 0. This costs one feature table per
campaign date; cheaper stand-ins (tiers of members only) would move the quantile cut-offs.

churned = deactivated in (campaign_date, campaign_date + churn.horizon_days]. Only campaigns whose
horizon has passed in the data (campaign_date + horizon <= the data's end, pipelines.data_end) are
evaluated; the others are returned as not matured yet, with the day they mature.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.campaign_effect import LEVELS, SEGMENT, STATISTICS, campaign_effect_report
from models.retention import value_if_lost
from models.tiers import assign_tiers
from pipelines import tracking
from pipelines.features import data_end_date, features_as_of
from pipelines.ingest import validate_inputs
from pipelines.plots import new_figure
from tiercast.errors import InputError
from tiercast.settings import Settings

log = logging.getLogger(__name__)

EXPERIMENT = "tiercast-campaigns"  # issue 14
TABLE = "campaigns"
UNKNOWN = "unknown"  # tier of a member not active the day before its campaign; offer not recorded
TIER_ORDER = ("high", "mid", "low", UNKNOWN)
CAMPAIGN = "campaign_date"
DESKS = "campaign_date x desk"
OVERALL = "overall"
_RATES = ("n_treated", "n_control", "churn_rate_treated", "churn_rate_control")
NUMBERS = (*_RATES, *(f"{name}{end}" for name in STATISTICS for end in ("", "_low", "_high")))


@dataclass(frozen=True)
class CampaignReport:
    """The matured campaigns' effects at every level, the campaigns not matured yet, and where it went."""

    table: pd.DataFrame
    pending: pd.DataFrame
    data_end: date
    horizon_days: int
    files: dict[str, Path] = field(default_factory=dict)
    run_id: str | None = None


def churned_within(campaigns: pd.DataFrame, subscribers: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Return per campaign row whether its subscriber was deactivated in (campaign_date, campaign_date + horizon]."""
    left = campaigns[["subscriber_id"]].merge(
        subscribers[["subscriber_id", "deactivation_date"]], on="subscriber_id", how="left"
    )["deactivation_date"]
    start = campaigns[CAMPAIGN].dt.normalize().to_numpy()
    gone = pd.to_datetime(left).dt.normalize().to_numpy()
    inside = (gone > start) & (gone <= start + np.timedelta64(horizon_days, "D"))
    return pd.Series(inside, index=campaigns.index, name="churned")


def matured(campaign_dates: pd.Series, data_end: date, horizon_days: int) -> pd.Series:
    """Return whether each campaign's horizon has passed in the data: campaign_date + horizon <= data end."""
    return (campaign_dates.dt.normalize() + pd.Timedelta(days=horizon_days)) <= pd.Timestamp(data_end)


def tier_and_value(
    tables: Mapping[str, pd.DataFrame],
    as_of: date,
    settings: Settings,
    absent: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Return subscriber_id, tier and value (CNY if lost) of every subscriber active at `as_of`, as known then."""
    tiered = assign_tiers(features_as_of(tables, as_of, settings, absent), settings.tiers)
    return pd.DataFrame(
        {
            "subscriber_id": tiered["subscriber_id"].to_numpy(),
            "tier": tiered["tier"].astype("str").to_numpy(),
            "value": value_if_lost(tiered, settings.retention).to_numpy(),
        }
    )


def not_matured(campaigns: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Return per campaign date and desk: members and the day the campaign's horizon passes."""
    counts = campaigns.groupby([CAMPAIGN, "desk"], sort=True).size().rename("members").reset_index()
    return counts.assign(matures_on=counts[CAMPAIGN].dt.normalize() + pd.Timedelta(days=horizon_days))


def campaign_members(
    tables: Mapping[str, pd.DataFrame],
    settings: Settings,
    data_end: date,
    absent: Mapping[str, Collection[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the matured campaigns' members (group, churned, value and the SEGMENT columns) and `not_matured`."""
    campaigns = tables[TABLE]
    horizon = settings.churn.horizon_days
    done = matured(campaigns[CAMPAIGN], data_end, horizon).to_numpy()
    evaluated = campaigns[done]
    parts = []
    for day, rows in evaluated.groupby(CAMPAIGN, sort=True):
        as_of = pd.Timestamp(str(day)).date() - timedelta(days=1)
        known = tier_and_value(tables, as_of, settings, absent)
        parts.append(rows.merge(known, on="subscriber_id", how="left").set_index(rows.index))
    columns = [*SEGMENT, "subscriber_id", "group", "churned", "value"]
    if not parts:
        return pd.DataFrame(columns=columns), not_matured(campaigns[~done], horizon)
    members = pd.concat(parts).assign(churned=churned_within(evaluated, tables["subscribers"], horizon))
    members = members.assign(
        tier=members["tier"].fillna(UNKNOWN),
        offer=members["offer"].fillna(UNKNOWN),
        value=members["value"].fillna(0.0),
    )
    return members[columns].reset_index(drop=True), not_matured(campaigns[~done], horizon)


def campaign_report(members: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Return models.campaign_effect's report at every level (empty when no member), rows ordered for reading:
    level (full breakdown, desks, campaigns, overall), campaign date, desk, tier (high, mid, low), offer."""
    if members.empty:
        return campaign_effect_report(members.head(0), n_boot=1).head(0)
    table = campaign_effect_report(members, LEVELS, n_boot=n_boot, seed=seed)
    rank = {name: i for i, name in enumerate(TIER_ORDER)}
    order = table.assign(
        _level=table["level"].map({" x ".join(by) or OVERALL: i for i, by in enumerate(LEVELS)}),
        _tier=table["tier"].map(rank),
    )
    order = order.sort_values(["_level", CAMPAIGN, "desk", "_tier", "offer"], na_position="first", kind="stable")
    return order.drop(columns=["_level", "_tier"]).reset_index(drop=True)


def _plain(value: Any) -> Any:
    """Return a JSON-ready number: int, float rounded to 6 digits, None for NaN."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else round(number, 6)


def _numbers(row: pd.Series) -> dict[str, Any]:
    return {name: _plain(row[name]) for name in NUMBERS}


def campaign_summary(report: pd.DataFrame) -> dict[str, Any]:
    """Return, JSON-ready, the latest matured campaign's effect (all desks and per desk), every matured campaign
    pooled, and how many campaigns were evaluated: counts, churn rates, lift, relative lift, customers and value
    saved, each with its interval (`<name>_low`, `<name>_high`)."""
    campaigns = report[report["level"] == CAMPAIGN]
    if campaigns.empty:
        return {"matured_campaigns": 0, "latest_campaign_date": None, "latest": None, "all_matured": None}
    latest = campaigns[CAMPAIGN].max()
    desks = report[(report["level"] == DESKS) & (report[CAMPAIGN] == latest)]
    overall = report[report["level"] == OVERALL].iloc[0]
    return {
        "matured_campaigns": len(campaigns),
        "latest_campaign_date": pd.Timestamp(latest).date().isoformat(),
        "latest": {
            **_numbers(campaigns[campaigns[CAMPAIGN] == latest].iloc[0]),
            "desks": {str(row["desk"]): _numbers(row) for _, row in desks.iterrows()},
        },
        "all_matured": _numbers(overall),
    }


def latest_summary(settings: Settings, as_of: date) -> dict[str, Any]:
    """Return the nightly summary's campaign part: `campaign_summary` of the latest report written by
    `tiercast campaigns report` for data up to `as_of` (a campaign is judged once, when its horizon has
    passed, not every night), with where it is; a note when there is none."""
    folder = settings.paths.resolve(settings.paths.reports) / "campaigns"
    dated = []
    for path in folder.glob("campaign_report_*.parquet"):
        try:
            day = date.fromisoformat(path.stem.removeprefix("campaign_report_"))
        except ValueError:
            continue
        if day <= as_of:
            dated.append((day, path))
    if not dated:
        return {
            "note": "no campaign report yet: `tiercast campaigns report` judges campaigns once their horizon passed"
        }
    day, path = max(dated)
    return {**campaign_summary(pd.read_parquet(path)), "report": str(path), "data_end": day.isoformat()}


def lift_figure(report: pd.DataFrame, level: float = 0.95) -> Figure:
    """Return lift (control churn - treated churn) with its interval per campaign date: each desk and all desks."""
    fig, ax = new_figure(f"Campaign lift with {level:.0%} intervals (> 0: calls kept customers)", (9, 4.8))
    desks = report[report["level"] == DESKS]
    overall = report[report["level"] == CAMPAIGN]
    days = sorted(overall[CAMPAIGN].unique())
    position = {day: i for i, day in enumerate(days)}
    series = [(str(d), desks[desks["desk"] == d]) for d in sorted(desks["desk"].unique())] + [("all desks", overall)]
    width = 0.8 / max(len(series), 1)
    for k, (name, rows) in enumerate(series):
        x = rows[CAMPAIGN].map(position).to_numpy(dtype=float) - 0.4 + width * (k + 0.5)
        lift = rows["lift"].to_numpy(dtype=float)
        spread = np.vstack([lift - rows["lift_low"].to_numpy(float), rows["lift_high"].to_numpy(float) - lift])
        every = name == "all desks"
        ax.errorbar(
            x, lift, yerr=np.nan_to_num(spread), ls="none", capsize=3, label=name,
            marker="s" if every else "o", color="black" if every else None,
        )  # fmt: skip
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(days)), [f"{pd.Timestamp(d):%Y-%m-%d}" for d in days], rotation=45, ha="right")
    ax.set(xlabel="campaign date", ylabel="lift (share of members kept)", xlim=(-0.5, len(days) - 0.5))
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def write_report(report: CampaignReport, out_dir: Path) -> dict[str, Path]:
    """Write the report (all levels) as CSV and Parquet, the campaigns not matured yet (CSV) and the lift PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"campaign_report_{report.data_end}"
    files = {"csv": out_dir / f"{stem}.csv", "parquet": out_dir / f"{stem}.parquet"}
    report.table.to_csv(files["csv"], index=False)
    report.table.to_parquet(files["parquet"], index=False)
    files["not_matured"] = out_dir / f"{stem}_not_matured.csv"
    report.pending.to_csv(files["not_matured"], index=False)
    if not report.table.empty:
        files["chart"] = out_dir / f"{stem}_lift.png"
        lift_figure(report.table).savefig(files["chart"])
    return files


def log_report(settings: Settings, report: CampaignReport, n_boot: int) -> str:
    """Log one run to EXPERIMENT: each campaign's and desk's metrics at step = campaign date, files as artifacts."""
    table = report.table
    with tracking.run(settings, EXPERIMENT, run_name=f"campaigns to {report.data_end}") as run_id:
        tracking.log_params(
            {"data_end": report.data_end, "horizon_days": report.horizon_days, "n_boot": n_boot, "level": 0.95}
        )
        tracking.log_metrics(
            {"campaigns_matured": table["level"].eq(CAMPAIGN).sum(), "not_matured": len(report.pending)}
        )
        for day, rows in table[table["level"].isin([CAMPAIGN, DESKS])].groupby(CAMPAIGN, sort=True):
            for _, row in rows.iterrows():
                prefix = "all." if row["level"] == CAMPAIGN else f"desk.{row['desk']}."
                tracking.log_metrics(_numbers(row), prefix, day=pd.Timestamp(str(day)).date())
        shown = table[table["level"].isin([DESKS, CAMPAIGN, OVERALL])]
        tracking.log_table(shown.assign(**{CAMPAIGN: shown[CAMPAIGN].astype("str")}), "campaign_report.json")
        for name, path in report.files.items():
            tracking.log_artifact(path, "charts" if name == "chart" else "report")
    return run_id


def run(
    settings: Settings,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    track: bool = True,
) -> CampaignReport:
    """Return the campaign report of the export in `data_dir` (default paths.raw), written to `out_dir`
    (default <paths.reports>/campaigns) and, with `track`, logged to MLflow."""
    inputs = validate_inputs(settings, data_dir, kind="campaigns")
    tables = inputs.tables
    if TABLE not in tables:
        where = data_dir or settings.paths.resolve(settings.paths.raw)
        raise InputError(f"{where} has no {TABLE} table (data_contracts/campaigns.yaml): no campaign to evaluate")
    end = data_end_date(tables["bills"], settings.validation.data_end_min_share)
    members, pending = campaign_members(tables, settings, end, inputs.absent)
    log.info("campaigns: %d members of matured campaigns, %d campaign desks not matured", len(members), len(pending))
    report = CampaignReport(campaign_report(members, n_boot, seed), pending, end, settings.churn.horizon_days)
    target = out_dir or settings.paths.resolve(settings.paths.reports) / "campaigns"
    report = replace(report, files=write_report(report, target))
    if track:
        report = replace(report, run_id=log_report(settings, report, n_boot))
    return report
