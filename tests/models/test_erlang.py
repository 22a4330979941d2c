"""Erlang B/C/A and Cobham's priority waits against direct sums, a birth-death chain and textbook numbers."""

from __future__ import annotations

import math

import pytest

from models.erlang import (
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    priority_mean_waits,
)


def direct_erlang_c(agents: int, load: float) -> float:
    """Erlang C from its defining sum (small cases only)."""
    queued = load**agents / math.factorial(agents) * agents / (agents - load)
    return queued / (sum(load**k / math.factorial(k) for k in range(agents)) + queued)


def birth_death(agents: int, load: float, handle_s: float, patience_s: float) -> tuple[float, float]:
    """P(wait) and P(abandon) of M/M/c+M from its truncated birth-death chain (PASTA; abandon = theta E[Q] / lambda)."""
    mu, theta = 1.0 / handle_s, 1.0 / patience_s
    lam = load * mu
    log_p = [0.0]
    for n in range(1, agents + 5000):
        log_p.append(log_p[-1] + math.log(lam / (min(n, agents) * mu + max(n - agents, 0) * theta)))
    top = max(log_p)
    weights = [math.exp(x - top) for x in log_p]
    total = sum(weights)
    p_wait = sum(weights[agents:]) / total
    queue = sum((n - agents) * w for n, w in enumerate(weights) if n > agents) / total
    return p_wait, theta * queue / lam


@pytest.mark.parametrize(("agents", "expected"), [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741)])
def test_erlang_c_textbook_values_for_10_erlangs(agents: int, expected: float) -> None:
    # given 100 calls in 30 min of 180 s (10 Erlangs), the classic call-centre table of P(wait)
    assert erlang_c(agents, 10.0) == pytest.approx(expected, abs=5e-5)
    assert erlang_c(agents, 10.0) == pytest.approx(direct_erlang_c(agents, 10.0), rel=1e-12)


def test_erlang_c_service_level_and_asa_for_10_erlangs_14_agents() -> None:
    # 1 - 0.17413 exp(-(14 - 10) 20 / 180) and 0.17413 * 180 / 4
    assert erlang_c_service_level(14, 10.0, 180.0, 20.0) == pytest.approx(0.888350, abs=1e-6)
    assert erlang_c_asa(14, 10.0, 180.0) == pytest.approx(7.835937, abs=1e-6)


def test_erlang_b_textbook_value() -> None:
    assert erlang_b(5, 3.0) == pytest.approx(0.110054, abs=1e-6)  # 3^5/5! / sum_{k<=5} 3^k/k!


def test_erlang_c_is_one_when_overloaded_and_stable_at_2000_agents() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(2000, 1000.0) < 1e-100
    assert 0.0 < erlang_c(2000, 1990.0) < 1.0


@pytest.mark.parametrize(
    ("agents", "load", "handle_s", "patience_s"),
    [(10, 9.0, 150.0, 60.0), (10, 12.0, 150.0, 200.0), (50, 48.0, 150.0, 90.0), (100, 95.0, 150.0, 300.0)],
)
def test_erlang_a_matches_the_birth_death_chain(agents: int, load: float, handle_s: float, patience_s: float) -> None:
    p_wait, p_abandon = birth_death(agents, load, handle_s, patience_s)
    shares = erlang_a(agents, load, handle_s, patience_s, 20.0)
    assert shares["p_wait"] == pytest.approx(p_wait, rel=1e-9)
    assert shares["p_abandon"] == pytest.approx(p_abandon, rel=1e-9)


def test_erlang_a_with_endless_patience_approaches_erlang_c() -> None:
    shares = erlang_a(12, 10.0, 180.0, 1e9, 20.0)
    assert shares["p_wait"] == pytest.approx(erlang_c(12, 10.0), abs=1e-6)
    assert shares["service_level"] == pytest.approx(erlang_c_service_level(12, 10.0, 180.0, 20.0), abs=1e-6)
    assert shares["p_abandon"] < 1e-6
    # at 2000 agents the gap closes like 1 / patience: 1.3e-4 at 1e5 s, 1.6e-6 at 1e9 s
    at_scale = erlang_a(2000, 1990.0, 150.0, 1e9, 20.0)
    assert at_scale["service_level"] == pytest.approx(erlang_c_service_level(2000, 1990.0, 150.0, 20.0), abs=5e-6)


def test_erlang_a_service_level_limits() -> None:
    # within 0 s only those who do not wait; within forever all who do not abandon
    shares = erlang_a(12, 10.0, 180.0, 300.0, 0.0)
    assert shares["service_level"] == pytest.approx(1.0 - shares["p_wait"], abs=1e-12)
    forever = erlang_a(12, 10.0, 180.0, 300.0, 1e9)
    assert forever["service_level"] == pytest.approx(1.0 - forever["p_abandon"], abs=1e-9)


def test_erlang_a_overloaded_at_scale_loses_the_excess() -> None:
    # 2400 Erlangs on 2000 agents: in the efficiency-driven regime the excess 400/2400 abandons
    shares = erlang_a(2000, 2400.0, 150.0, 180.0, 20.0)
    assert shares["p_abandon"] == pytest.approx(400.0 / 2400.0, abs=1e-6)
    assert 0.0 <= shares["service_level"] < 0.01


def test_cobham_one_class_is_erlang_c_and_classes_conserve_the_mean_wait() -> None:
    rate = 10.0 / 180.0
    assert priority_mean_waits(12, [rate], 180.0)[0] == pytest.approx(erlang_c_asa(12, 10.0, 180.0), rel=1e-12)
    high, low = priority_mean_waits(12, [rate / 2, rate / 2], 180.0)
    assert (high + low) / 2 == pytest.approx(erlang_c_asa(12, 10.0, 180.0), rel=1e-12)
    # W0 = C / (c mu) = 0.449388 * 180 / 12; sigma_1 = 5/12
    assert high == pytest.approx(0.4493882 * 15.0 / (1.0 - 5.0 / 12.0), rel=1e-6)
    assert low == pytest.approx(0.4493882 * 15.0 / ((1.0 - 5.0 / 12.0) * (1.0 - 10.0 / 12.0)), rel=1e-6)


def test_agents_for_service_level_is_the_boundary() -> None:
    # 10 Erlangs, 80% within 20 s: 13 agents give 79.6%, 14 give 88.8%
    assert agents_for_service_level(10.0, 180.0, 0.80, 20.0) == 14
    with_patience = agents_for_service_level(10.0, 180.0, 0.80, 20.0, patience_s=120.0)
    assert erlang_a(with_patience, 10.0, 180.0, 120.0, 20.0)["service_level"] >= 0.80
    assert erlang_a(with_patience - 1, 10.0, 180.0, 120.0, 20.0)["service_level"] < 0.80
