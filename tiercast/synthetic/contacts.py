"""Contact-centre interactions of one month: inbound contacts, repeats, and outbound retention calls."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tiercast.settings.generator import ContactSettings, GeneratorSettings, Weekday
from tiercast.synthetic import codes as c
from tiercast.synthetic.population import Population

MS_PER_DAY = 86_400_000
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPOCH_WEEKDAY = 3  # 1970-01-01 (day 0) was a Thursday


@dataclass(frozen=True)
class Contacts:
    """Contact rows: `line` is the position in the month's billed lines.

    Inbound voice calls leave this module unqueued (no wait, not abandoned, no agent group):
    tiercast/synthetic/call_queue.answer_calls queues them. `agent_group` codes index the settings'
    voice_queue groups (c.NO_CODE: none); left out, no row has one (contacts no agent answered).
    """

    line: np.ndarray
    time_ms: np.ndarray
    channel: np.ndarray
    reason: np.ndarray
    resolved: np.ndarray
    wait_seconds: np.ndarray
    handle_seconds: np.ndarray
    abandoned: np.ndarray
    agent_group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    def __post_init__(self) -> None:
        if len(self.agent_group) != len(self.line):
            if len(self.agent_group):
                raise ValueError(f"agent_group has {len(self.agent_group)} rows, line {len(self.line)}")
            object.__setattr__(self, "agent_group", np.full(len(self.line), c.NO_CODE, dtype=np.int8))

    @staticmethod
    def concat(parts: list[Contacts]) -> Contacts:
        """Return the rows of all parts, ordered by contact time."""
        columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in Contacts.__dataclass_fields__}
        order = np.argsort(columns["time_ms"], kind="stable")
        return Contacts(**{name: values[order] for name, values in columns.items()})

    def rows(self, mask: np.ndarray) -> Contacts:
        """Return the rows where `mask` is True."""
        return Contacts(**{name: getattr(self, name)[mask] for name in Contacts.__dataclass_fields__})


def month_contacts(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    start_day: np.ndarray,
    stop_day: np.ndarray,
    in_arrears: np.ndarray,
    proactive: np.ndarray,
    cfg: GeneratorSettings,
    extra_cancel_intents: np.ndarray | None = None,
) -> Contacts:
    """Return the month's contacts of lines `idx`, each active on days [start_day, stop_day).

    `in_arrears`: the line had an overdue bill at the end of last month (more billing contacts);
    `proactive`: the retention desk may call it this month because its high spend is falling;
    `extra_cancel_intents`: cancel-intent contacts a full month on top of the usual (a scenario's).
    """
    cc = cfg.contacts
    fraction = (stop_day - start_day) / 30.4
    state = pop.satisfaction[idx]
    rates = np.stack([np.asarray(cc.rates[r])[state] for r in c.INBOUND_REASONS], axis=1)
    rates[:, c.BILLING] += cc.billing_in_arrears * in_arrears
    rates[:, c.COMPLAINT] *= np.where(pop.list_flag[idx] == c.BLACK, cc.black_list_complaint_multiplier, 1.0)
    if extra_cancel_intents is not None:
        rates[:, c.CANCEL_INTENT] += extra_cancel_intents
    rates *= fraction[:, None]
    total = rates.sum(axis=1)
    line = np.repeat(np.arange(len(idx)), rng.poisson(total))
    cum = np.cumsum(rates[line], axis=1)
    reason = (rng.random(len(line)) * total[line])[:, None] >= cum
    reason_code = np.minimum(reason.sum(axis=1), len(c.INBOUND_REASONS) - 1).astype(np.int8)
    day = _weighted_days(rng, start_day[line], stop_day[line], cc)
    time_ms = day * MS_PER_DAY + _time_of_day(rng, len(line), cc)
    stop_ms = stop_day.astype(np.int64) * MS_PER_DAY
    first = _inbound(rng, pop, idx, line, time_ms, reason_code, cfg.contacts)
    parts = [first]
    # An unresolved contact is often followed by another on the same matter within days.
    previous = first
    for _ in range(2):
        again = ~previous.resolved & (rng.random(len(previous.line)) < cc.repeat_probability)
        later = _later(rng, previous.time_ms[again], cc)
        keep = later < stop_ms[previous.line[again]]
        rows = np.flatnonzero(again)[keep]
        previous = _inbound(rng, pop, idx, previous.line[rows], later[keep], previous.reason[rows], cc)
        parts.append(previous)
    inbound = Contacts.concat(parts)
    parts.append(_retention_calls(rng, pop, idx, inbound, start_day, stop_ms, proactive, cc))
    return Contacts.concat(parts)


def after_leaving(
    rng: np.random.Generator, pop: Population, left: np.ndarray, first_day: int, stop_day: int, cfg: GeneratorSettings
) -> Contacts:
    """Return billing contacts on days [first_day, stop_day) of former subscribers `left` (final bill, arrears).

    `line` in the result is the position in `left`.
    """
    rule = cfg.contacts.after_leaving
    call = rng.random(len(left)) < np.where(pop.reason[left] == c.NON_PAYMENT, rule.non_payment, rule.voluntary)
    after = pop.deactivation[left].astype(np.int64) + 1
    day = _weighted_days(rng, after, after + rule.max_days, cfg.contacts)
    keep = np.flatnonzero(call & (day >= first_day) & (day < stop_day))
    time_ms = day[keep] * MS_PER_DAY + _time_of_day(rng, len(keep), cfg.contacts)
    reason = np.full(len(keep), c.BILLING, dtype=np.int8)
    return _inbound(rng, pop, left, keep, time_ms, reason, cfg.contacts)


def weekday_weights(days: np.ndarray, cc: ContactSettings) -> np.ndarray:
    """Return the weekday weight (settings `contacts.weekday_weights`) of each day number."""
    weights = np.array([cc.weekday_weights[name] for name in WEEKDAYS])
    return weights[(days + EPOCH_WEEKDAY) % 7]


def _weighted_days(rng: np.random.Generator, start: np.ndarray, stop: np.ndarray, cc: ContactSettings) -> np.ndarray:
    """Return one day per row in [start, stop), drawn by the days' weekday weights."""
    if len(start) == 0:
        return start.astype(np.int64)
    low = int(start.min())
    cum = np.concatenate([[0.0], np.cumsum(weekday_weights(np.arange(low, int(stop.max())), cc))])
    below, above = cum[start - low], cum[stop - low]
    day = low + np.searchsorted(cum, below + rng.random(len(start)) * (above - below), side="right") - 1
    return np.clip(day, start, stop - 1).astype(np.int64)


def _time_of_day(rng: np.random.Generator, n: int, cc: ContactSettings) -> np.ndarray:
    """Return milliseconds into the day, following the settings' hour weights."""
    hour = c.draw(rng, np.asarray(cc.hour_weights), n=n).astype(np.int64)
    return hour * 3_600_000 + (rng.random(n) * 3_600_000).astype(np.int64)


def _later(rng: np.random.Generator, time_ms: np.ndarray, cc: ContactSettings) -> np.ndarray:
    """Return a repeat contact's time: some days after `time_ms` (exponential), at an hour of the profile."""
    n = len(time_ms)
    day = time_ms // MS_PER_DAY + np.floor(rng.exponential(cc.repeat_days_mean, n)).astype(np.int64)
    later = day * MS_PER_DAY + _time_of_day(rng, n, cc)
    return np.where(later <= time_ms, later + MS_PER_DAY, later)


def _inbound(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    line: np.ndarray,
    time_ms: np.ndarray,
    reason: np.ndarray,
    cc: ContactSettings,
) -> Contacts:
    """Return inbound contacts: channel by age group (cancel intents by their own mix), handle time, outcome.

    Voice calls are not queued yet (call_queue.answer_calls gives them waits and abandonment).
    """
    n = len(line)
    age_group = pop.age_group[idx[line]]
    channel_p = np.stack([c.shares(cc.channels[g], c.CHANNELS) for g in c.AGE_GROUPS])
    channel = c.draw(rng, channel_p, age_group)
    cancel = reason == c.CANCEL_INTENT
    channel[cancel] = c.draw(rng, c.shares(cc.cancel_intent_channels, c.CHANNELS), n=int(cancel.sum()))
    resolved_p = np.array([cc.resolved[r] for r in c.REASONS])[reason]
    return Contacts(
        line=line,
        time_ms=time_ms,
        channel=channel,
        reason=reason,
        resolved=rng.random(n) < resolved_p,
        wait_seconds=np.zeros(n),
        handle_seconds=_handle_seconds(rng, reason, channel, cc),
        abandoned=np.zeros(n, dtype=bool),
        agent_group=np.full(n, c.NO_CODE, dtype=np.int8),
    )


def _handle_seconds(
    rng: np.random.Generator, reason: np.ndarray, channel: np.ndarray, cc: ContactSettings
) -> np.ndarray:
    median = np.array([cc.handle_seconds_median[r] for r in c.REASONS])[reason]
    median = median * np.array([cc.channel_handle_multiplier[ch] for ch in c.CHANNELS])[channel]
    return np.round(median * rng.lognormal(0.0, cc.handle_sigma, len(reason)))


def _retention_calls(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    inbound: Contacts,
    start_day: np.ndarray,
    stop_ms: np.ndarray,
    proactive: np.ndarray,
    cc: ContactSettings,
) -> Contacts:
    """Return outbound retention calls: after a cancel intent, or to high spenders whose spend falls."""
    plan = cc.retention
    n = len(idx)
    never = np.iinfo(np.int64).max
    first_cancel = np.full(n, never)
    cancel = inbound.reason == c.CANCEL_INTENT
    np.minimum.at(first_cancel, inbound.line[cancel], inbound.time_ms[cancel])
    after_cancel = (first_cancel < never) & (rng.random(n) < plan.after_cancel_intent)
    delay = ((0.5 + rng.random(n) * 71.5) * 3_600_000).astype(np.int64)  # half an hour to three days
    when = np.where(after_cancel, first_cancel, 0) + np.where(after_cancel, delay, 0)
    span = stop_ms - start_day.astype(np.int64) * MS_PER_DAY
    random_time = start_day.astype(np.int64) * MS_PER_DAY + (rng.random(n) * span).astype(np.int64)
    chosen = proactive & ~after_cancel & (rng.random(n) < plan.proactive)
    when = np.where(chosen, random_time, when)
    call = (after_cancel | chosen) & (when < stop_ms) & ~pop.do_not_contact[idx]
    line = np.flatnonzero(call)
    reason = np.full(len(line), c.RETENTION_CALL, dtype=np.int8)
    channel = np.full(len(line), c.OUTBOUND, dtype=np.int8)
    return Contacts(
        line=line,
        time_ms=when[line],
        channel=channel,
        reason=reason,
        resolved=rng.random(len(line)) < cc.resolved["retention_call"],
        wait_seconds=np.zeros(len(line)),
        handle_seconds=_handle_seconds(rng, reason, channel, cc),
        abandoned=np.zeros(len(line), dtype=bool),
        agent_group=np.full(len(line), c.NO_CODE, dtype=np.int8),
    )
