"""The service-level report: contacts from a data folder -> callers' tiers from the published tier table ->
KPIs per day, hour and tier (models/service_kpis.py) -> CSV tables and a PNG of service level by hour.

Inputs are read and validated through pipelines.ingest (bad rows quarantined, as every step does).
Each caller's tier comes from the live tier table (view publish.tier_view) by subscriber_key, the keyed
HMAC of the subscriber's MSISDN (pipelines/privacy.py); with nothing published only the 'all' rows are
reported, and the report says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.service_kpis import ALL, ServiceKpis, service_kpis
from pipelines.database import contract_table, display_url, engine_for
from pipelines.ingest import validate_inputs
from pipelines.privacy import privacy_key, subscriber_key
from tiercast.settings import Settings

log = logging.getLogger(__name__)

COLOURS = {"high": "tab:red", "mid": "tab:orange", "low": "tab:blue", "unlisted": "tab:purple", ALL: "black"}


@dataclass(frozen=True)
class PublishedTiers:
    """The live tier table's tiers by subscriber_key (None when nothing could be read) and where from."""

    tiers: pd.Series | None
    source: str


@dataclass(frozen=True)
class ServiceLevelReport:
    """The KPIs of a date range, where the tiers came from, and the files written."""

    kpis: ServiceKpis
    start: date
    end: date
    tiers_from: str
    files: dict[str, Path]


def published_tiers(settings: Settings, url: str | None = None) -> PublishedTiers:
    """Return tier by subscriber_key from the live tier table, read-only; tiers None when there is none."""
    view = contract_table("tier_table", settings.publish.tier_view, sa.MetaData())
    engine = engine_for(settings, url, read_only=True)
    where = f"{display_url(engine)} :: {settings.publish.tier_view}"
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(view.c.subscriber_key, view.c.tier, view.c.as_of)).all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        return PublishedTiers(None, f"no tier table published ({where}: {exc.orig}); reporting 'all' only")
    finally:
        engine.dispose()
    if not rows:
        return PublishedTiers(None, f"the tier table {where} is empty; reporting 'all' only")
    frame = pd.DataFrame(rows, columns=["subscriber_key", "tier", "as_of"])
    as_of = pd.Timestamp(frame["as_of"].max()).date()
    tiers = pd.Series(frame["tier"].to_numpy(), index=frame["subscriber_key"].to_numpy(), dtype="str")
    return PublishedTiers(tiers, f"{where}, as of {as_of} ({len(frame):,} subscribers)")


def subscriber_tiers(subscribers: pd.DataFrame, published: pd.Series, key: bytes) -> pd.Series:
    """Return subscriber_id -> published tier (subscribers not in the table left out); MSISDNs are keyed, not kept."""
    keys = subscriber_key(subscribers["msisdn"], key)
    tiers = keys.map(published)
    found = tiers.notna().to_numpy()
    return pd.Series(tiers.to_numpy()[found], index=subscribers["subscriber_id"].to_numpy()[found], dtype="str")


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


def write_report(kpis: ServiceKpis, within_s: int, start: date, end: date, out_dir: Path) -> dict[str, Path]:
    """Write the hourly, daily and period tables (CSV) and, when service level is known, the chart (PNG)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"service_levels_{start}_{end}"
    files = {}
    for name in ("period", "daily", "hourly"):
        files[name] = out_dir / f"{stem}_{name}.csv"
        getattr(kpis, name).to_csv(files[name], index=False)
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
    published = published_tiers(settings, url)
    tiers, source = None, published.source
    if published.tiers is not None:
        tiers = subscriber_tiers(subscribers, published.tiers, privacy_key(settings.privacy))
        source += f"; {len(tiers):,} of {len(subscribers):,} subscribers in the data found in it"
    absent = inputs.absent.get("contacts", ())
    kpis = service_kpis(contacts, subscribers, tiers, settings.service, start, end, absent)
    target = out_dir or settings.paths.resolve(settings.paths.reports) / "service_levels"
    return ServiceLevelReport(
        kpis, start, end, source, write_report(kpis, settings.service.answer_within_seconds, start, end, target)
    )
