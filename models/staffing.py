"""Fewest agents per group and interval that meet every tier's service-level target, by simulation.

Targets (domain.md, "Routing priorities"): high 90% of calls answered within 20 s, mid and low 85%.
A tier meets its target in an interval when the share of its calls arriving in that interval that are
answered within the target's seconds (see `call_simulation.service_levels`) reaches the share; an
interval where a tier has no calls meets it trivially.

The search, interval by interval:
1. start each group at the Erlang A answer (Erlang C if patience is infinite) for the load of the calls
   requesting it, at the strictest target among the tiers in its queue;
2. simulate the interval's calls together with the previous interval's (at the staffing already chosen
   for it), which carries the previous interval's queue and busy agents over; only the interval's own
   calls are judged;
3. while a tier misses, add one agent to the group its calls request (the worst shortfall first); then
   take agents away one at a time, group by group, while every tier still meets its target.
Finally the whole day is simulated with the result and any (interval, tier) that still misses gets one
more agent in its group, until the day meets every target.
Tiers without a target (the black list: "always at the lowest priority", no service level) do not
drive staffing; their calls still take agents' time in the simulation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from models.call_simulation import Roster, answered_waits, interval_of, service_levels, simulate_calls
from models.erlang import agents_for_service_level

MAX_ROUNDS = 200  # guard against a target no staffing can meet (e.g. patience shorter than any answer)

# the search starts each interval at Erlang A's count for its calls and the staffing table shows it beside the
# answer: the same loads twice, remembered once (a pure function of numbers)
_erlang_count = lru_cache(maxsize=4096)(agents_for_service_level)


@dataclass(frozen=True)
class Target:
    """A service-level target: `share` of calls answered within `within_s` seconds."""

    share: float
    within_s: float = 20.0


def targets_met(
    calls: pd.DataFrame, outcomes: pd.DataFrame, interval_s: float, targets: Mapping[str, Target]
) -> pd.DataFrame:
    """Return per tier and interval: offered, service_level, target and met (calls need a `tier` column)."""
    tables = []
    for tier, target in targets.items():
        mine = (calls["tier"] == tier).to_numpy()
        if not mine.any():
            continue
        table = service_levels(calls[mine], outcomes[mine], interval_s, by="tier", within_s=target.within_s)
        tables.append(table.assign(target=target.share, met=table["service_level"] >= target.share))
    columns = ["tier", "interval", "offered", "service_level", "target", "met"]
    return pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns)


def seats_meet_targets(calls: pd.DataFrame, roster: Roster, targets: Mapping[str, Target]) -> pd.DataFrame:
    """Return per tier, with the given seats: the day's service level, the target, met, and intervals missed."""
    table = targets_met(calls, simulate_calls(calls, roster), roster.interval_s, targets)
    table = table.assign(answered_within=table["service_level"] * table["offered"], missed=~table["met"])
    day = table.groupby("tier", sort=False).agg(
        offered=("offered", "sum"),
        answered_within=("answered_within", "sum"),
        target=("target", "first"),
        intervals_missed=("missed", "sum"),
    )
    day = day.assign(service_level=day["answered_within"] / day["offered"])
    day = day.assign(met=(day["service_level"] >= day["target"]) & (day["intervals_missed"] == 0))
    return day.reset_index()[["tier", "offered", "service_level", "target", "met", "intervals_missed"]]


def erlang_agents(
    calls: pd.DataFrame, groups: tuple[str, ...], interval_s: float, targets: Mapping[str, Target]
) -> np.ndarray:
    """Return per group the Erlang A (or C) agents for one interval's calls at its queue's strictest target."""
    agents = np.zeros(len(groups), dtype="int64")
    requested, tier_of = calls["group"].to_numpy(), calls["tier"].to_numpy()
    handle, patience_of = calls["handle_s"].to_numpy(dtype="float64"), calls["patience_s"].to_numpy(dtype="float64")
    for g, name in enumerate(groups):
        mine = requested == name
        tiers = [tier for tier in pd.unique(tier_of[mine]) if tier in targets]
        if not tiers:
            continue
        strictest = max((targets[tier] for tier in tiers), key=lambda target: target.share)
        handle_s = float(handle[mine].mean())
        patience = float(patience_of[mine].mean())
        agents[g] = _erlang_count(
            load=float(handle[mine].sum()) / interval_s,
            handle_s=handle_s,
            target=strictest.share,
            within_s=strictest.within_s,
            patience_s=None if math.isinf(patience) else patience,
        )
    return agents


