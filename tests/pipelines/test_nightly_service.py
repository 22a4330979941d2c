"""The nightly's service-level step on a hand-built night: the day's KPIs per tier, FCR a week back, the replay."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.nightly_service import service_night
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.run_summary import _service_lines
from tiercast.settings import Settings

AS_OF = date(2026, 10, 20)  # a Tuesday: tomorrow's staffing replays Wednesday 2026-10-14


def subscribers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 4],
            "msisdn": ["13800000001", "13800000002", "13800000003", "13800000004"],
            "activation_date": pd.to_datetime(["2025-01-01"] * 4),
        }
    )


def routing(settings: Settings) -> pd.DataFrame:
    keys = subscriber_key(subscribers()["msisdn"], privacy_key(settings.privacy))
    return pd.DataFrame(
        {
            "subscriber_key": keys,
            "tier": ["high", "low", "mid", "high"],
            "priority": [2, 5, 4, 2],
            "queue": ["vip", "standard", "standard", "vip"],
        }
    )


def contacts() -> pd.DataFrame:
    rows = [
        # the as-of day: two high-tier calls (one within 20 s), one low-tier call abandoned, a mid-tier chat complaint
        (1, "2026-10-20 09:00:00", "voice", "inquiry", 5.0, False, 100.0),
        (1, "2026-10-20 10:00:00", "voice", "billing", 30.0, False, 200.0),
        (2, "2026-10-20 11:00:00", "voice", "fault", 10.0, True, 0.0),
        (3, "2026-10-20 12:00:00", "chat", "complaint", 0.0, False, 50.0),
        # a week back: high caller 4 never came back, 1 did the next day; the low caller did two days later
        (4, "2026-10-13 08:00:00", "voice", "inquiry", 0.0, False, 60.0),
        (1, "2026-10-13 09:00:00", "voice", "inquiry", 0.0, False, 60.0),
        (2, "2026-10-13 09:30:00", "voice", "fault", 0.0, False, 60.0),
        (2, "2026-10-15 09:30:00", "app", "fault", 0.0, False, 0.0),
        # the day tomorrow's replay takes its calls from
        (1, "2026-10-14 09:00:00", "voice", "inquiry", 3.0, False, 120.0),
        (2, "2026-10-14 09:01:00", "voice", "billing", 40.0, True, 0.0),
        (3, "2026-10-14 09:02:00", "voice", "fault", 8.0, False, 180.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["subscriber_id", "contact_time", "channel", "reason", "wait_seconds", "abandoned", "handle_seconds"],
    )
    return frame.assign(contact_time=pd.to_datetime(frame["contact_time"]), resolved=True)


def test_the_days_kpis_per_tier_fcr_a_week_back_and_tomorrows_replay(settings: Settings, tmp_path) -> None:
    night = service_night(settings, AS_OF, contacts(), subscribers(), routing(settings), tmp_path)
    kpis = night.kpis.set_index("tier")
    assert kpis.loc["high", "offered"] == 2 and kpis.loc["high", "service_level"] == 0.5
    assert kpis.loc["high", "asa_s"] == 17.5 and kpis.loc["high", "aht_s"] == 150.0
    assert bool(kpis.loc["high", "below_target"])  # 50% < 90%
    assert kpis.loc["low", "offered"] == 1 and kpis.loc["low", "abandon_rate"] == 1.0
    assert kpis.loc["all", "offered"] == 3 and kpis.loc["all", "service_level"] == pytest.approx(1 / 3)
    assert kpis.loc["mid", "complaint_rate"] == 1000.0  # one complaint, one mid-tier subscriber, per 1,000
    assert night.fcr_day == date(2026, 10, 13)
    assert night.fcr["high"] == 0.5 and night.fcr["low"] == 0.0  # came back within 7 days: not resolved
    assert night.staffing_day == date(2026, 10, 21) and night.replayed_day == date(2026, 10, 14)
    assert night.staffing is not None and set(night.staffing["tier"]) == {"high", "mid", "low"}
    assert night.staffing.set_index("tier")["offered"].to_dict() == {"high": 1, "mid": 1, "low": 1}
    assert night.seats == settings.service.seats and night.peak_required >= 1
    assert (tmp_path / "staffing_2026-10-21.png").is_file() and (tmp_path / "staffing_2026-10-21.csv").is_file()
    summary = night.summary()
    assert summary["kpis"]["high"]["service_level"] == 0.5
    assert summary["staffing"]["replays_calls_of"] == "2026-10-14"
    text = "\n".join(_service_lines(summary))
    assert "| high | 2 | 50.0% | 90.0% | no |" in text
    assert "first-contact resolution of the calls of 2026-10-13: " in text


def test_an_export_without_queue_columns_gets_the_kpis_it_can_and_says_why_no_replay(
    settings: Settings, tmp_path
) -> None:
    bare = contacts().drop(columns=["wait_seconds", "abandoned", "handle_seconds"])
    night = service_night(settings, AS_OF, bare, subscribers(), routing(settings), tmp_path)
    assert night.staffing is None
    assert night.note == "no staffing replay: the contacts have no wait_seconds, abandoned, handle_seconds"
    assert night.kpis.set_index("tier").loc["high", "offered"] == 2
    assert {"service_level", "aht_s"} <= set(night.unavailable)
    assert not list(tmp_path.iterdir())
