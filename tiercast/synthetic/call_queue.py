"""The generator's own ACD: a month's inbound voice calls queued by the operator's priorities and staffing.

Each voice contact's contact_time is its queue entry. Its caller class (red / high / mid / low / black,
`caller_classes`) gives its priority and agent group (settings `contacts.voice_queue.routes`; a
cancel intent goes to the retention desk). Agents per group and interval are the fewest whose Erlang C
service level reaches the group's target for the interval's expected load (fewer at peaks, so some
intervals miss), and models/call_simulation queues the calls: waits, abandonment (exponential patience)
and the agent group that answered come out of the queue, so service levels differ by tier.

A small base is a sample of a centre's callers: when a month holds fewer calls a day than
`fold_to_daily_calls`, k days share one simulated day (day j on lane j mod ceil(days / k)), staffed for
their joint load, so a 50k-line base queues like a 1M-line one at no extra cost.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from models.call_simulation import Roster, simulate_calls
from tiercast.settings.generator import CallerClass, ContactSettings, VoiceQueueSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.contacts import MS_PER_DAY, Contacts, weekday_weights

CALLER_CLASSES: tuple[CallerClass, ...] = ("red", "high", "mid", "low", "black")
RED, HIGH, MID, LOW, BLACK = range(5)
SECONDS_PER_DAY = 86_400


def caller_classes(value: np.ndarray, list_flag: np.ndarray, listed: np.ndarray, vq: VoiceQueueSettings) -> np.ndarray:
    """Return per line its caller class (codes into CALLER_CLASSES).

    Red and black list first; otherwise the tier by rank of `value` (arpu_3m) among the `listed` lines
    (the ones in the operator's tier table): the top high_share high, the next mid_share mid, the rest
    low. Lines not listed (former subscribers) are low.
    """
    classes = np.full(len(value), LOW, dtype=np.int8)
    ranked = np.flatnonzero(listed)
    order = ranked[np.argsort(-value[ranked], kind="stable")]
    high = round(vq.high_share * len(ranked))
    mid = round((vq.high_share + vq.mid_share) * len(ranked))
    classes[order[:high]] = HIGH
    classes[order[high:mid]] = MID
    classes[list_flag == c.RED] = RED
    classes[list_flag == c.BLACK] = BLACK
    return classes


def erlang_c_agents(load: np.ndarray, handle_s: float, target: np.ndarray, within_s: float, least: int) -> np.ndarray:
    """Return per interval the fewest agents (at least `least`) whose Erlang C service level reaches `target`.

    Service level = 1 - C(N, A) exp(-(N - A) within_s / handle_s), with Erlang B by its recursion over
    N (vectorised over the intervals; `load` A in Erlangs, every target below 1).
    """
    agents = np.full(load.shape, least, dtype=np.int64)
    done = np.zeros(load.shape, dtype=bool)
    blocking = np.ones(load.shape)
    k = 0
    while not done.all():
        k += 1
        blocking = load * blocking / (k + load * blocking)
        stable = k > load
        with np.errstate(divide="ignore", invalid="ignore"):
            waits = np.where(stable, k * blocking / (k - load * (1.0 - blocking)), 1.0)
        level = np.where(stable, 1.0 - waits * np.exp(-(k - load) * within_s / handle_s), 0.0)
        reached = ~done & (k >= least) & (level >= target)
        agents[reached] = k
        done |= reached
    return agents


def answer_calls(
    rng: np.random.Generator, contacts: Contacts, classes: np.ndarray, first_day: int, days: int, cc: ContactSettings
) -> Contacts:
    """Return the contacts with the voice calls' wait, abandonment, handle time and answering group filled in.

    `classes`: caller class per line (`contacts.line` indexes it); the calls lie in days
    [first_day, first_day + days). Abandoned calls are unresolved, with no handle time and no group.
    """
    vq = cc.voice_queue
    voice = np.flatnonzero(contacts.channel == c.VOICE)
    if len(voice) == 0:
        return contacts
    lanes = _lanes(len(voice), days, vq.fold_to_daily_calls)
    calls, group = _routed_calls(rng, contacts, voice, classes, first_day, lanes, vq)
    staffing = _staffing(calls, group, first_day, days, lanes, cc)
    roster = Roster(tuple(vq.groups), staffing, vq.interval_minutes * 60.0, _overflow(vq))
    return _with_outcomes(contacts, voice, simulate_calls(calls, roster), tuple(vq.groups))


def _routed_calls(
    rng: np.random.Generator,
    contacts: Contacts,
    voice: np.ndarray,
    classes: np.ndarray,
    first_day: int,
    lanes: int,
    vq: VoiceQueueSettings,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the voice calls as models/call_simulation takes them (arrival on its lane), and their group codes."""
    groups = tuple(vq.groups)
    caller = classes[contacts.line[voice]]
    routes = [vq.routes[name] for name in CALLER_CLASSES]
    group = np.array([groups.index(route.group) for route in routes])[caller]
    cancel = (contacts.reason[voice] == c.CANCEL_INTENT) & (caller != BLACK)
    group[cancel] = groups.index(vq.cancel_intent_group)
    time_ms = contacts.time_ms[voice]
    calls = pd.DataFrame(
        {
            "arrival_s": ((time_ms // MS_PER_DAY - first_day) % lanes) * SECONDS_PER_DAY
            + (time_ms % MS_PER_DAY) / 1000.0,
            "priority": np.array([route.priority for route in routes])[caller],
            "group": np.array(groups, dtype=object)[group],
            "handle_s": contacts.handle_seconds[voice],
            "patience_s": rng.exponential(vq.patience_mean_seconds, len(voice)),
        }
    )
    return calls, group


def _with_outcomes(contacts: Contacts, voice: np.ndarray, outcome: pd.DataFrame, groups: tuple[str, ...]) -> Contacts:
    """Return the contacts with the queue's outcome of the `voice` rows (waits rounded to whole seconds)."""
    answered = outcome["answered"].to_numpy()
    served = outcome["served_by"].map({name: g for g, name in enumerate(groups)}).fillna(c.NO_CODE).to_numpy()
    abandoned, wait, handle = contacts.abandoned.copy(), contacts.wait_seconds.copy(), contacts.handle_seconds.copy()
    agent_group = contacts.agent_group.copy()
    abandoned[voice] = ~answered
    wait[voice] = np.round(outcome["wait_s"].to_numpy())
    handle[voice] = np.where(answered, handle[voice], 0.0)
    agent_group[voice] = np.where(answered, served, c.NO_CODE)
    return replace(
        contacts,
        resolved=contacts.resolved & ~abandoned,
        wait_seconds=wait,
        handle_seconds=handle,
        abandoned=abandoned,
        agent_group=agent_group,
    )


def _lanes(calls: int, days: int, daily_calls: int) -> int:
    """Return how many simulated days the month's calls lie on: all days, or fewer when calls are scarce."""
    fold = min(days, max(1, math.ceil(daily_calls * days / calls)))
    return math.ceil(days / fold)


def _overflow(vq: VoiceQueueSettings) -> dict[str, tuple[str, ...]]:
    return {name: group.overflow for name, group in vq.groups.items()}


def _staffing(
    calls: pd.DataFrame, group: np.ndarray, first_day: int, days: int, lanes: int, cc: ContactSettings
) -> np.ndarray:
    """Return agents per group (rows) and interval of the simulated days (columns), from the expected load.

    A group's month of calls is spread over the days by the weekday weights and over each day by the
    hour weights; the days of a lane add up. Each group gets the agents its own load needs at its
    target; the last, general group only peak_service_level at peaks (seats run short there; the
    dedicated desks keep their targets). A group with calls keeps at least one agent on duty.
    """
    vq = cc.voice_queue
    per_hour = 60 // vq.interval_minutes
    interval_share = np.repeat(np.asarray(cc.hour_weights), per_hour) / per_hour
    day_share = weekday_weights(np.arange(first_day, first_day + days), cc)
    profile = day_share[:, None] * interval_share[None, :]
    profile /= profile.sum()
    lane_profile = np.zeros((lanes, len(interval_share)))
    np.add.at(lane_profile, np.arange(days) % lanes, profile)
    calls_share = lane_profile.ravel()
    handle = calls["handle_s"].to_numpy()
    interval_s, within_s = vq.interval_minutes * 60.0, vq.answer_within_seconds

    def agents(mine: np.ndarray, target: float, at_peak: float) -> np.ndarray:
        if not mine.any():
            return np.zeros(len(calls_share), dtype=np.int64)
        handle_s = max(float(handle[mine].mean()), 1.0)
        load = mine.sum() * calls_share * handle_s / interval_s
        peak = load >= vq.peak_load_share * load.max()
        return erlang_c_agents(load, handle_s, np.where(peak, at_peak, target), within_s, least=1)

    specs = list(vq.groups.values())
    dedicated = [agents(group == g, spec.target, spec.target) for g, spec in enumerate(specs[:-1])]
    general = agents(group == len(specs) - 1, specs[-1].target, min(vq.peak_service_level, specs[-1].target))
    return np.stack([*dedicated, general])
