"""`tiercast staffing`: a day of inbound calls replayed under the published priorities, with N seats.

The calls of day D come from the contacts (arrival time, handle time); each caller's priority and
queue are looked up in the live tier table by subscriber_key (what the routing service does);
patience is fitted to the contacts (exponential, the censored maximum-likelihood estimate: abandons
over total time waited, since an answered caller's patience is only known to exceed their wait).
The simulation (models/call_simulation.py) says whether each tier meets its target with the seats
given (split over the agent groups by `service.groups.*.seat_share`), and the staffing search
(models/staffing.py) finds the fewest agents per group and interval that meet every target,
beside the Erlang A answer for the same load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from matplotlib.figure import Figure

from models.call_simulation import Roster, interval_of, longest_waits, simulate_calls
from models.staffing import Target, erlang_agents, required_agents, seats_meet_targets
from pipelines.database import contract_table, display_url, engine_for
from pipelines.ingest import validate_inputs
from pipelines.plots import new_figure
from pipelines.privacy import privacy_key, subscriber_key
from tiercast.errors import InputError
from tiercast.settings import Settings
from tiercast.settings.service import ServiceSettings

log = logging.getLogger(__name__)

BLACK = "black list"  # priority 9 callers: served last, no service-level target (domain.md)
BLACK_PRIORITY = 9
UNLISTED = {"tier": None, "priority": 7, "queue": "standard"}  # a caller not in the table: the standard queue


@dataclass(frozen=True)
class StaffingPlan:
    """A day's calls, the verdict with the seats given, the agents required, and the files written."""

    day: date
    calls: pd.DataFrame
    patience_mean_s: float
    verdict: pd.DataFrame
    required: pd.DataFrame  # interval, hour, group, required, erlang, available
    black_list_longest_wait_s: float
    files: dict[str, Path]


def published_routing(settings: Settings) -> pd.DataFrame:
    """Return subscriber_key -> tier, priority, queue from the live tier table (read-only)."""
    view = contract_table("tier_table", settings.publish.tier_view, sa.MetaData())
    engine = engine_for(settings, read_only=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(view.c.subscriber_key, view.c.tier, view.c.priority, view.c.queue)).all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        raise InputError(
            f"no tier table to route the calls with ({display_url(engine)} :: {settings.publish.tier_view}: "
            f"{exc.orig}): publish one first (tiercast score-publish or the nightly)"
        ) from None
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=["subscriber_key", "tier", "priority", "queue"]).set_index("subscriber_key")


def fitted_patience(contacts: pd.DataFrame) -> float:
    """Return the mean patience (s) of inbound voice callers: total time waited / calls abandoned."""
    voice = contacts[contacts["channel"] == "voice"]
    abandoned = int(voice["abandoned"].sum())
    waited = float(voice["wait_seconds"].sum())
    if abandoned == 0 or waited <= 0:
        raise InputError("cannot fit caller patience: no abandoned inbound call with a wait in the contacts")
    return waited / abandoned


def day_calls(
    contacts: pd.DataFrame,
    subscribers: pd.DataFrame,
    routing: pd.DataFrame,
    day: date,
    service: ServiceSettings,
    key: bytes,
    seed: int = 0,
) -> tuple[pd.DataFrame, float]:
    """Return the simulation's calls of `day` (arrival_s, priority, group, handle_s, patience_s, tier) and the
    fitted mean patience. Abandoned calls' handle time and answered callers' remaining patience are drawn."""
    rng = np.random.default_rng(seed)
    patience = fitted_patience(contacts)
    start = pd.Timestamp(datetime.combine(day, time()))
    when = pd.to_datetime(contacts["contact_time"])
    calls = contacts[(contacts["channel"] == "voice") & (when >= start) & (when < start + pd.Timedelta(days=1))]
    msisdn = calls["subscriber_id"].map(subscribers.set_index("subscriber_id")["msisdn"])
    known = msisdn.notna()  # a caller outside tonight's active base (left, or quarantined) is not in the tier table
    keys = pd.Series(pd.NA, index=calls.index, dtype="str")
    keys[known] = subscriber_key(msisdn[known].astype("str"), key)
    routed = routing.reindex(keys.to_numpy())
    priority = routed["priority"].fillna(UNLISTED["priority"]).astype("int64").to_numpy()
    group = routed["queue"].where(routed["queue"].isin(list(service.groups)), UNLISTED["queue"]).to_numpy()
    tier = np.where(priority == BLACK_PRIORITY, BLACK, routed["tier"].fillna(service.unlisted_tier).to_numpy())
    abandoned = calls["abandoned"].to_numpy(dtype=bool)
    talk = service.handle.talk_mean_seconds
    sigma = np.sqrt(np.log1p(service.handle.talk_cv**2))
    drawn = rng.lognormal(np.log(talk) - sigma**2 / 2, sigma, len(calls))
    handle = np.where(abandoned, drawn, calls["handle_seconds"].to_numpy(dtype="float64"))
    waited = calls["wait_seconds"].to_numpy(dtype="float64")
    frame = pd.DataFrame(
        {
            "arrival_s": ((when[calls.index] - start).dt.total_seconds()).to_numpy(),
            "priority": priority,
            "group": group,
            "handle_s": np.maximum(handle, 1.0) + service.handle.after_call_work_seconds,
            "patience_s": np.where(abandoned, waited, waited + rng.exponential(patience, len(calls))),
            "tier": tier,
        }
    )
    return frame.sort_values("arrival_s", kind="stable").reset_index(drop=True), patience


