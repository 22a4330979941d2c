"""Retention campaigns of the simulation (issue 14): targets, control group, latent responses, offers, calls.

At the end of month t the campaign of month t + 1 (campaign date: its first day) is planned from the
generator's own hazard: per desk (an arpu_3m band standing in for the tier) the eligible lines at
the top of the ranking (churn, or churn x arpu_3m) plus a random share of the others are targeted;
a random share of the targets is held out as the control group, independent of risk. Every line
has a latent response type for the month (persuadable, sure thing, lost cause, sleeping dog),
drawn from a fixed per-line uniform under weights that depend on its situation, so a line keeps
its type while its situation stays the same. A treated line is called on one of the month's first
days; if it answers, its voluntary churn logit for that month moves by its type's effect times
the offer's multiplier (or, in a proportional mix, its voluntary churn probability is multiplied by
1 - k). Suspension for non-payment is not moved by a call. The effect lasts the campaign month only.

Pure numpy: every function takes arrays and settings and returns arrays; randomness comes from the
generator passed in (the simulation gives campaigns their own stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiercast.settings.campaigns import OFFERS, RESPONSE_TYPES, CampaignSettings, ResponseMix, SituationSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.behaviour import LEAVING
from tiercast.synthetic.hazard import Observables, sigmoid

PERSUADABLE, SURE_THING, LOST_CAUSE, SLEEPING_DOG = range(4)
NO_TYPE = -1  # a proportional mix has no types
GROUPS = ("treated", "control")
TREATED, CONTROL = 0, 1
OUTCOMES = ("accepted", "declined", "no_answer")
ACCEPTED, DECLINED, NO_ANSWER = range(3)
MS_PER_DAY = 86_400_000
# Outbound calls between 09:00 and 21:00 (domain.md: outbound call-backs never after 22:00).
FIRST_CALL_HOUR, LAST_CALL_HOUR = 9, 21
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Situations:
    """Per line: the situations that make one response type more likely than another."""

    complaining: np.ndarray
    price_sensitive: np.ndarray
    young: np.ndarray
    high_value: np.ndarray
    sleeper: np.ndarray
    lost: np.ndarray


def line_situations(
    obs: Observables, rows: np.ndarray, true_type: np.ndarray, satisfaction: np.ndarray, cfg: SituationSettings
) -> Situations:
    """Return the situations of lines `rows` (indices into `obs`); `true_type`, `satisfaction` are theirs."""
    arpu = obs.arpu[rows]
    complaining = (obs.complaints_3m[rows] > 0) | (obs.cancel_intents_3m[rows] > 0)
    falling = obs.arpu_trend[rows] <= cfg.falling_trend  # NaN (unknown) is not falling
    late = (obs.standing.late_share[rows] >= cfg.late_share) | (obs.standing.overdue[rows] > 0)
    contract_free = ~(obs.contract_left[rows] > 1)  # NaN (no contract) counts as free
    loyal = (true_type == c.LOYAL_LOW) | (true_type == c.LOYAL_MID)
    return Situations(
        complaining=complaining,
        price_sensitive=falling | late,
        young=obs.young[rows],
        high_value=arpu >= cfg.high_value_min_arpu,
        sleeper=loyal & contract_free & (arpu < cfg.sleeper_max_arpu) & ~complaining,
        lost=(true_type == c.FLEA) | (satisfaction == LEAVING),
    )


def line_uniforms(lines: np.ndarray, seed: int) -> np.ndarray:
    """Return a fixed uniform in [0, 1) per line index (splitmix64 of line and seed): its latent response draw."""
    z = lines.astype(np.uint64) * _GOLDEN + np.uint64(seed * 0xD1B54A32D192ED03 % 2**64)  # wraps modulo 2**64
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def response_types(u: np.ndarray, situations: Situations, mix: ResponseMix, cfg: SituationSettings) -> np.ndarray:
    """Return each line's response type code (NO_TYPE throughout for a proportional mix) from its uniform `u`."""
    if mix.proportional is not None:
        return np.full(len(u), NO_TYPE, dtype=np.int8)
    persuadable = mix.shares["persuadable"] * np.where(situations.complaining, cfg.complaining, 1.0)
    persuadable *= np.where(situations.price_sensitive, cfg.price_sensitive, 1.0)
    weights = (  # RESPONSE_TYPES order
        persuadable,
        mix.shares["sure_thing"],
        mix.shares["lost_cause"] * np.where(situations.lost, cfg.lost, 1.0),
        mix.shares["sleeping_dog"] * np.where(situations.sleeper, cfg.sleeper, 1.0),
    )
    cum = np.cumsum(np.broadcast_arrays(*weights), axis=0)
    x = u * cum[-1]
    return ((x >= cum[0]).astype(np.int8) + (x >= cum[1]) + (x >= cum[2])).astype(np.int8)