def _worst_miss(
    answered: np.ndarray, wait_s: np.ndarray, judged_tiers: Mapping[str, np.ndarray], targets: Mapping[str, Target]
) -> str | None:
    """Return the tier furthest below its target among the judged calls, or None when every tier meets it."""
    worst, worst_gap = None, 0.0
    for tier, mine in judged_tiers.items():
        level = float((answered[mine] & (wait_s[mine] <= targets[tier].within_s)).mean())
        if targets[tier].share - level > worst_gap:
            worst, worst_gap = tier, targets[tier].share - level
    return worst


def _interval_agents(
    calls: pd.DataFrame, start: np.ndarray, previous: np.ndarray | None, template: Roster, targets: Mapping[str, Target]
) -> np.ndarray:
    """Return the fewest agents per group meeting every target in one interval (the window's last)."""
    judged = interval_of(calls["arrival_s"], template.interval_s) == (0 if previous is None else 1)
    tiers = calls["tier"].to_numpy()
    judged_tiers = {tier: judged & (tiers == tier) for tier in targets if (judged & (tiers == tier)).any()}
    index = {name: g for g, name in enumerate(template.groups)}
    groups = calls["group"].to_numpy()
    group_of = {tier: index[_most_requested(groups[mine])] for tier, mine in judged_tiers.items()}

    def worst_miss(agents: np.ndarray) -> str | None:
        matrix = agents[:, None] if previous is None else np.column_stack([previous, agents])
        answered, wait_s = answered_waits(calls, template.with_agents(matrix))
        return _worst_miss(answered, wait_s, judged_tiers, targets)

    agents = start.copy()
    for _ in range(MAX_ROUNDS):
        tier = worst_miss(agents)
        if tier is None:
            break
        agents[group_of[tier]] += 1
    for g in range(len(agents)):
        while agents[g] > 0:
            fewer = agents.copy()
            fewer[g] -= 1
            if worst_miss(fewer) is not None:
                break
            agents = fewer
    return agents


def _most_requested(groups: np.ndarray) -> str:
    """Return the group the most of these calls request (the first by name on a tie, as Series.mode)."""
    names, counts = np.unique(groups.astype("str"), return_counts=True)
    return str(names[np.argmax(counts)])


def required_agents(calls: pd.DataFrame, template: Roster, n_intervals: int, targets: Mapping[str, Target]) -> Roster:
    """Return `template` (groups, interval length, overflow) with the fewest agents meeting every target.

    Calls arriving after the last of the `n_intervals` intervals are left out.
    """
    calls = calls[interval_of(calls["arrival_s"], template.interval_s) < n_intervals]
    interval = interval_of(calls["arrival_s"], template.interval_s)
    chosen = np.zeros((len(template.groups), n_intervals), dtype="int64")
    for k in range(n_intervals):
        window = calls[(interval >= k - 1) & (interval <= k)]
        window = window.assign(arrival_s=window["arrival_s"] - max(k - 1, 0) * template.interval_s)
        own = window[interval_of(window["arrival_s"], template.interval_s) == min(k, 1)]
        start = erlang_agents(own, template.groups, template.interval_s, targets)
        previous = chosen[:, k - 1] if k > 0 else None
        chosen[:, k] = _interval_agents(window, start, previous, template, targets)
    return _fill_day(calls, template.with_agents(chosen), targets)


def _fill_day(calls: pd.DataFrame, roster: Roster, targets: Mapping[str, Target]) -> Roster:
    """Return the roster with one more agent per (interval, tier) that misses in the whole-day simulation."""
    index = {name: g for g, name in enumerate(roster.groups)}
    interval = interval_of(calls["arrival_s"], roster.interval_s)
    groups, tiers = calls["group"].to_numpy(), calls["tier"].to_numpy()
    for _ in range(MAX_ROUNDS):
        table = targets_met(calls, simulate_calls(calls, roster), roster.interval_s, targets)
        missing = table[~table["met"]]
        if missing.empty:
            break
        agents = roster.agents.copy()
        for tier, k in zip(missing["tier"], missing["interval"].astype(int), strict=True):
            agents[index[_most_requested(groups[(tiers == tier) & (interval == k)])], k] += 1
        roster = roster.with_agents(agents)
    return roster
