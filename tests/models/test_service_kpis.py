"""The centre's KPIs on a hand-built contacts frame, with exact expected values (issue 13, item 2)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.service_kpis import UNTIMED, ServiceKpis, active_base, first_contact_resolved, service_kpis, untimed
from tiercast.settings import load_settings
from tiercast.settings.service import ServiceSettings

START, END = date(2026, 3, 1), date(2026, 3, 2)


@pytest.fixture(scope="module")
def service() -> ServiceSettings:
    return load_settings(environ={}).service


def subscribers() -> pd.DataFrame:
    """1 high, 2 mid, 3 low (leaves on 03-02: not active that day), 4 missing from the tier table."""
    return pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 4],
            "activation_date": pd.to_datetime(["2026-01-01"] * 4).astype("datetime64[ms]"),
            "deactivation_date": pd.Series(
                [pd.NaT, pd.NaT, pd.Timestamp("2026-03-02"), pd.NaT], dtype="datetime64[ms]"
            ),
        }
    )


TIERS = pd.Series({1: "high", 2: "mid", 3: "low"})

ROWS: list[tuple[Any, ...]] = [
    # subscriber, contact_time, channel, reason, wait, handle, abandoned
    (1, "2026-03-01 09:10", "voice", "inquiry", 10.0, 200.0, False),  # high, within 20 s; repeated by the next
    (1, "2026-03-01 09:40", "voice", "billing", 30.0, 100.0, False),  # high, late; only an outbound call follows
    (2, "2026-03-01 09:20", "voice", "complaint", 25.0, 0.0, True),  # mid, abandoned complaint
    (2, "2026-03-01 10:05", "voice", "complaint", 5.0, 300.0, False),  # mid, within; a chat follows on 03-05
    (3, "2026-03-01 10:30", "voice", "inquiry", 20.0, 120.0, False),  # low, exactly 20 s counts as within
    (2, "2026-03-05 12:00", "chat", "inquiry", 0.0, 0.0, False),  # outside the range: only a repeat
    (4, "2026-03-02 11:00", "voice", "fault", 40.0, 60.0, False),  # unlisted, late
    (1, "2026-03-03 15:00", "outbound", "retention_call", 0.0, 90.0, False),  # outbound: not a repeat
    (3, "2026-03-20 16:00", "store", "inquiry", 0.0, 0.0, False),  # 19 days later: the data's last contact
]


def contacts() -> pd.DataFrame:
    frame = pd.DataFrame(
        ROWS,
        columns=["subscriber_id", "contact_time", "channel", "reason", "wait_seconds", "handle_seconds", "abandoned"],
    )
    return frame.assign(contact_time=pd.to_datetime(frame["contact_time"]).astype("datetime64[ms]"))


def kpis(service: ServiceSettings, drop: tuple[str, ...] = (), tiers: pd.Series | None = TIERS) -> ServiceKpis:
    return service_kpis(contacts().drop(columns=list(drop)), subscribers(), tiers, service, START, END, absent=drop)


def row(table: pd.DataFrame, **keys: Any) -> dict[Any, Any]:
    mask = np.ones(len(table), dtype=bool)
    for column, value in keys.items():
        mask &= (table[column] == (pd.Timestamp(value) if column == "day" else value)).to_numpy()
    assert mask.sum() == 1, f"{keys}: {mask.sum()} rows"
    return table[mask].iloc[0].to_dict()


def test_hourly_kpis_per_tier_and_all(service: ServiceSettings) -> None:
    hourly = kpis(service).hourly
    high = row(hourly, day="2026-03-01", hour=9, tier="high")
    assert (high["offered"], high["answered"], high["answered_within"], high["abandoned"]) == (2, 2, 1, 0)
    assert (high["service_level"], high["asa_s"], high["aht_s"], high["fcr"]) == (0.5, 20.0, 150.0, 0.5)
    assert (high["target"], high["below_target"]) == (0.90, True)
    mid = row(hourly, day="2026-03-01", hour=9, tier="mid")
    assert (mid["offered"], mid["answered"], mid["service_level"], mid["abandon_rate"]) == (1, 0, 0.0, 1.0)
    assert np.isnan(mid["asa_s"]) and np.isnan(mid["aht_s"]) and np.isnan(mid["fcr"])
    everyone = row(hourly, day="2026-03-01", hour=9, tier="all")
    assert (everyone["offered"], everyone["answered_within"]) == (3, 1)
    assert everyone["service_level"] == pytest.approx(1 / 3)
    assert np.isnan(everyone["target"]) and not everyone["below_target"]
    low = row(hourly, day="2026-03-01", hour=10, tier="low")
    assert (low["service_level"], low["asa_s"], low["fcr"], low["below_target"]) == (1.0, 20.0, 1.0, False)
    unlisted = row(hourly, day="2026-03-02", hour=11, tier="unlisted")
    assert (unlisted["service_level"], unlisted["target"], unlisted["below_target"]) == (0.0, 0.85, True)
    assert len(hourly) == 8  # 03-01 09: high, mid, all; 10: mid, low, all; 03-02 11: unlisted, all


def test_daily_kpis_with_complaints_per_1000_active_subscribers(service: ServiceSettings) -> None:
    daily = kpis(service).daily
    everyone = row(daily, day="2026-03-01", tier="all")
    assert (everyone["offered"], everyone["answered"], everyone["answered_within"]) == (5, 4, 3)
    assert (everyone["service_level"], everyone["abandon_rate"]) == (0.6, 0.2)
    assert (everyone["asa_s"], everyone["aht_s"], everyone["fcr"]) == (16.25, 180.0, 0.5)
    assert (everyone["complaints"], everyone["subscribers"], everyone["complaint_rate"]) == (2, 4, 500.0)
    mid = row(daily, day="2026-03-01", tier="mid")
    assert (mid["service_level"], mid["fcr"], mid["complaint_rate"], mid["hours_below_target"]) == (0.5, 0.0, 2000.0, 1)
    # subscriber 3 left on 03-02: the low tier has no active subscriber that day, so no rate
    low = row(daily, day="2026-03-02", tier="low")
    assert (low["offered"], low["subscribers"], low["complaints"]) == (0, 0, 0)
    assert np.isnan(low["complaint_rate"])
    assert row(daily, day="2026-03-02", tier="all")["subscribers"] == 3


def test_period_summary_over_the_range(service: ServiceSettings) -> None:
    period = kpis(service).period
    assert list(period["tier"]) == ["high", "mid", "low", "unlisted", "all"]
    everyone = row(period, tier="all")
    assert (everyone["offered"], everyone["answered_within"], everyone["service_level"]) == (6, 3, 0.5)
    assert everyone["complaint_rate"] == pytest.approx(2 / 7 * 1000)  # 2 complaints over 4 + 3 subscriber-days
    assert (everyone["hours"], everyone["hours_below_target"]) == (3, 0)
    mid = row(period, tier="mid")
    assert (mid["hours"], mid["hours_below_target"], mid["below_target"]) == (2, 1, True)


def test_without_tiers_only_the_all_rows(service: ServiceSettings) -> None:
    result = kpis(service, tiers=None)
    assert set(result.hourly["tier"]) == set(result.daily["tier"]) == set(result.period["tier"]) == {"all"}
    assert row(result.period, tier="all")["service_level"] == 0.5


@pytest.mark.parametrize(
    ("drop", "unavailable"),
    [
        (("wait_seconds",), {"service_level", "asa_s", "answered_within", "below_target", "hours_below_target"}),
        (("handle_seconds",), {"aht_s"}),
        (
            ("abandoned",),
            {"answered", "abandoned", "abandon_rate", "service_level", "asa_s", "answered_within", "below_target"}
            | {"hours_below_target"},
        ),
    ],
)
def test_an_export_without_an_optional_column_names_what_cannot_be_computed(
    service: ServiceSettings, drop: tuple[str, ...], unavailable: set[str]
) -> None:
    result = kpis(service, drop=drop)
    assert set(result.unavailable) == unavailable
    assert all(drop[0] in why for why in result.unavailable.values())
    everyone = row(result.daily, day="2026-03-01", tier="all")
    assert everyone["offered"] == 5 and everyone["complaint_rate"] == 500.0
    for kpi in unavailable & set(result.daily.columns):
        assert np.isnan(everyone[kpi]), kpi


def test_without_abandoned_aht_and_fcr_are_over_every_call_and_say_so(service: ServiceSettings) -> None:
    result = kpis(service, drop=("abandoned",))
    assert set(result.caveats) == {"aht_s", "fcr"}
    everyone = row(result.daily, day="2026-03-01", tier="all")
    assert everyone["aht_s"] == (200 + 100 + 0 + 300 + 120) / 5
    assert everyone["fcr"] == 0.4  # the abandoned call is repeated by the next call: not resolved


def test_a_call_whose_window_is_still_open_is_not_judged() -> None:
    frame = contacts()
    resolved = first_contact_resolved(frame, 7, pd.Timestamp("2026-03-06"))
    assert resolved[0] == 0.0  # repeated 30 minutes later: known now
    assert np.isnan(resolved[1]) and np.isnan(resolved[4])  # no repeat yet, window not over
    assert resolved[3] == 0.0  # the chat of 03-05 repeats it
    assert 7 not in resolved.index  # outbound contacts are not judged
    later = first_contact_resolved(frame, 7, pd.Timestamp("2026-03-08 10:00"))
    assert later[1] == 1.0  # 03-01 09:40 + 7 days has passed: judged resolved
    assert np.isnan(later[4])  # 03-01 10:30 + 7 days has not


def test_service_defaults_carry_the_domain_numbers(service: ServiceSettings) -> None:
    assert service.targets == {"high": 0.90, "mid": 0.85, "low": 0.85}
    assert (service.answer_within_seconds, service.callback_due_hours, service.seats) == (20, 24, 1240)
    assert service.handle.talk_mean_seconds <= 150 and service.handle.after_call_work_seconds <= 60
    assert sum(service.group_seats().values()) == 1240
    assert set(service.groups) == {"vip", "retention", "standard"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"groups": {"vip": {"seat_share": 1.0, "overflow": ["nowhere"]}}}, "overflow"),
        ({"groups": {"vip": {"seat_share": 0.5}, "standard": {"seat_share": 0.4}}}, "sum to 1"),
        ({"targets": {"high": 1.2, "low": 0.85}}, "targets"),
        ({"unlisted_tier": "gold"}, "unlisted_tier"),
        ({"interval_minutes": 7}, "divide a day"),
    ],
)
def test_inconsistent_service_settings_are_rejected(
    service: ServiceSettings, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceSettings.model_validate({**service.model_dump(), **change})


def active_base_by_groups(subscribers: pd.DataFrame, tiers: pd.Series, days: pd.DatetimeIndex) -> pd.DataFrame:
    """The active base as counted before issue 15: the subscribers grouped by tier, each group's dates sorted."""
    rows = []
    groups = [("all", subscribers)] + ([] if (tiers == "all").all() else list(subscribers.groupby(tiers.to_numpy())))
    day_values = days.to_numpy(dtype="datetime64[ns]")
    for tier, members in groups:
        started = np.sort(members["activation_date"].to_numpy(dtype="datetime64[ns]"))
        ended = np.sort(members["deactivation_date"].dropna().to_numpy(dtype="datetime64[ns]"))
        active = np.searchsorted(started, day_values, side="right") - np.searchsorted(ended, day_values, side="right")
        rows.append(pd.DataFrame({"day": days.astype("datetime64[ns]"), "tier": tier, "subscribers": active}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("tiered", [True, False], ids=["tiers", "all-only"])
def test_the_active_base_per_day_and_tier_counts_who_had_started_and_not_yet_left(tiered: bool) -> None:
    """Given activations and departures on, before and after the days (some missing), then each day's count per
    tier is what sorting each tier's dates gives: started on or before the day, not left on or before it."""
    rng = np.random.default_rng(15)
    n = 500
    first = pd.Timestamp("2026-03-01")
    started = first + pd.to_timedelta(rng.integers(-5, 6, n), unit="D") + pd.to_timedelta(rng.integers(0, 2, n), "h")
    left = pd.Series(started + pd.to_timedelta(rng.integers(0, 8, n), unit="D")).where(rng.random(n) < 0.4)
    subscribers = pd.DataFrame(
        {
            "subscriber_id": np.arange(n),
            "activation_date": pd.Series(started).where(rng.random(n) > 0.02).astype("datetime64[ms]"),
            "deactivation_date": left.astype("datetime64[ms]"),
        }
    )
    tiers = pd.Series(rng.choice(["low", "high", "mid", "unlisted"], n) if tiered else "all", dtype="str")
    days = pd.date_range(first, first + pd.Timedelta(days=4), freq="D")
    got = active_base(subscribers, tiers, days)
    pd.testing.assert_frame_equal(got, active_base_by_groups(subscribers, tiers, days))
    assert len(got) == (5 if tiered else 1) * len(days) and got["subscribers"].between(1, n).all()


def test_contacts_with_dates_only_give_no_hours_and_say_why(service: ServiceSettings) -> None:
    """A CRM export's contact dates (every contact at 00:00): the day's counts stand, nothing is placed in hours."""
    dated = contacts().assign(contact_time=lambda f: f["contact_time"].dt.normalize())
    untimed_kpis = service_kpis(dated, subscribers(), TIERS, service, START, END)
    timed = kpis(service)
    assert untimed_kpis.hourly.empty and not timed.hourly.empty
    assert untimed_kpis.unavailable == dict.fromkeys(["below_target", "hours", "hours_below_target"], UNTIMED)
    counts = ["day", "tier", "offered", "answered", "answered_within", "service_level", "complaints", "subscribers"]
    pd.testing.assert_frame_equal(untimed_kpis.daily[counts], timed.daily[counts])
    assert untimed_kpis.daily["hours_below_target"].isna().all()
    assert untimed_kpis.period[["hours", "hours_below_target"]].isna().all().all()


def test_untimed_needs_every_time_at_midnight() -> None:
    midnight, later = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-01 09:10")
    assert untimed(pd.Series([midnight, midnight + pd.Timedelta(days=1), pd.NaT]))
    assert not untimed(pd.Series([midnight, later]))  # one call at 00:00 on a clock that records hours
    assert not untimed(pd.Series([midnight]))  # a single call says nothing
