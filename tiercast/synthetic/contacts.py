"""Contact-centre interactions of one month: inbound contacts, repeats, and outbound retention calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiercast.settings.generator import ContactSettings, GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.population import Population

MS_PER_DAY = 86_400_000
# Share of contacts by hour of day (the hotline answers around the clock, mostly in the daytime).
HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 6, 9, 10, 9, 7, 7, 9, 9, 8, 7, 7, 8, 7, 5, 3, 2], float)


@dataclass(frozen=True)
class Contacts:
    """Contact rows: `line` is the position in the month's billed lines."""

    line: np.ndarray
    time_ms: np.ndarray
    channel: np.ndarray
    reason: np.ndarray
    resolved: np.ndarray
    wait_seconds: np.ndarray
    handle_seconds: np.ndarray
    abandoned: np.ndarray

    @staticmethod
    def concat(parts: list[Contacts]) -> Contacts:
        """Return the rows of all parts, ordered by contact time."""
        columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in Contacts.__dataclass_fields__}
        order = np.argsort(columns["time_ms"], kind="stable")
        return Contacts(**{name: values[order] for name, values in columns.items()})


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
    day = start_day[line] + np.floor(rng.random(len(line)) * (stop_day - start_day)[line]).astype(np.int64)
    time_ms = day * MS_PER_DAY + _time_of_day(rng, len(line))
    stop_ms = stop_day.astype(np.int64) * MS_PER_DAY
    first = _inbound(rng, pop, idx, line, time_ms, reason_code, cfg.contacts)
    parts = [first]
    # An unresolved contact is often followed by another on the same matter within days.
    previous = first
    for _ in range(2):
        again = ~previous.resolved & (rng.random(len(previous.line)) < cc.repeat_probability)
        later = previous.time_ms[again] + (rng.exponential(cc.repeat_days_mean, int(again.sum())) * MS_PER_DAY)
        keep = later.astype(np.int64) < stop_ms[previous.line[again]]
        rows = np.flatnonzero(again)[keep]
        previous = _inbound(rng, pop, idx, previous.line[rows], later.astype(np.int64)[keep], previous.reason[rows], cc)
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
    day = pop.deactivation[left].astype(np.int64) + rng.integers(1, rule.max_days + 1, len(left))
    keep = np.flatnonzero(call & (day >= first_day) & (day < stop_day))
    time_ms = day[keep] * MS_PER_DAY + _time_of_day(rng, len(keep))
    reason = np.full(len(keep), c.BILLING, dtype=np.int8)
    return _inbound(rng, pop, left, keep, time_ms, reason, cfg.contacts)


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return milliseconds into the day, following HOUR_WEIGHTS."""
    hour = c.draw(rng, HOUR_WEIGHTS, n=n).astype(np.int64)
    return hour * 3_600_000 + (rng.random(n) * 3_600_000).astype(np.int64)


def _inbound(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    line: np.ndarray,
    time_ms: np.ndarray,
    reason: np.ndarray,
    cc: ContactSettings,
) -> Contacts:
    """Return inbound contacts: channel by age group (cancel intents by their own mix), queue, outcome."""
    n = len(line)
    age_group = pop.age_group[idx[line]]
    channel_p = np.stack([c.shares(cc.channels[g], c.CHANNELS) for g in c.AGE_GROUPS])
    channel = c.draw(rng, channel_p, age_group)
    cancel = reason == c.CANCEL_INTENT
    channel[cancel] = c.draw(rng, c.shares(cc.cancel_intent_channels, c.CHANNELS), n=int(cancel.sum()))
    voice = channel == c.VOICE
    queue = cc.voice_queue
    wait = np.where(
        rng.random(n) < queue.fast_share,
        rng.exponential(queue.fast_mean_seconds, n),
        rng.exponential(queue.slow_mean_seconds, n),
    )
    patience = rng.exponential(queue.patience_mean_seconds, n)
    abandoned = voice & (patience < wait)
    wait = np.where(voice, np.round(np.minimum(wait, patience)), 0.0)
    handle = _handle_seconds(rng, reason, channel, cc)
    resolved_p = np.array([cc.resolved[r] for r in c.REASONS])[reason]
    resolved = ~abandoned & (rng.random(n) < resolved_p)
    return Contacts(
        line=line,
        time_ms=time_ms,
        channel=channel,
        reason=reason,
        resolved=resolved,
        wait_seconds=wait,
        handle_seconds=np.where(abandoned, 0.0, handle),
        abandoned=abandoned,
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
    )
