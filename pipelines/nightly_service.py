"""The nightly's service-level step: the day's KPIs per tier and tomorrow's staffing under tonight's priorities.

After the publish switch, from the contacts each shard kept (the last `fcr_window_days` + 1 days):

- the as-of day's KPIs per tier, as the centre measures itself (models/service_kpis.py): offered,
  service level within 20 s against the tier's target, abandonment, ASA, AHT, complaints per 1,000, the
  hours below target; first-contact resolution for the calls of `fcr_window_days` ago (the latest day
  whose repeat window the data has seen: today's calls cannot be judged yet). Each call counts in the tier
  its caller had in the tier table live when it was made (pipelines/service_tiers.py), not tonight's: the
  as-of day D was routed with the table as of D-1 (switched in at about 02:00 of D) and, before that switch,
  the one as of D-2. Only the callers' keys are looked up. With no earlier publication (the first night)
  or an unreadable publish database, tonight's tiers, and the summary says so. The complaint rate's base
  (active subscribers per tier) is tonight's tiers;
- tomorrow's staffing: the calls of the same weekday a week before tomorrow replayed with tonight's
  published priorities and queues and `service.seats` agents (pipelines/staffing_plan.replay): per tier
  met or not, agents required per interval, the black list's longest wait, a PNG of required vs
  available agents by hour.

An export without queue columns (wait_seconds, abandoned, handle_seconds) gets the KPIs it can and no
replay; the summary says which and why. Nothing here can undo the publication: a failure is logged and
reported in the summary.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from models.service_kpis import UNTIMED, ContactTiers, active_base, caller_tiers, service_kpis, untimed
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.service_tiers import ALL_ONLY, attributed_tiers, day_text
from pipelines.staffing_plan import day_calls, replay
from tiercast.settings import Settings

log = logging.getLogger(__name__)

QUEUE_COLUMNS = ("wait_seconds", "abandoned", "handle_seconds")
OPTIONAL = ("resolved", *QUEUE_COLUMNS)
SUBSCRIBERS = ["subscriber_id", "msisdn", "activation_date"]
ROUTING = ["subscriber_key", "tier", "priority", "queue"]
TONIGHT = "tonight's tiers (the tier table just published)"
KPIS = (
    "offered", "service_level", "target", "below_target", "abandon_rate", "asa_s", "aht_s", "hours_below_target",
    "complaint_rate",
)  # fmt: skip


@dataclass(frozen=True)
class RoutedTiers:
    """Each kept contact's tier in the tier table live when it was made (None: tonight's tiers are used instead),
    per day shown (the as-of day, the FCR day) one line naming the versions and hours, and the summary's note."""

    tiers: pd.Series | None
    days: dict[str, str]
    note: str


@dataclass(frozen=True)
class ServiceNight:
    """The night's service-level figures, ready for the run summary."""

    day: date
    kpis: pd.DataFrame  # per tier (and 'all'): the day's KPIs
    fcr: dict[str, float]  # tier -> first-contact resolution of the calls of fcr_day
    fcr_day: date
    unavailable: dict[str, str]
    staffing: pd.DataFrame | None = None  # per tier: offered, service_level, target, met, intervals_missed
    staffing_day: date | None = None
    replayed_day: date | None = None
    seats: int = 0
    black_list_longest_wait_s: float = math.nan
    peak_required: int = 0
    files: dict[str, str] = field(default_factory=dict)
    note: str = ""
    tiers_from: dict[str, str] = field(default_factory=dict)  # day -> the tier-table versions its calls' tiers are from

    def summary(self) -> dict[str, Any]:
        """Return the JSON-ready service part of the run summary."""
        out: dict[str, Any] = {
            "day": str(self.day),
            "kpis": {str(r["tier"]): {k: _plain(r.get(k)) for k in KPIS} for r in self.kpis.to_dict("records")},
            "fcr": {"calls_of": str(self.fcr_day), **{t: _plain(v) for t, v in self.fcr.items()}},
            "unavailable": dict(self.unavailable),
            "files": dict(self.files),
            "note": self.note,
            "tiers_from": dict(self.tiers_from),
        }
        if self.staffing is not None:
            out["staffing"] = {
                "for": str(self.staffing_day),
                "replays_calls_of": str(self.replayed_day),
                "seats": self.seats,
                "peak_required_agents": self.peak_required,
                "black_list_longest_wait_s": _plain(self.black_list_longest_wait_s),
                "tiers": {
                    str(r["tier"]): {k: _plain(r[k]) for k in ("offered", "service_level", "target", "met")}
                    for r in self.staffing.to_dict("records")
                },
            }
        return out


