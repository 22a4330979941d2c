"""Queueing formulas for one agent group: Erlang C (M/M/c), Erlang A (M/M/c+M) and Cobham's priority waits.

Units: rates per second, times in seconds; `load` is the offered load in Erlangs
(arrival rate x mean handle time). Every formula is computed in log space, so c up to a few
thousand agents and loads of thousands of Erlangs neither overflow nor underflow.

Erlang A follows Palm's M/M/c+M model with the virtual-waiting-time density of
Baccelli & Hebuterne (1981) as summarised by Mandelbaum & Zeltyn ("The M/M/n+G queue: summary of
performance measures"): an arriving caller's offered wait V has an atom 1/(1/B(c-1, A) + lambda J)
at 0 and the density lambda exp(lambda H(x) - c mu x) / (1/B(c-1, A) + lambda J) for x > 0, where
B is Erlang B, H(x) = (1 - exp(-theta x)) / theta and J = int_0^inf exp(lambda H(x) - c mu x) dx.
The caller is answered iff their patience exceeds V. The integrals are series of the lower
incomplete gamma function, summed in log space.
"""

from __future__ import annotations

import math

import numpy as np


def log_inverse_erlang_b(agents: int, load: float) -> float:
    """Return log(1 / B(agents, load)), the log of the inverse Erlang B blocking probability."""
    if load <= 0.0:
        return math.inf
    log_r = 0.0  # 1 / B(0, A) = 1
    for k in range(1, agents + 1):
        log_r = float(np.logaddexp(0.0, math.log(k / load) + log_r))
    return log_r


def erlang_b(agents: int, load: float) -> float:
    """Return the Erlang B blocking probability of `agents` servers offered `load` Erlangs."""
    return math.exp(-log_inverse_erlang_b(agents, load))


def erlang_c(agents: int, load: float) -> float:
    """Return the Erlang C probability that a caller waits (1.0 when load >= agents)."""
    if load <= 0.0:
        return 0.0
    if load >= agents:
        return 1.0
    # C(c, A) = A / ((c - A) / B(c-1, A) + A)
    log_r = log_inverse_erlang_b(agents - 1, load)
    return math.exp(math.log(load) - float(np.logaddexp(math.log(agents - load) + log_r, math.log(load))))


def erlang_c_service_level(agents: int, load: float, handle_s: float, within_s: float) -> float:
    """Return the Erlang C share of callers answered within `within_s`: 1 - C exp(-(c mu - lambda) t)."""
    if load >= agents:
        return 0.0
    return 1.0 - erlang_c(agents, load) * math.exp(-(agents - load) * within_s / handle_s)


def erlang_c_asa(agents: int, load: float, handle_s: float) -> float:
    """Return the Erlang C average speed of answer in seconds: C / (c mu - lambda) (inf when overloaded)."""
    if load >= agents:
        return math.inf
    return erlang_c(agents, load) * handle_s / (agents - load)


def _log_series(shape: float, x: float) -> float:
    """Return log of S(s, x) = sum_k x^k / (s (s+1) ... (s+k)), so that gamma_lower(s, x) = x^s e^-x S(s, x)."""
    if x <= 0.0:
        return -math.log(shape)
    # terms grow while s + k < x, then fall at least geometrically (ratio x / (s + k)); sum well past the peak
    if x < shape:
        n_terms = int(min(40.0 * math.sqrt(x + 1.0), 40.0 / (1.0 - x / shape)) + 200.0)
    else:
        n_terms = int(x - shape + 40.0 * math.sqrt(x + 1.0) + 200.0)
    if n_terms > 50_000_000:
        raise ValueError("patience too long for an overloaded group: the Erlang A series does not fit in memory")
    k = np.arange(1, n_terms + 1, dtype="float64")
    log_terms = np.concatenate(([0.0], np.cumsum(np.log(x / (shape + k))))) - math.log(shape)
    peak = float(log_terms.max())
    return peak + math.log(float(np.exp(log_terms - peak).sum()))


