"""The service-level report: contacts from a data folder -> each contact's tier from the tier table live when
it happened -> KPIs per day, hour and tier (models/service_kpis.py) -> CSV tables and a PNG of service level by hour.

Inputs are read and validated through pipelines.ingest (bad rows quarantined, as every step does).
Each contact's tier is its caller's row, by subscriber_key (the keyed HMAC of the MSISDN, pipelines/privacy.py),
in the tier table version the routing service read at the contact's time (pipelines/service_tiers.py: the
version switched in last before it; the live table for contacts whose version's table is no longer kept,
said per day). With nothing published only the 'all' rows are reported, and the report says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.service_kpis import ALL, ServiceKpis, service_kpis
from pipelines.ingest import validate_inputs
from pipelines.service_tiers import attributed_tiers, day_text
from tiercast.settings import Settings

log = logging.getLogger(__name__)

COLOURS = {"high": "tab:red", "mid": "tab:orange", "low": "tab:blue", "unlisted": "tab:purple", ALL: "black"}


@dataclass(frozen=True)
class ServiceLevelReport:
    """The KPIs of a date range, where the tiers came from (overall and per day), and the files written."""

    kpis: ServiceKpis
    start: date
    end: date
    tiers_from: str
    days: pd.DataFrame
    files: dict[str, Path]


def hour_profile(hourly: pd.DataFrame) -> pd.DataFrame:
    """Return per tier and hour of day, over every day of the range: offered, answered within, service level."""
    table = hourly.groupby(["tier", "hour"], sort=True).agg(
        offered=("offered", "sum"), answered_within=("answered_within", "sum"), target=("target", "first")
    )
    return table.assign(service_level=table["answered_within"] / table["offered"]).reset_index()


def service_level_figure(profile: pd.DataFrame, order: list[str], within_s: int, start: date, end: date) -> Figure:
    """Return one panel per tier (in `order`): service level by hour of day (days pooled) against its target."""
    tiers = [tier for tier in order if tier in set(profile["tier"])]
    fig = Figure(figsize=(8, 2.4 * len(tiers) + 0.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(tiers), 1, sharex=True, squeeze=False)[:, 0]
    for ax, tier in zip(axes, tiers, strict=True):
        mine = profile[profile["tier"] == tier]
        colour = COLOURS.get(tier, "tab:green")
        ax.plot(
            mine["hour"],
            mine["service_level"],
            marker="o",
            color=colour,
            label=f"{tier}: answered within {within_s} s / offered",
        )
        target = mine["target"].iloc[0]
        if not np.isnan(target):
            ax.axhline(target, ls="--", color="grey", label=f"target {target:.0%}")
            low = mine[mine["service_level"] < target]
            ax.scatter(low["hour"], low["service_level"], color="red", zorder=3, label="below target")
        ax.set(xlim=(-0.5, 23.5), ylim=(0, 1.05), ylabel="service level", xticks=range(0, 24, 2))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    axes[-1].set_xlabel("hour of day (queue entry)")
    fig.suptitle(f"Service level by hour, {start} to {end}")
    fig.tight_layout()
    return fig


def write_report(
    kpis: ServiceKpis, days: pd.DataFrame, within_s: int, start: date, end: date, out_dir: Path
) -> dict[str, Path]:
    """Write the hourly, daily and period tables and where each day's tiers came from (CSV) and, when service
    level is known, the chart (PNG). The daily table says per day which tier table versions its tiers are from."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"service_levels_{start}_{end}"
    tables = {
        "period": kpis.period,
        "daily": kpis.daily.merge(tiers_per_day(days), on="day", how="left"),
        "hourly": kpis.hourly,
        "tiers": days,
    }
    files = {}
    for name, table in tables.items():
        files[name] = out_dir / f"{stem}_{name}.csv"
        table.to_csv(files[name], index=False)
    if "service_level" not in kpis.unavailable and not kpis.hourly.empty:
        files["chart"] = out_dir / f"{stem}.png"
        figure = service_level_figure(hour_profile(kpis.hourly), list(kpis.period["tier"]), within_s, start, end)
        figure.savefig(files["chart"])
    return files


def run(
    settings: Settings,
    data_dir: Path | None,
    start: date,
    end: date,
    out_dir: Path | None = None,
    url: str | None = None,
) -> ServiceLevelReport:
    """Return the service-level report of `start`..`end` from the contacts in `data_dir`, its files written."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    inputs = validate_inputs(settings, data_dir, kind="service-levels")
    contacts, subscribers = inputs.tables["contacts"], inputs.tables["subscribers"]
    attributed = attributed_tiers(settings, contacts, subscribers, start, end, url)
    absent = inputs.absent.get("contacts", ())
    kpis = service_kpis(contacts, subscribers, attributed.tiers, settings.service, start, end, absent)
    target = out_dir or settings.paths.resolve(settings.paths.reports) / "service_levels"
    within = settings.service.answer_within_seconds
    files = write_report(kpis, attributed.days, within, start, end, target)
    return ServiceLevelReport(kpis, start, end, attributed.note, attributed.days, files)


def tiers_per_day(days: pd.DataFrame) -> pd.DataFrame:
    """Return per day (datetime64[ns], as the KPI tables) one line saying where its tiers came from."""
    if "known" not in days.columns:  # nothing published: one line per day already
        return days[["day", "tiers_from"]].astype({"day": "datetime64[ns]"})
    return day_text(days).reset_index().astype({"day": "datetime64[ns]"})