def voluntary_if_called(
    logit: np.ndarray, types: np.ndarray, situations: Situations, settings: CampaignSettings
) -> np.ndarray:
    """Return (lines, offers): the voluntary churn probability next month if reached with each offer (OFFERS order)."""
    mix = settings.response_mix
    if mix.proportional is not None:
        return np.repeat((sigmoid(logit) * (1.0 - mix.proportional))[:, None], len(OFFERS), axis=1)
    persuadable = np.where(types == PERSUADABLE, mix.effects["persuadable"], 0.0)
    sleeping = np.where(types == SLEEPING_DOG, mix.effects["sleeping_dog"], 0.0)
    out = np.empty((len(logit), len(OFFERS)))
    for k, name in enumerate(OFFERS):
        offer = settings.offers[name]
        fits = getattr(situations, offer.fits) if offer.fits is not None else np.zeros(len(logit), dtype=bool)
        scale = offer.persuadable * np.where(fits, offer.fit, 1.0)
        out[:, k] = sigmoid(logit + persuadable * scale + sleeping * offer.sleeping_dog)
    return out


def churn(p_voluntary: np.ndarray, p_non_payment: np.ndarray) -> np.ndarray:
    """Return the chance of leaving next month (voluntarily or suspended) from its two parts."""
    return 1.0 - (1.0 - p_voluntary) * (1.0 - p_non_payment)


def desks_of(arpu: np.ndarray, desks: dict[str, float]) -> np.ndarray:
    """Return each line's desk code (position in `desks`): the desk with the highest lower bound at or below arpu."""
    bounds = np.array(list(desks.values()))
    order = np.argsort(bounds, kind="stable")
    position = np.searchsorted(bounds[order], np.nan_to_num(arpu, nan=0.0), side="right") - 1
    return order[np.maximum(position, 0)].astype(np.int8)


