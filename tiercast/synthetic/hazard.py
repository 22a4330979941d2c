"""The true churn hazard: the chance a line leaves next month, from what the tables show at month end.

Only observable inputs are used (bills, payments, contacts and subscriber attributes up to the last
day of month m, the way features/ computes them) plus a small unobservable noise, so the churn model
can in principle reach this oracle. Latent traits act only through the behaviour they cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.calendar import Window
from tiercast.synthetic.history import USAGE_SLOTS, History
from tiercast.synthetic.payments import PaymentBook, Standing
from tiercast.synthetic.population import Population

DAYS_PER_MONTH = 30.4375  # docs/interfaces.md: tenure and contract months


@dataclass(frozen=True)
class Observables:
    """What the tables show about lines at the end of a month (the hazard's inputs)."""

    arpu: np.ndarray  # arpu_3m; the plan fee before the first bill
    arpu_trend: np.ndarray  # NaN when unknown
    usage_trend: np.ndarray
    volatility: np.ndarray
    complaints_1m: np.ndarray
    complaints_3m: np.ndarray
    cancel_intents_1m: np.ndarray
    cancel_intents_3m: np.ndarray
    retention_call_2m: np.ndarray
    standing: Standing
    tenure_months: np.ndarray
    contract_left: np.ndarray  # months to the contract end, NaN for non-contract lines
    prepaid: np.ndarray
    young: np.ndarray
    senior: np.ndarray
    business: np.ndarray
    red: np.ndarray


def observe(
    t: int, n: int, pop: Population, book: PaymentBook, history: History, window: Window, fee: np.ndarray
) -> Observables:
    """Return the observables of lines 0..n-1 at the end of month t (t = -1: before the window).

    Computed for every line (contiguous arrays are cheaper than gathering the active ones); values
    of lines that are not active at the end of month t are meaningless.
    """
    today = window.end(t)
    count = np.zeros((2, n))
    amount = np.zeros((2, n))
    usage = np.zeros((2, n))
    squares = np.zeros(n)
    for u in range(max(0, t - USAGE_SLOTS + 1), t + 1):
        half = 0 if u > t - 3 else 1
        slot = u % USAGE_SLOTS
        value = book.amount[slot, :n]  # 0 where not billed, like the usage ring
        count[half] += book.billed[slot, :n]
        amount[half] += value
        usage[half] += history.usage[slot, :n]
        squares += value * value
    with np.errstate(divide="ignore", invalid="ignore"):
        mean3, prev3 = amount / count
        usage3, usage_prev3 = usage / count
        n6 = count.sum(axis=0)
        mean6 = amount.sum(axis=0) / n6
        variance = (squares - n6 * mean6**2) / (n6 - 1)
        volatility = np.where(n6 >= 2, np.sqrt(np.maximum(variance, 0.0)) / mean6, np.nan)
        arpu_trend = mean3 / prev3 - 1.0
        usage_trend = usage3 / usage_prev3 - 1.0
    contract_end = pop.contract_end[:n]
    birth_year = pop.birth_year[:n]
    age = window.year(today) - birth_year.astype(np.int64)
    known_age = birth_year > 0
    complaints_1m = history.recent("complaints", t, n, 1)
    cancel_intents_1m = history.recent("cancel_intents", t, n, 1)
    return Observables(
        arpu=np.where(count[0] > 0, mean3, fee[pop.plan[:n]]),
        arpu_trend=arpu_trend,
        usage_trend=usage_trend,
        volatility=volatility,
        complaints_1m=complaints_1m,
        complaints_3m=complaints_1m + history.recent("complaints", t - 1, n, 2),
        cancel_intents_1m=cancel_intents_1m,
        cancel_intents_3m=cancel_intents_1m + history.recent("cancel_intents", t - 1, n, 2),
        retention_call_2m=history.recent("retention_calls", t, n, 2) > 0,
        standing=book.standing(t, n, window),
        tenure_months=(today - pop.activation[:n]) / DAYS_PER_MONTH,
        contract_left=np.where(contract_end == c.NO_DAY, np.nan, (contract_end - today) / DAYS_PER_MONTH),
        prepaid=pop.contract[:n] == c.PREPAID,
        young=known_age & (age < 26),
        senior=known_age & (age >= 55),
        business=pop.business[:n],
        red=pop.list_flag[:n] == c.RED,
    )


def _clipped(values: np.ndarray, high: float) -> np.ndarray:
    """Return values clipped to [0, high], NaN (unknown) as 0."""
    return np.fmax(np.minimum(values, high), 0.0)


def voluntary_logits(obs: Observables, cfg: GeneratorSettings, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the logit of leaving voluntarily next month, and the same a month later if nothing else changed.

    `noise` (standard normal draws) is the unobservable part.
    """
    h = cfg.hazard.voluntary
    behaviour = (
        h.intercept
        + h.log_arpu * np.clip(np.log(np.maximum(obs.arpu, 0.5) / h.reference_arpu), -2.5, 2.5)
        + h.log_arpu_above * np.clip(np.log(np.maximum(obs.arpu, 0.5) / h.high_arpu), 0.0, 2.5)
        + h.arpu_decline * _clipped(-obs.arpu_trend, 1.0)
        + h.usage_decline * _clipped(-obs.usage_trend, 1.0)
        + h.volatility * _clipped(obs.volatility, 2.0)
        + h.complaints_1m * np.minimum(obs.complaints_1m, 3)
        + h.complaints_3m * np.minimum(obs.complaints_3m, 5)
        + h.cancel_intent_1m * (obs.cancel_intents_1m > 0)
        + h.cancel_intent_3m * (obs.cancel_intents_3m > 0)
        + h.retention_call_2m * obs.retention_call_2m
        + h.overdue_bill * np.minimum(obs.standing.overdue, 2)
        + h.late_share * obs.standing.late_share
        + h.prepaid * obs.prepaid
        + h.young * obs.young
        + h.senior * obs.senior
        + h.business * obs.business
        + h.red_list * obs.red
        + h.noise_sd * noise
    )
    return behaviour + _aging(obs, cfg, 0.0), behaviour + _aging(obs, cfg, 1.0)


def _aging(obs: Observables, cfg: GeneratorSettings, months_ahead: float) -> np.ndarray:
    """Return the tenure and contract terms of the voluntary logit, `months_ahead` months later."""
    h = cfg.hazard.voluntary
    tenure = np.maximum(obs.tenure_months + months_ahead, 0.0)
    left = obs.contract_left - months_ahead  # NaN (no contract) compares False
    return (
        h.tenure_log_years * np.log1p(tenure / 12)
        + h.new_line * (tenure < h.new_line_months)
        + h.in_contract * (left > 1)
        + h.contract_ending * ((left <= 1) & (left >= -h.contract_ended_months))
    )


def non_payment_probabilities(obs: Observables, cfg: GeneratorSettings) -> tuple[np.ndarray, np.ndarray]:
    """Return the chance of suspension for non-payment next month, and within the next two months.

    A line is suspended when `suspend_after_unpaid_bills` bills are unpaid at a due date: lines with
    one bill fewer overdue now are at risk (credit control may grant grace: the logit), lines
    already at the threshold are suspended for sure. Two months (an approximation from what is
    observable): a spared line that does not settle is suspended the month after; a line one bill
    short of being at risk gets there if its next bill stays unpaid. Whether it settles or pays is
    a habit the tables only hint at: never having paid anything marks a flea-like line.
    """
    threshold = cfg.suspend_after_unpaid_bills
    standing = obs.standing
    overdue = standing.overdue
    never_paid = ~standing.paid_any
    arrears_habit = cfg.payments.payers["arrears"]
    keeps_owing = np.where(never_paid, 1.0 - cfg.flea.settle_when_spared, 1.0 - arrears_habit.settle_when_spared)
    next_unpaid = np.where(never_paid, 1.0, arrears_habit.skip_probability)
    now = np.where(overdue >= threshold, 1.0, 0.0)
    within_two = now.copy()
    at_risk = np.flatnonzero(overdue == threshold - 1)
    grace = _grace(obs, cfg, at_risk, arrears=standing.arrears[at_risk], months_ahead=0.0)
    now[at_risk] = grace
    within_two[at_risk] = grace + (1.0 - grace) * keeps_owing[at_risk]
    nearly = np.flatnonzero(overdue == threshold - 2) if threshold > 2 else np.zeros(0, dtype=np.int64)
    more = standing.arrears[nearly] + obs.arpu[nearly]  # the next bill joins the arrears
    within_two[nearly] = next_unpaid[nearly] * _grace(obs, cfg, nearly, arrears=more, months_ahead=1.0)
    return now, within_two


def _grace(
    obs: Observables, cfg: GeneratorSettings, rows: np.ndarray, arrears: np.ndarray, months_ahead: float
) -> np.ndarray:
    """Return the chance credit control suspends lines `rows` at risk (no grace)."""
    h = cfg.hazard.non_payment
    standing = obs.standing
    years = np.maximum(obs.tenure_months[rows] + months_ahead, 0.0) / 12
    return sigmoid(
        h.intercept
        + h.never_paid * ~standing.paid_any[rows]
        + h.on_time_share * (1.0 - standing.late_share[rows])
        + h.log_arrears * np.log(np.maximum(arrears, 1.0) / cfg.hazard.voluntary.reference_arpu)
        + h.tenure_log_years * np.log1p(years)
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Return 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))
