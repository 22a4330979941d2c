"""How lines behave from month to month: latent satisfaction, spend level, and the usage it produces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic.codes import Catalog
from tiercast.synthetic.population import Population

CONTENT, DISSATISFIED, LEAVING = 0, 1, 2
LOG_SPEND_RANGE = (-3.0, 1.5)


@dataclass(frozen=True)
class Usage:
    """One month's usage of the billed lines."""

    voice_minutes: np.ndarray
    data_mb: np.ndarray
    sms_count: np.ndarray


def step_latent(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    triggered: np.ndarray,
    called: np.ndarray,
    cfg: GeneratorSettings,
    catalog: Catalog,
) -> None:
    """Advance satisfaction and spend level of lines `idx` by one month, in place.

    `triggered`: the line had an unresolved fault, billing or complaint contact last month;
    `called`: the retention desk called it last month.
    """
    d = cfg.dissatisfaction
    state = pop.satisfaction[idx]
    kind = pop.true_type[idx]
    u = rng.random(len(idx))
    onset = d.onset * catalog.type_dissatisfaction[kind] * np.where(triggered, d.trigger_multiplier, 1.0)
    new = state.copy()
    new[(state == CONTENT) & (u < onset)] = DISSATISFIED
    was_1, was_2 = state == DISSATISFIED, state == LEAVING
    new[was_1 & (u < d.recover)] = CONTENT
    new[was_1 & (u >= d.recover) & (u < d.recover + d.escalate)] = LEAVING
    new[was_2 & (u < d.calm)] = DISSATISFIED
    new[was_2 & (u >= d.calm) & (u < d.calm + d.settle)] = CONTENT
    new[called & (rng.random(len(idx)) < d.retention_success)] = CONTENT
    pop.satisfaction[idx] = new
    drift = catalog.type_drift[kind] + np.asarray(d.engagement_drift)[new]
    shock = catalog.type_noise[kind] * rng.standard_normal(len(idx))
    log_spend = catalog.type_persistence[kind] * pop.log_spend[idx] + drift + shock
    pop.log_spend[idx] = np.clip(log_spend, *LOG_SPEND_RANGE)


def draw_usage(
    rng: np.random.Generator, pop: Population, idx: np.ndarray, fraction: np.ndarray, cfg: GeneratorSettings
) -> Usage:
    """Return this month's voice minutes, data MB and SMS of lines `idx` active `fraction` of the month."""
    n, sigma = len(idx), cfg.usage.month_noise_sigma
    level = np.exp(pop.log_spend[idx].astype(np.float64)) * fraction
    voice = pop.voice_level[idx] * level * rng.lognormal(-(sigma**2) / 2, sigma, n)
    data = pop.data_level[idx] * level * rng.lognormal(-(sigma**2) / 2, sigma, n)
    # SMS: the expected count with a wider noise, rounded up or down at random (cheaper than Poisson).
    expected = pop.sms_level[idx] * level * np.exp(2 * sigma * rng.standard_normal(n, dtype=np.float32))
    sms = np.floor(expected + rng.random(n, dtype=np.float32)).astype(np.int64)
    return Usage(voice_minutes=np.round(voice, 1), data_mb=np.round(data, 1), sms_count=sms)