def _log_wait_integral(
    agents: int, arrival_rate: float, service_rate: float, abandon_rate: float, extra_rate: float, upto_s: float
) -> float:
    """Return log of int_0^upto exp(lambda H(x) - (c mu + extra) x) dx with H(x) = (1 - exp(-theta x)) / theta."""
    a = arrival_rate / abandon_rate
    s = (agents * service_rate + extra_rate) / abandon_rate
    # substitute u = a exp(-theta x): the integral is e^a a^-s (gamma(s, a) - gamma(s, b)) / theta, b = a e^(-theta t)
    log_full = _log_series(s, a) - math.log(abandon_rate)
    if math.isinf(upto_s):
        return log_full
    if upto_s <= 0.0:
        return -math.inf
    b = a * math.exp(-abandon_rate * upto_s)
    log_ratio = (a - b) - abandon_rate * upto_s * s + _log_series(s, b) - (log_full + math.log(abandon_rate))
    fraction = -math.expm1(min(log_ratio, 0.0))
    return log_full + math.log(fraction) if fraction > 0.0 else -math.inf


def erlang_a(agents: int, load: float, handle_s: float, patience_s: float, within_s: float) -> dict[str, float]:
    """Return Erlang A (M/M/c+M) shares: p_wait, p_abandon, service_level (answered within `within_s` / offered)."""
    if load <= 0.0:
        return {"p_wait": 0.0, "p_abandon": 0.0, "service_level": 1.0}
    if math.isinf(patience_s):
        level = erlang_c_service_level(agents, load, handle_s, within_s)
        return {"p_wait": erlang_c(agents, load), "p_abandon": 0.0 if load < agents else 1.0, "service_level": level}
    mu = 1.0 / handle_s
    lam = load * mu
    theta = 1.0 / patience_s
    log_no_wait = log_inverse_erlang_b(agents - 1, load) if agents > 0 else -math.inf
    log_lam = math.log(lam)
    log_wait = log_lam + _log_wait_integral(agents, lam, mu, theta, 0.0, math.inf)
    log_norm = float(np.logaddexp(log_no_wait, log_wait))
    # answered after waiting x has weight exp(-theta x) (patience longer than x)
    log_answered_waiting = log_lam + _log_wait_integral(agents, lam, mu, theta, theta, math.inf)
    log_answered_within = log_lam + _log_wait_integral(agents, lam, mu, theta, theta, within_s)
    p_wait = math.exp(log_wait - log_norm)
    p_answered_waiting = math.exp(log_answered_waiting - log_norm)
    return {
        "p_wait": p_wait,
        "p_abandon": max(0.0, p_wait - p_answered_waiting),
        "service_level": math.exp(float(np.logaddexp(log_no_wait, log_answered_within)) - log_norm),
    }


def priority_mean_waits(agents: int, arrival_rates: list[float], handle_s: float) -> list[float]:
    """Return Cobham's mean queue wait per class (class 0 served first) for non-preemptive priority M/M/c.

    W_k = C(c, A) / (c mu (1 - sigma_{k-1}) (1 - sigma_k)), sigma_k = sum_{i<=k} lambda_i / (c mu);
    all classes share one exponential handle time (Cobham 1954; Gross & Harris, section 3.4).
    """
    mu = 1.0 / handle_s
    load = sum(arrival_rates) * handle_s
    residual = erlang_c(agents, load) / (agents * mu)
    sigma = np.concatenate(([0.0], np.cumsum(arrival_rates) / (agents * mu)))
    return [float(residual / ((1.0 - sigma[k]) * (1.0 - sigma[k + 1]))) for k in range(len(arrival_rates))]


def agents_for_service_level(
    load: float, handle_s: float, target: float, within_s: float, patience_s: float | None = None
) -> int:
    """Return the fewest agents whose Erlang C (or Erlang A, given a mean patience) service level reaches `target`."""

    def level(agents: int) -> float:
        if patience_s is None:
            return erlang_c_service_level(agents, load, handle_s, within_s)
        return erlang_a(agents, load, handle_s, patience_s, within_s)["service_level"]

    # with patience fewer agents than the load can suffice; start below and walk to the boundary
    agents = max(1, math.floor(load) + 1 if patience_s is None else int(load - 3.0 * math.sqrt(load)))
    while agents > 1 and level(agents - 1) >= target:
        agents -= 1
    while level(agents) < target:
        agents += 1
    return agents
