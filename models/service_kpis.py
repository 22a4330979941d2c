"""The contact centre's daily measures from its contacts, per day, hour and tier (issue 13, item 2).

Definitions (inbound voice calls are contacts with channel "voice"; a call belongs to the hour and day
of its contact_time, the queue entry):
- offered: inbound voice calls; answered: those not abandoned; abandon_rate = abandoned / offered.
- service_level = calls answered by a person within `answer_within_seconds` (wait <= 20 s) / calls
  offered, abandoned calls included however short their wait: domain.md's "share of calls answered by a
  person within 20 s", as models/call_simulation.service_levels measures it.
- asa_s (average speed of answer): mean wait_seconds of answered calls; aht_s: mean handle_seconds of
  answered calls.
- fcr (first-contact resolution): share of answered calls with no further inbound contact (any inbound
  channel) by the same subscriber within `fcr_window_days`; calls whose window reaches past the last
  contact in the data are not judged yet (left out of the share).
- complaint_rate: inbound contacts with reason "complaint" per `complaints_per` (1,000) subscribers active
  that day (activated on or before it, not yet deactivated), per day only.
- below_target: an hour (or day) whose service level is under its tier's target (settings.service.targets;
  callers missing from the tier table are "unlisted", held to the unlisted tier's target). The "all" row
  has no target.
wait_seconds, handle_seconds and abandoned are optional in the contacts contract: the KPIs that need an
absent one are NaN and named in `ServiceKpis.unavailable` with the column.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from tiercast.settings.service import ServiceSettings

VOICE = "voice"
OUTBOUND = "outbound"
COMPLAINT = "complaint"
ALL = "all"
UNLISTED = "unlisted"

# The optional contact columns each KPI needs (offered and complaints need only required columns).
KPI_NEEDS: dict[str, tuple[str, ...]] = {
    "answered": ("abandoned",),
    "abandoned": ("abandoned",),
    "abandon_rate": ("abandoned",),
    "service_level": ("abandoned", "wait_seconds"),
    "asa_s": ("abandoned", "wait_seconds"),
    "aht_s": ("handle_seconds",),
    "answered_within": ("abandoned", "wait_seconds"),
    "below_target": ("abandoned", "wait_seconds"),
    "hours_below_target": ("abandoned", "wait_seconds"),
}
WHY = {
    "abandoned": "answered and abandoned calls cannot be told apart",
    "wait_seconds": "no queue waits",
    "handle_seconds": "no handle times",
}
# An export whose contact times are dates only (every contact at 00:00): the hour of a call is unknown.
UNTIMED = "contact_time has no time of day (every contact at 00:00): calls cannot be placed in hours"
HOURLY_KPIS = ("below_target", "hours", "hours_below_target")  # what needs the hour (the hourly table needs it whole)
HOURLY_COLUMNS = [
    "offered", "answered", "abandoned", "answered_within", "service_level", "abandon_rate", "asa_s", "aht_s", "fcr",
]  # fmt: skip


COUNTS = ("answered", "abandoned", "answered_within")
DAILY_COLUMNS = [
    "fcr_judged", "complaints", "subscribers", "complaint_rate", "target", "below_target", "hours_below_target",
]  # fmt: skip


@dataclass(frozen=True)
class ContactTiers:
    """Tiers read per contact rather than per subscriber: each contact's tier (on the contacts' index; contacts it
    lacks are 'unlisted') and the active base per day and tier (`active_base`'s rows: day, tier, subscribers), as
    when each day's tiers come from the tier table live that day."""

    tiers: pd.Series
    base: pd.DataFrame


@dataclass(frozen=True)
class ServiceKpis:
    """The KPI tables and what could not be computed (KPI -> the missing column and why)."""

    hourly: pd.DataFrame
    daily: pd.DataFrame
    period: pd.DataFrame
    unavailable: dict[str, str]
    caveats: dict[str, str]


def _day(times: pd.Series) -> pd.Series:
    """Return the calendar day of each time, as datetime64[ns] midnight (one unit for every merge)."""
    return times.dt.normalize().astype("datetime64[ns]")


def unavailable_kpis(absent: Collection[str]) -> dict[str, str]:
    """Return, per KPI that needs a column in `absent`, the reason naming that column."""
    missing = {}
    for kpi, needs in KPI_NEEDS.items():
        lacking = [column for column in needs if column in absent]
        if lacking:
            missing[kpi] = "; ".join(f"no {column} column ({WHY[column]})" for column in lacking)
    return missing


def kpi_caveats(absent: Collection[str]) -> dict[str, str]:
    """Return, per KPI computed on a weaker basis because of `absent` columns, how it was computed."""
    if "abandoned" not in absent:
        return {}
    basis = "no abandoned column: taken over every offered call, answered or not"
    return {"fcr": basis, **({} if "handle_seconds" in absent else {"aht_s": basis})}


def untimed(times: pd.Series) -> bool:
    """Whether contact times carry no time of day: every one of them (at least two) at midnight, which a clock
    records about once in 86,400 calls, while a date-only export (a CRM's contact date) always does."""
    present = times.dropna()
    return len(present) >= 2 and bool((present == present.dt.normalize()).all())


def caller_tiers(contacts: pd.DataFrame, subscriber_tiers: pd.Series | None) -> pd.Series:
    """Return each contact's tier (same index): from `subscriber_tiers` (subscriber_id -> tier), 'unlisted'
    for callers it lacks, 'all' for every contact when there are no tiers."""
    if subscriber_tiers is None:
        return pd.Series(ALL, index=contacts.index, dtype="str")
    tiers = contacts["subscriber_id"].map(subscriber_tiers)
    return tiers.fillna(UNLISTED).astype("str")


def first_contact_resolved(contacts: pd.DataFrame, window_days: int, observed_until: pd.Timestamp) -> pd.Series:
    """Return per inbound contact (its index): 1.0 if no inbound contact by the same subscriber follows
    within `window_days`, 0.0 if one does, NaN if the window ends after `observed_until`."""
    inbound = contacts.loc[contacts["channel"] != OUTBOUND, ["subscriber_id", "contact_time"]]
    ordered = inbound.sort_values(["subscriber_id", "contact_time"], kind="stable")
    following = ordered.groupby("subscriber_id", sort=False)["contact_time"].shift(-1)
    window = pd.Timedelta(days=window_days)
    repeated = (following - ordered["contact_time"]) <= window
    resolved = pd.Series(np.where(repeated, 0.0, 1.0), index=ordered.index)
    matured = ordered["contact_time"] + window <= observed_until
    return resolved.where(matured | repeated).reindex(inbound.index)


def call_table(
    contacts: pd.DataFrame, tiers: pd.Series, settings: ServiceSettings, absent: Collection[str], fcr: pd.Series
) -> pd.DataFrame:
    """Return one row per inbound voice call: day, hour, tier, answered, within, wait, handle, fcr."""
    voice = (contacts["channel"] == VOICE).to_numpy()
    calls = contacts.loc[voice]
    answered = ~calls["abandoned"].astype(bool) if "abandoned" not in absent else pd.Series(True, index=calls.index)
    wait = calls["wait_seconds"].astype("float64") if "wait_seconds" not in absent else np.nan
    handle = calls["handle_seconds"].astype("float64") if "handle_seconds" not in absent else np.nan
    frame = pd.DataFrame(
        {
            "day": _day(calls["contact_time"]),
            "hour": calls["contact_time"].dt.hour.astype("int64"),
            "tier": tiers.loc[voice],
            "answered": answered.astype("int64"),
            "within": (answered & (pd.Series(wait, index=calls.index) <= settings.answer_within_seconds)),
            "wait": pd.Series(wait, index=calls.index).where(answered),
            "handle": pd.Series(handle, index=calls.index).where(answered),
            "fcr": fcr.reindex(calls.index).where(answered),
        },
        index=calls.index,
    )
    return frame.astype({"within": "int64"})


def _aggregate(calls: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Return the call counts and rates per `keys` (every call's tier, plus the 'all' rows)."""
    both = pd.concat([calls, calls.assign(tier=ALL)]) if (calls["tier"] != ALL).any() else calls
    table = both.groupby(keys, sort=True).agg(
        offered=("answered", "size"),
        answered=("answered", "sum"),
        answered_within=("within", "sum"),
        asa_s=("wait", "mean"),
        aht_s=("handle", "mean"),
        fcr=("fcr", "mean"),
        fcr_judged=("fcr", "count"),
    )
    table = table.assign(
        abandoned=table["offered"] - table["answered"],
        service_level=table["answered_within"] / table["offered"],
        abandon_rate=(table["offered"] - table["answered"]) / table["offered"],
    )
    return table.reset_index()


def _with_targets(table: pd.DataFrame, settings: ServiceSettings) -> pd.DataFrame:
    """Return `table` with each row's target (NaN for 'all') and whether its service level is under it."""
    target = table["tier"].map(lambda tier: np.nan if tier == ALL else settings.target(tier)).astype("float64")
    return table.assign(target=target, below_target=(table["service_level"] < target).to_numpy())


def active_base(subscribers: pd.DataFrame, tiers: pd.Series, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Return per day and tier (and 'all') the subscribers active that day: activated on or before it and
    not deactivated on or before it. `tiers` is each subscriber's tier (same index as `subscribers`)."""
    day_values = days.to_numpy(dtype="datetime64[ns]")
    n_days = len(days)
    codes = np.full(len(subscribers), -1, dtype="int64")  # no tiers: only the all row
    names: pd.Index = pd.Index([], dtype="str")
    if not (tiers == ALL).all():
        codes, names = pd.factorize(tiers, sort=True)
    tiered = codes >= 0
    counts = np.zeros((1 + len(names), n_days), dtype="int64")
    # each date counts from the first day on or after it (a missing one never): per tier, a histogram of those
    # first days summed up to each day counts a base of millions without sorting it
    for column, sign in (("activation_date", 1), ("deactivation_date", -1)):
        first = np.searchsorted(day_values, subscribers[column].to_numpy(dtype="datetime64[ns]"), side="left")
        counts[0] += sign * np.cumsum(np.bincount(first, minlength=n_days + 1))[:n_days]
        per_tier = np.bincount(codes[tiered] * (n_days + 1) + first[tiered], minlength=len(names) * (n_days + 1))
        counts[1:] += sign * np.cumsum(per_tier.reshape(len(names), n_days + 1), axis=1)[:, :n_days]
    return pd.DataFrame(
        {
            "day": np.tile(day_values, 1 + len(names)),
            "tier": np.repeat(np.array([ALL, *names], dtype=object), n_days),
            "subscribers": counts.ravel(),
        }
    )


def complaints(contacts: pd.DataFrame, tiers: pd.Series) -> pd.DataFrame:
    """Return per day and tier (and 'all') the inbound contacts whose reason is a complaint."""
    mine = ((contacts["channel"] != OUTBOUND) & (contacts["reason"] == COMPLAINT)).to_numpy()
    frame = pd.DataFrame({"day": _day(contacts.loc[mine, "contact_time"]), "tier": tiers.loc[mine]})
    both = pd.concat([frame, frame.assign(tier=ALL)]) if (frame["tier"] != ALL).any() else frame
    return both.groupby(["day", "tier"]).size().rename("complaints").reset_index()


def service_kpis(
    contacts: pd.DataFrame,
    subscribers: pd.DataFrame,
    subscriber_tiers: pd.Series | ContactTiers | None,
    settings: ServiceSettings,
    start: date,
    end: date,
    absent: Collection[str] = (),
) -> ServiceKpis:
    """Return the hourly and daily KPIs per tier for calls from `start` to `end` (inclusive).

    `contacts` may run past the range: later contacts decide first-contact resolution. `subscriber_tiers`
    maps subscriber_id -> tier (None: only the 'all' rows), or gives each contact's tier and each day's base
    (`ContactTiers`). `absent`: optional contact columns the export lacks.
    """
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    if isinstance(subscriber_tiers, ContactTiers):
        tiers = subscriber_tiers.tiers.reindex(contacts.index).fillna(UNLISTED).astype("str")
        base = subscriber_tiers.base
    else:
        tiers = caller_tiers(contacts, subscriber_tiers)
        base = active_base(subscribers, caller_tiers(subscribers, subscriber_tiers), days)
    fcr = first_contact_resolved(contacts, settings.fcr_window_days, contacts["contact_time"].max())
    day = contacts["contact_time"].dt.normalize()
    inside = ((day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))).to_numpy()
    calls = call_table(contacts.loc[inside], tiers.loc[inside], settings, absent, fcr)
    unavailable = unavailable_kpis(absent)
    hourly = _with_targets(_aggregate(calls, ["day", "hour", "tier"]), settings)
    hourly = hourly[["day", "hour", "tier", *HOURLY_COLUMNS, "target", "below_target"]]
    if untimed(contacts.loc[inside, "contact_time"]):  # no hours: no hourly table, nothing below target by hour
        unavailable |= dict.fromkeys(HOURLY_KPIS, UNTIMED)
        hourly = hourly.iloc[0:0]

    counted = complaints(contacts.loc[inside], tiers.loc[inside])
    below = hourly.groupby(["day", "tier"])["below_target"].sum().rename("hours_below_target").reset_index()
    daily = _aggregate(calls, ["day", "tier"]).merge(base, on=["day", "tier"], how="outer")
    daily = daily.merge(below, on=["day", "tier"], how="left").merge(counted, on=["day", "tier"], how="left")
    daily = _with_targets(daily, settings).assign(
        **{count: daily[count].fillna(0).astype("int64") for count in ("offered", *COUNTS)},
        fcr_judged=daily["fcr_judged"].fillna(0).astype("int64"),
        complaints=daily["complaints"].fillna(0).astype("int64"),
        hours_below_target=daily["hours_below_target"].fillna(0).astype("int64"),
        complaint_rate=daily["complaints"].fillna(0) / daily["subscribers"] * settings.complaints_per,
    )
    daily = daily[["day", "tier", *HOURLY_COLUMNS, *DAILY_COLUMNS]]
    return ServiceKpis(
        _blank(hourly.reset_index(drop=True), unavailable),
        _blank(daily.sort_values(["day", "tier"]).reset_index(drop=True), unavailable),
        _blank(period_summary(calls, daily, hourly, settings), unavailable),
        unavailable,
        kpi_caveats(absent),
    )


def _blank(table: pd.DataFrame, unavailable: Collection[str]) -> pd.DataFrame:
    """Return `table` with the columns of unavailable KPIs set to NaN (not the zeros a sum of nothing gives)."""
    return table.assign(**{kpi: np.nan for kpi in unavailable if kpi in table.columns})


def period_summary(
    calls: pd.DataFrame, daily: pd.DataFrame, hourly: pd.DataFrame, settings: ServiceSettings
) -> pd.DataFrame:
    """Return per tier over the whole range: the call KPIs, hours below target of hours with calls, and the
    complaint rate per subscriber-day (the mean daily rate weighted by the day's base)."""
    if calls.empty:
        table = pd.DataFrame({"tier": daily["tier"].unique()})
        table = table.assign(**dict.fromkeys([*HOURLY_COLUMNS, "fcr_judged"], np.nan))
    else:
        table = _aggregate(calls, ["tier"])
    hours = hourly.groupby("tier").agg(hours=("below_target", "size"), hours_below_target=("below_target", "sum"))
    days = daily.groupby("tier").agg(complaints=("complaints", "sum"), subscriber_days=("subscribers", "sum"))
    table = table.merge(hours.reset_index(), on="tier", how="outer").merge(days.reset_index(), on="tier", how="outer")
    table = _with_targets(table, settings).assign(
        offered=table["offered"].fillna(0).astype("int64"),
        hours=table["hours"].fillna(0).astype("int64"),
        hours_below_target=table["hours_below_target"].fillna(0).astype("int64"),
        complaint_rate=table["complaints"] / table["subscriber_days"] * settings.complaints_per,
    )
    order = {tier: rank for rank, tier in enumerate([*settings.targets, UNLISTED, ALL])}
    table = table.sort_values("tier", key=lambda tiers: tiers.map(lambda t: order.get(t, len(order) - 1)))
    columns = [*HOURLY_COLUMNS, "complaints", "complaint_rate", "target", "below_target", "hours", "hours_below_target"]
    return table[["tier", *columns]].reset_index(drop=True)