def roster(service: ServiceSettings, seats: int) -> Roster:
    """Return `seats` agents split over the groups by their seat shares (each group staffed when there are
    seats enough), the same all day."""
    groups = tuple(service.groups)
    shares = np.array([service.groups[g].seat_share for g in groups])
    agents = np.floor(shares * seats).astype("int64")
    if seats >= len(groups):
        agents = np.maximum(agents, (shares > 0).astype("int64"))
    agents[np.argmax(shares)] += seats - agents.sum()
    per_day = int(24 * 60 / service.interval_minutes)
    overflow = {g: service.groups[g].overflow for g in groups}
    return Roster(groups, np.repeat(agents[:, None], per_day, axis=1), service.interval_minutes * 60.0, overflow)


def targets(service: ServiceSettings) -> dict[str, Target]:
    """Return the service-level target of each tier (service.targets, within service.answer_within_seconds)."""
    return {tier: Target(share, float(service.answer_within_seconds)) for tier, share in service.targets.items()}


def _required_table(calls: pd.DataFrame, available: Roster, service: ServiceSettings) -> pd.DataFrame:
    wanted = targets(service)
    needed = required_agents(calls, available, available.agents.shape[1], wanted)
    interval = interval_of(calls["arrival_s"], available.interval_s)
    rows = []
    for k in range(available.agents.shape[1]):
        erlang = erlang_agents(calls[interval == k], available.groups, available.interval_s, wanted)
        for g, group in enumerate(available.groups):
            rows.append((k, group, int(needed.agents[g, k]), int(erlang[g]), int(available.agents[g, k])))
    table = pd.DataFrame(rows, columns=["interval", "group", "required", "erlang", "available"])
    return table.assign(hour=table["interval"] * service.interval_minutes // 60)


def required_figure(required: pd.DataFrame, day: date) -> Figure:
    """Return agents required (simulation) and Erlang A's count vs available, per hour."""
    fig, ax = new_figure(f"Agents required vs available by hour, {day}", (9, 4.5))
    # agents per interval summed over groups, averaged over the intervals of each hour
    per_interval = required.groupby(["hour", "interval"])[["required", "erlang", "available"]].sum()
    by_hour: pd.DataFrame = per_interval.groupby(level="hour").mean()
    ax.step(by_hour.index, by_hour["available"], where="post", label="available", color="black")
    ax.bar(by_hour.index, by_hour["required"], alpha=0.5, label="required (simulation, every tier's target)")
    ax.plot(by_hour.index, by_hour["erlang"], "o--", label="Erlang A per group", color="tab:orange")
    ax.set(xlabel="hour", ylabel="agents")
    ax.legend(loc="best", fontsize=8)
    return fig


def plan(settings: Settings, data_dir: Path | None, day: date, seats: int | None, out_dir: Path | None) -> StaffingPlan:
    """Replay day D's calls under the published priorities with `seats` (default service.seats)."""
    service = settings.service
    inputs = validate_inputs(settings, data_dir, kind="staffing")
    missing = [c for c in ("wait_seconds", "abandoned", "handle_seconds") if c in inputs.absent.get("contacts", ())]
    if missing:
        raise InputError(f"contacts: the export has no {', '.join(missing)}: calls cannot be replayed without them")
    contacts, subscribers = inputs.tables["contacts"], inputs.tables["subscribers"]
    calls, patience = day_calls(
        contacts, subscribers, published_routing(settings), day, service, privacy_key(settings.privacy)
    )
    if calls.empty:
        raise InputError(f"contacts: no inbound voice call on {day}")
    folder = out_dir or settings.paths.resolve(settings.paths.reports) / "staffing"
    return replay(calls, patience, day, service, seats or service.seats, folder)


def replay(
    calls: pd.DataFrame, patience: float, day: date, service: ServiceSettings, seats: int, folder: Path
) -> StaffingPlan:
    """Simulate `calls` (from `day_calls`) with `seats` agents: each tier's verdict, the agents required per
    interval (simulation and Erlang A), the black list's longest wait; the table and chart written to `folder`
    as staffing_<day>.csv / .png."""
    available = roster(service, seats)
    outcomes = simulate_calls(calls, available)
    verdict = seats_meet_targets(calls, available, targets(service))
    black = longest_waits(calls, outcomes, available.interval_s, BLACK_PRIORITY)
    longest = float(black["longest_wait_s"].max()) if len(black) else float("nan")
    required = _required_table(calls, available, service)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"required": folder / f"staffing_{day}.csv", "chart": folder / f"staffing_{day}.png"}
    required.to_csv(files["required"], index=False)
    required_figure(required, day).savefig(files["chart"], bbox_inches="tight")
    log.info("staffing for %s: %d calls, files in %s", day, len(calls), folder)
    return StaffingPlan(day, calls, patience, verdict, required, longest, files)