def targets(
    rng: np.random.Generator, score: np.ndarray, eligible: np.ndarray, desk: np.ndarray, settings: CampaignSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Return the targeted lines (positions, ascending) and whether each is in the control group.

    Per desk: the top `by_risk_share` of its eligible lines by `score`, plus `random_share` of the
    others at random; the control group is a `control_share` draw independent of everything else.
    """
    plan = settings.targeting
    chosen = np.zeros(len(score), dtype=bool)
    for d in range(len(settings.desks)):
        rows = np.flatnonzero(eligible & (desk == d))
        top = round(plan.by_risk_share * len(rows))
        if top > 0:
            chosen[rows[np.argpartition(-score[rows], top - 1)[:top]]] = True
    lucky = eligible & ~chosen & (rng.random(len(score)) < plan.random_share)
    members = np.flatnonzero(chosen | lucky)
    return members, rng.random(len(members)) < plan.control_share


def draw_offers(rng: np.random.Generator, n: int, settings: CampaignSettings) -> np.ndarray:
    """Return an offer code (OFFERS order) per targeted line, at random with the configured shares."""
    return c.draw(rng, c.shares({name: spec.share for name, spec in settings.offers.items()}, OFFERS), n=n)


def call_times(rng: np.random.Generator, n: int, first_day: int, call_days: int) -> np.ndarray:
    """Return call times (ms since 1970) on days [first_day, first_day + call_days), 09:00-21:00."""
    day = first_day + rng.integers(0, call_days, n).astype(np.int64)
    span_ms = (LAST_CALL_HOUR - FIRST_CALL_HOUR) * 3_600_000
    return day * MS_PER_DAY + FIRST_CALL_HOUR * 3_600_000 + (rng.random(n) * span_ms).astype(np.int64)


def outcomes(rng: np.random.Generator, types: np.ndarray, settings: CampaignSettings) -> np.ndarray:
    """Return each call's outcome code: no answer, else accepted with the chance of the line's type."""
    n = len(types)
    answered = rng.random(n) < settings.answer_rate
    by_type = np.array([settings.accept[t] for t in RESPONSE_TYPES])
    accept_p = np.where(types >= 0, by_type[np.maximum(types, 0)], settings.proportional_accept)
    accepted = rng.random(n) < accept_p
    return np.where(answered, np.where(accepted, ACCEPTED, DECLINED), NO_ANSWER).astype(np.int8)


@dataclass(frozen=True)
class CampaignMonth:
    """A planned campaign: arrays over the month's active lines (`alive`) and over its targets (`members`)."""

    campaign_day: int  # first day of the campaign month
    alive: np.ndarray  # line indices active at the end of the month before
    desk: np.ndarray  # per active line: desk code (position in settings.desks)
    eligible: np.ndarray  # per active line: may be called (not do_not_contact, not black-listed)
    types: np.ndarray  # per active line: response type code (NO_TYPE in a proportional mix)
    p_without: np.ndarray  # per active line: churn next month without a call
    p_called: np.ndarray  # (active lines, offers): churn next month if reached with each offer
    p_voluntary: np.ndarray  # per active line: the voluntary churn probability the leavers are drawn from
    p_churn: np.ndarray  # per active line: the chance of leaving the leavers are drawn from (the call's effect in)
    members: np.ndarray  # positions into `alive` of the targeted lines, ascending
    control: np.ndarray  # per member: held out (not called)
    offer: np.ndarray  # per member: offer code (control: the offer it would have had)
    outcome: np.ndarray  # per member: outcome code, -1 for control
    called_ms: np.ndarray  # per member: call time (ms since 1970); meaningless for control

    @property
    def treated(self) -> np.ndarray:
        """Positions into `members` of the called lines."""
        return np.flatnonzero(~self.control)

    def earliest_leave_day(self) -> np.ndarray:
        """Per active line: the first day it may leave voluntarily (after its call, if it is called)."""
        earliest = np.full(len(self.alive), self.campaign_day + 1, dtype=np.int64)
        treated = self.treated
        earliest[self.members[treated]] = self.called_ms[treated] // MS_PER_DAY + 1
        return earliest


def plan_month(
    rng: np.random.Generator,
    settings: CampaignSettings,
    seed: int,
    campaign_day: int,
    alive: np.ndarray,
    obs: Observables,
    logit: np.ndarray,
    p_non_payment: np.ndarray,
    true_type: np.ndarray,
    satisfaction: np.ndarray,
    eligible: np.ndarray,
) -> CampaignMonth:
    """Return the campaign starting on `campaign_day` for lines `alive` (indices into `obs`).

    `logit`: their voluntary churn logit for the month without a call; `p_non_payment`, `true_type`,
    `satisfaction`, `eligible`: theirs.
    """
    situations = line_situations(obs, alive, true_type, satisfaction, settings.situations)
    types = response_types(line_uniforms(alive, seed), situations, settings.response_mix, settings.situations)
    p_voluntary = sigmoid(logit)
    p_without = churn(p_voluntary, p_non_payment)
    voluntary_called = voluntary_if_called(logit, types, situations, settings)
    p_called = churn(voluntary_called, p_non_payment[:, None])
    arpu = obs.arpu[alive]
    desk = desks_of(arpu, settings.desks)
    score = p_without * np.nan_to_num(arpu) if settings.targeting.rank_by == "value" else p_without
    members, control = targets(rng, score, eligible, desk, settings)
    offer = draw_offers(rng, len(members), settings)
    called_ms = call_times(rng, len(members), campaign_day, settings.call_days)
    outcome = outcomes(rng, types[members], settings)
    outcome[control] = -1
    reached = ~control & (outcome != NO_ANSWER)
    actual = p_voluntary.copy()
    actual[members[reached]] = voluntary_called[members[reached], offer[reached]]
    return CampaignMonth(
        campaign_day=campaign_day,
        alive=alive,
        desk=desk,
        eligible=eligible,
        types=types,
        p_without=p_without,
        p_called=p_called,
        p_voluntary=actual,
        p_churn=churn(actual, p_non_payment),
        members=members,
        control=control,
        offer=offer,
        outcome=outcome,
        called_ms=called_ms,
    )


def true_effects(month: CampaignMonth, answer_rate: float, n_desks: int) -> dict[str, np.ndarray]:
    """Return per (desk, offer) cell with members the campaign's true effects on churn next month.

    Effects are changes of the chance of leaving, treated minus control (negative: the calls keep
    customers): `true_effect` = answer_rate x mean over the cell's members of (p if reached - p
    without a call), what treated vs control churn rates estimate; `true_effect_if_answered`
    without the answer rate; `true_effect_treated` = mean over the treated of (p drawn from - p
    without): what happened to this treated group.
    """
    m = month.members
    cell = month.desk[m].astype(np.int64) * len(OFFERS) + month.offer
    size = n_desks * len(OFFERS)
    treated = ~month.control
    uplift = month.p_called[m, month.offer] - month.p_without[m]
    actual = month.p_churn[m] - month.p_without[m]

    def total(values: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(cell if where is None else cell[where], weights=values, minlength=size)

    members = np.bincount(cell, minlength=size)
    n_treated = np.bincount(cell[treated], minlength=size)
    n_control = members - n_treated
    keep = np.flatnonzero(members > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "desk": (keep // len(OFFERS)).astype(np.int8),
            "offer": (keep % len(OFFERS)).astype(np.int8),
            "treated": n_treated[keep],
            "control": n_control[keep],
            "answered": np.bincount(cell[treated & (month.outcome != NO_ANSWER)], minlength=size)[keep],
            "true_effect": answer_rate * total(uplift)[keep] / members[keep],
            "true_effect_if_answered": total(uplift)[keep] / members[keep],
            "true_effect_treated": total(actual[treated], treated)[keep] / n_treated[keep],
            "expected_churn_treated": total(month.p_churn[m][treated], treated)[keep] / n_treated[keep],
            "expected_churn_control": total(month.p_without[m][~treated], ~treated)[keep] / n_control[keep],
            "expected_saved": -total(actual[treated], treated)[keep],
        }
