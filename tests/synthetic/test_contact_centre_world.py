"""The generated contacts look like an ACD export: arrival profile, per-tier service levels, the agent group,
and the service-level report (pipelines/service_levels.py) shows the tiers apart on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.database import engine_for
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.publish import publish
from pipelines.service_levels import run
from tests.pipelines.publish_db import retention_frame, tier_frame

WITHIN_S = 20


@pytest.fixture(scope="module")
def tiers(sample: dict[str, pd.DataFrame]) -> pd.Series:
    """subscriber_id -> tier as the operator ranks lines: top 20% of the last 3 bill months' ARPU high, next 30%
    mid, the rest low; red list high (tiers.yaml). Black-listed subscribers are 'black'."""
    bills = sample["bills"]
    recent = bills[bills["bill_month"] >= bills["bill_month"].max() - pd.DateOffset(months=2)]
    arpu = recent.groupby("subscriber_id")["amount"].mean()
    share = arpu.rank(ascending=False, method="first", pct=True)
    tier = pd.Series(np.where(share <= 0.2, "high", np.where(share <= 0.5, "mid", "low")), index=arpu.index)
    flags = sample["subscribers"].set_index("subscriber_id")["list_flag"].reindex(tier.index)
    return tier.mask(flags == "red", "high").mask(flags == "black", "black")


@pytest.fixture(scope="module")
def calls(sample: dict[str, pd.DataFrame], tiers: pd.Series) -> pd.DataFrame:
    """The voice calls of the last two months, with their caller's tier and whether answered within 20 s."""
    contacts = sample["contacts"]
    start = contacts["contact_time"].max().normalize() - pd.DateOffset(months=2)
    voice = contacts[(contacts["channel"] == "voice") & (contacts["contact_time"] >= start)]
    return voice.assign(
        tier=voice["subscriber_id"].map(tiers),
        within=~voice["abandoned"] & (voice["wait_seconds"] <= WITHIN_S),
    ).dropna(subset=["tier"])


def test_mondays_carry_more_voice_calls_than_sundays(sample: dict[str, pd.DataFrame]) -> None:
    time = sample["contacts"].loc[sample["contacts"]["channel"] == "voice", "contact_time"]
    days = pd.Series(pd.date_range(time.min().normalize(), time.max().normalize(), freq="D"))
    per_day = time.dt.day_of_week.value_counts() / days.dt.day_of_week.value_counts()
    assert per_day[0] > 1.3 * per_day[6] and per_day[0] == per_day.max()


def test_peak_hours_carry_more_calls_than_night_hours(sample: dict[str, pd.DataFrame]) -> None:
    hour = sample["contacts"].loc[sample["contacts"]["channel"] == "voice", "contact_time"].dt.hour
    assert hour.isin([10, 11]).sum() > 10 * hour.isin([3, 4]).sum()


def test_high_tier_is_answered_sooner_and_the_black_list_waits_longest(calls: pd.DataFrame) -> None:
    level = calls.groupby("tier")["within"].mean().to_dict()
    wait = calls.groupby("tier")["wait_seconds"].mean().to_dict()
    assert level["high"] > level["mid"] > level["low"]
    assert level["high"] >= 0.9  # the green channel meets its target
    assert max(wait, key=wait.__getitem__) == "black"


def test_only_answered_voice_calls_name_an_agent_group(sample: dict[str, pd.DataFrame]) -> None:
    contacts = sample["contacts"]
    answered = (contacts["channel"] == "voice") & ~contacts["abandoned"]
    assert contacts.loc[answered, "agent_group"].notna().all()
    assert contacts.loc[~answered, "agent_group"].isna().all()
    assert set(contacts.loc[answered, "agent_group"]) == {"vip", "retention", "standard"}
    assert (contacts.loc[contacts["abandoned"], "handle_seconds"] == 0).all()
    assert (contacts.loc[answered, "handle_seconds"] > 0).all()


def test_the_service_level_report_shows_the_tiers_apart(
    settings, sample_run: dict[str, Path], sample: dict[str, pd.DataFrame], tiers: pd.Series, tmp_path: Path
) -> None:
    # given the operator's tiers published as the tier table (black-listed callers in their ARPU tier: low here)
    people = sample["subscribers"].set_index("subscriber_id").loc[tiers.index]
    published = tier_frame(len(tiers), pd.Timestamp(sample["bills"]["bill_month"].max()).date(), "run-1")
    published["subscriber_key"] = subscriber_key(
        people["msisdn"].reset_index(drop=True), privacy_key(settings.privacy, {})
    )
    published["tier"] = pd.Series(tiers.replace("black", "low").to_numpy(), dtype="str")
    engine = engine_for(settings)
    publish(engine, settings.publish, published.sort_values("subscriber_key"), retention_frame(published, rows=0))
    engine.dispose()
    end = sample["contacts"]["contact_time"].max().normalize()
    start = end - pd.DateOffset(months=2)
    # when the report runs on the generated folder
    report = run(settings, sample_run["contacts"].parent, start.date(), end.date(), tmp_path / "out")
    # then the green channel is answered sooner than the mid tier, the mid tier sooner than the low one
    period = report.kpis.period.set_index("tier")
    level, abandon = period["service_level"].to_dict(), period["abandon_rate"].to_dict()
    assert level["high"] > level["mid"] > level["low"]
    assert abandon["low"] > abandon["high"]
    assert min(period["offered"].to_dict()[tier] for tier in ("high", "mid", "low")) > 1000