def _plain(value: Any) -> Any:
    """Return a JSON-ready number (None for NaN / missing), rounded for reading."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else round(number, 4)


def recent_contacts(contacts: pd.DataFrame, as_of: date, days: int) -> pd.DataFrame:
    """Return the contacts of the `days` calendar days ending with `as_of` (a shard keeps these for the step)."""
    end = pd.Timestamp(as_of + timedelta(days=1))
    time = contacts["contact_time"]
    return contacts.loc[(time >= end - pd.Timedelta(days=days)) & (time < end)].reset_index(drop=True)


def service_step(settings: Settings, as_of: date, parts: list[Any], outputs: list[Any]) -> dict[str, Any]:
    """The nightly step: read what the shards kept (ShardFeatures.service_path and keys, ShardOutputs' scores and
    tier tables), return the summary's service part; a failure is logged and reported, never raised (the night
    has already published)."""
    try:
        if not any(p.service_path is not None for p in parts):
            return {"note": "no contacts kept by the shards"}
        out_dir = settings.paths.resolve(settings.paths.reports) / "staffing"
        night = night_from_shards(settings, as_of, parts, outputs, out_dir)
    except Exception as exc:  # reported in the summary: the publication stands
        log.exception("service-level step failed (the night's tables are published)")
        return {"note": f"service-level step failed: {type(exc).__name__}: {exc}"}
    _log(night)
    return night.summary()


def night_from_shards(
    settings: Settings, as_of: date, parts: list[Any], outputs: list[Any], out_dir: Path
) -> ServiceNight:
    """Return `service_night` on the shards' files, keying only the kept contacts' callers.

    Tonight's tier of each subscriber (the complaint rate's base, and the fallback) comes by subscriber_id from
    the shards' scores (the rows their tier-table rows were made from, so the same tier as the lookup by
    subscriber_key). Only the kept contacts' callers are keyed: looked up in the publish database's earlier
    tier tables for the tier each call was routed with (`routed_tiers`), and those of the replayed day in
    tonight's tier tables for their priority and queue, as the routing service does.
    """
    kept = [p.service_path for p in parts if p.service_path is not None]
    contacts = pd.concat([pd.read_parquet(path) for path in kept], ignore_index=True)
    key = privacy_key(settings.privacy)
    keys_paths, tier_paths = [p.keys_path for p in parts], [o.tier_path for o in outputs]
    if any(o.scores_path is None for o in outputs):  # no scores to take the tiers from: key every subscriber
        subscribers, routing = _read(keys_paths, SUBSCRIBERS), _read(tier_paths, ROUTING)
        tiers = tiers_by_key(subscribers, routing, key)
        routed = routed_tiers(settings, as_of, contacts, subscribers)
        return service_night(settings, as_of, contacts, subscribers, tiers, subscribers, routing, out_dir, routed)
    base = _read(keys_paths, ["subscriber_id", "activation_date"])
    scores = _read([o.scores_path for o in outputs], ["subscriber_id", "tier"])
    tiers = scores.set_index("subscriber_id")["tier"]
    callers = _read(
        keys_paths, ["subscriber_id", "msisdn"], ("subscriber_id", contacts["subscriber_id"].unique().tolist())
    )
    routed = routed_tiers(settings, as_of, contacts, callers)
    day = pd.Timestamp(replayed_day(as_of))
    when = contacts["contact_time"]
    called = contacts.loc[(when >= day) & (when < day + pd.Timedelta(days=1)), "subscriber_id"].unique()
    callers = callers[callers["subscriber_id"].isin(called)].reset_index(drop=True)
    wanted = subscriber_key(callers["msisdn"].astype("str"), key)
    routing = _read(tier_paths, ROUTING, ("subscriber_key", wanted.tolist()))
    return service_night(settings, as_of, contacts, base, tiers, callers, routing, out_dir, routed)


def routed_tiers(settings: Settings, as_of: date, contacts: pd.DataFrame, callers: pd.DataFrame) -> RoutedTiers:
    """Return each contact's tier from the FCR day to `as_of` in the tier table live when it was made
    (`pipelines.service_tiers.attributed_tiers`, reading only `callers`' keys: subscriber_id, msisdn), or tiers None
    (tonight's tiers) with the reason when no earlier publication was live on `as_of` (the first night) or the
    publish database cannot be read: the night has published, its service levels must not fail on it."""
    fcr_day = as_of - timedelta(days=settings.service.fcr_window_days)
    said, tonight = f"tiers of {as_of}'s calls: tonight's", {str(as_of): TONIGHT}
    callers = callers.assign(msisdn=callers["msisdn"].astype("str"))
    # only the two days the night reports (as_of's KPIs, fcr_day's first-contact resolution) are looked up: the
    # days between would be a 10M base's ~6 more days of callers for figures nobody reads
    day = contacts["contact_time"].dt.normalize()
    reported = contacts.loc[day.isin([pd.Timestamp(fcr_day), pd.Timestamp(as_of)])]
    try:
        attributed = attributed_tiers(settings, reported, callers, fcr_day, as_of, None, with_base=False)
    except Exception as exc:  # whatever the database's trouble: tonight's tiers, said
        log.exception("could not read the tier tables live on %s; tonight's tiers are used", as_of)
        return RoutedTiers(None, tonight, f"{said} (the publish database could not be read: {exc})")
    if attributed.tiers is None:
        return RoutedTiers(None, tonight, f"{said} ({attributed.note.removesuffix(f'; {ALL_ONLY}')})")
    lines = day_text(attributed.days)
    shown = {f"{day:%Y-%m-%d}": lines[day] for day in (pd.Timestamp(fcr_day), pd.Timestamp(as_of)) if day in lines}
    today = attributed.days[attributed.days["day"] == pd.Timestamp(as_of)]
    if not today["known"].any():
        why = "as no publication was live yet that day (the first night, or a day before the first recorded switch)"
        return RoutedTiers(None, tonight, f"{said}, {why}")
    if not today["source"].ne("").any():
        why = "as the tables live that day are no longer kept (publish.keep_versions)"
        return RoutedTiers(None, tonight, f"{said}, {why}: {shown[str(as_of)]}")
    note = f"tiers of {as_of}'s calls from the tier table live when each was made: {shown[str(as_of)]}"
    return RoutedTiers(attributed.tiers.tiers, shown, f"{note}; complaint rate's base: tonight's tiers")


def _read(paths: list[Path], columns: list[str], keep: tuple[str, list[Any]] | None = None) -> pd.DataFrame:
    """Return `columns` of the Parquet files, one after the other; with `keep` (column, values) only those rows."""
    filters = None if keep is None or not keep[1] else [(keep[0], "in", keep[1])]
    frame = pd.concat([pd.read_parquet(path, columns=columns, filters=filters) for path in paths], ignore_index=True)
    return frame.iloc[:0] if keep is not None and not keep[1] else frame  # pyarrow cannot type an empty value set


def tiers_by_key(subscribers: pd.DataFrame, routing: pd.DataFrame, key: bytes) -> pd.Series:
    """Return subscriber_id -> tier: each subscriber's MSISDN keyed and looked up in the tier table (`routing`:
    subscriber_key, tier); subscribers the table lacks are left out."""
    keys = subscriber_key(subscribers["msisdn"].astype("str"), key)
    tier = routing.set_index("subscriber_key")["tier"].reindex(keys.to_numpy()).to_numpy()
    return pd.Series(tier, index=subscribers["subscriber_id"].to_numpy()).dropna()


def replayed_day(as_of: date) -> date:
    """Return the day whose calls tomorrow's staffing replays: tomorrow's weekday a week earlier."""
    return as_of + timedelta(days=1) - timedelta(days=7)


def _log(night: ServiceNight) -> None:
    for row in night.kpis.to_dict("records"):
        log.info(
            "service level %s on %s: %s of %s calls within target time (target %s)",
            row["tier"],
            night.day,
            _plain(row.get("service_level")),
            row.get("offered"),
            _plain(row.get("target")),
        )
    if night.staffing is not None:
        missed = night.staffing.loc[~night.staffing["met"].astype(bool), "tier"].tolist()
        log.info(
            "staffing for %s with %d seats (calls of %s replayed): %s; chart %s",
            night.staffing_day,
            night.seats,
            night.replayed_day,
            f"targets missed for {', '.join(map(str, missed))}" if missed else "every tier meets its target",
            night.files.get("chart", "-"),
        )
    elif night.note:
        log.info("%s", night.note)


def service_night(
    settings: Settings,
    as_of: date,
    contacts: pd.DataFrame,
    base: pd.DataFrame,
    tiers: pd.Series,
    callers: pd.DataFrame,
    routing: pd.DataFrame,
    out_dir: Path,
    routed: RoutedTiers | None = None,
) -> ServiceNight:
    """Return the as-of day's KPIs and tomorrow's staffing.

    `contacts`: the kept recent contacts (any channel); `base`: subscriber_id, activation_date of tonight's
    active base; `tiers`: subscriber_id -> tier in tonight's tier table; `callers`: subscriber_id, msisdn of the
    base's subscribers (those who called on the replayed day suffice); `routing`: tonight's tier-table rows
    (subscriber_key, tier, priority, queue), those callers' at least; `routed`: the contacts' tiers in the tables
    live when they were made (None, or its tiers None: every contact takes tonight's tier).
    """
    service = settings.service
    absent = [c for c in OPTIONAL if c not in contacts.columns]
    active = base.assign(deactivation_date=pd.Series(pd.NaT, index=base.index, dtype="datetime64[ns]"))
    fcr_day = as_of - timedelta(days=service.fcr_window_days)
    given: pd.Series | ContactTiers = tiers
    if routed is not None and routed.tiers is not None:
        days = pd.date_range(pd.Timestamp(fcr_day), pd.Timestamp(as_of), freq="D")
        given = ContactTiers(routed.tiers, active_base(active, caller_tiers(active, tiers), days))
    kpis = service_kpis(contacts, active, given, service, fcr_day, as_of, absent)
    daily = kpis.daily
    today = daily[daily["day"] == pd.Timestamp(as_of)]
    then = daily[daily["day"] == pd.Timestamp(fcr_day)]
    fcr = {str(t): float(v) for t, v in zip(then["tier"], then["fcr"], strict=True)} if "fcr" in then else {}
    notes = [] if routed is None else [routed.note]
    night = ServiceNight(as_of, today.reset_index(drop=True), fcr, fcr_day, kpis.unavailable, note="; ".join(notes))
    if routed is not None:
        night = replace(night, tiers_from=routed.days)
    missing = [c for c in QUEUE_COLUMNS if c in absent]
    if missing or untimed(contacts["contact_time"]):
        why = f"the contacts have no {', '.join(missing)}" if missing else UNTIMED
        return replace(night, note="; ".join([*notes, f"no staffing replay: {why}"]))
    tomorrow, replayed = as_of + timedelta(days=1), replayed_day(as_of)
    by_key = routing.set_index("subscriber_key")
    calls, patience = day_calls(contacts, callers, by_key, replayed, service, privacy_key(settings.privacy))
    if calls.empty:
        return replace(night, note="; ".join([*notes, f"no staffing replay: no inbound voice call on {replayed}"]))
    plan = replay(calls, patience, tomorrow, service, service.seats, out_dir)
    per_interval = plan.required.groupby("interval")["required"].sum()
    return replace(
        night,
        staffing=plan.verdict,
        staffing_day=tomorrow,
        replayed_day=replayed,
        seats=service.seats,
        black_list_longest_wait_s=plan.black_list_longest_wait_s,
        peak_required=int(per_interval.max()),
        files={name: str(path) for name, path in plan.files.items()},
    )
