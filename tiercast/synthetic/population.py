"""Who the subscribers are: the initial base and each month's joiners, as coded column arrays.

Every line ever simulated has a row (its index + 1 is its subscriber_id). Static columns are what
the subscribers table shows; the latent ones (type, payer habit, usage levels, satisfaction) drive
behaviour and are never written except as truth.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.calendar import Window

DAYS_PER_YEAR = 365.25


@dataclass
class Population:
    """Column arrays of every simulated line; only the first `n` entries are used."""

    n: int
    activation: np.ndarray
    deactivation: np.ndarray
    reason: np.ndarray
    plan: np.ndarray
    contract: np.ndarray
    contract_end: np.ndarray
    brand: np.ndarray
    business: np.ndarray
    birth_year: np.ndarray
    gender: np.ndarray
    region: np.ndarray
    channel: np.ndarray
    list_flag: np.ndarray
    do_not_contact: np.ndarray
    age_group: np.ndarray
    true_type: np.ndarray
    flea: np.ndarray
    payer: np.ndarray
    voice_level: np.ndarray
    data_level: np.ndarray
    sms_level: np.ndarray
    long_distance_share: np.ndarray
    roaming_p: np.ndarray
    roaming_scale: np.ndarray
    value_added_fee: np.ndarray
    log_spend: np.ndarray
    satisfaction: np.ndarray

    def extend(self, lines: dict[str, np.ndarray]) -> np.ndarray:
        """Append new lines (one array per column) and return their indices."""
        count = len(lines["activation"])
        for spec in fields(self):
            if spec.name == "n":
                continue
            current = getattr(self, spec.name)
            if len(current) < self.n + count:
                grown = np.empty(max(int(len(current) * 1.25), self.n + count), dtype=current.dtype)
                grown[: self.n] = current[: self.n]
                current = grown
                setattr(self, spec.name, current)
            current[self.n : self.n + count] = lines[spec.name]
        self.n += count
        return np.arange(self.n - count, self.n)


def empty_population(capacity: int) -> Population:
    """Return a population with room for `capacity` lines and none in it."""
    dtypes = {
        "activation": np.int32,
        "deactivation": np.int32,
        "contract_end": np.int32,
        "birth_year": np.int16,
        "business": bool,
        "do_not_contact": bool,
        "flea": bool,
    }
    arrays = {}
    for spec in fields(Population):
        if spec.name == "n":
            continue
        is_float = spec.name.endswith(("_level", "_share", "_p", "_scale", "_fee")) or spec.name == "log_spend"
        arrays[spec.name] = np.empty(capacity, dtype=np.float32 if is_float else dtypes.get(spec.name, np.int8))
    return Population(n=0, **arrays)


def new_lines(
    rng: np.random.Generator,
    cfg: GeneratorSettings,
    catalog: c.Catalog,
    window: Window,
    activation: np.ndarray,
    flea: np.ndarray,
    initial: bool,
) -> dict[str, np.ndarray]:
    """Return the columns of new lines activated on the given days (`flea`: which are flea users)."""
    n = len(activation)
    group_p = np.array([cfg.ages[g].share for g in c.AGE_GROUPS])
    age_group = c.draw(rng, group_p, n=n)
    plan = c.draw(rng, catalog.popularity, age_group)
    plan[flea] = c.draw(rng, c.shares(cfg.flea.plans, catalog.plans), n=int(flea.sum()))
    business = catalog.business[plan]
    age_group[business] = c.ADULT
    low = np.array([cfg.ages[g].min_age for g in c.AGE_GROUPS])[age_group]
    high = np.array([cfg.ages[g].max_age for g in c.AGE_GROUPS])[age_group]
    age_years = low + rng.random(n) * (high - low + 1)
    contract = c.draw(rng, catalog.contract_p, plan)
    contract[flea] = c.draw(rng, c.shares(cfg.flea.contracts, c.CONTRACT_TYPES), n=int(flea.sum()))
    brand_p = catalog.brand_p[plan].copy()
    # mzone is the youth brand: twice as likely for the young, rare for seniors.
    brand_p[age_group == c.YOUNG, c.MZONE] *= 2.0
    brand_p[age_group == c.SENIOR, c.MZONE] *= 0.1
    brand = _draw_rows(rng, brand_p)
    # Age is drawn as of the window start (initial base) or the activation day (joiners); nobody
    # got a line before 16, so a long tenure implies an older subscriber.
    reference = np.maximum(activation, window.start(0))
    youngest = min(group.min_age for group in cfg.ages.values())
    age_years = np.maximum(age_years, youngest + (reference - activation) / DAYS_PER_YEAR)
    year = reference.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    birth_year = np.clip(year - np.floor(age_years), 1920, 2012).astype(np.int16)
    missing = rng.random(n) < np.where(business, cfg.business_age_missing_share, cfg.personal_data_missing_share)
    birth_year[missing] = 0
    gender = (rng.random(n) < 0.5).astype(np.int8)
    gender[missing | (rng.random(n) < cfg.personal_data_missing_share)] = c.NO_CODE
    channel_p = np.stack([c.shares(cfg.sales_channels[g], c.SALES_CHANNELS) for g in c.AGE_GROUPS])
    channel = c.draw(rng, channel_p, age_group)
    channel[flea] = c.draw(rng, c.shares(cfg.flea.sales_channels, c.SALES_CHANNELS), n=int(flea.sum()))
    payer = _payers(rng, cfg, age_group)
    payer[contract == c.PREPAID] = c.PREPAID_PAYER
    payer[flea] = c.FLEA_PAYER
    fee = catalog.fee[plan]
    lines = {
        "activation": activation.astype(np.int32),
        "deactivation": np.full(n, c.NO_DAY, dtype=np.int32),
        "reason": np.full(n, c.NO_CODE, dtype=np.int8),
        "plan": plan,
        "contract": contract,
        "contract_end": _contract_end(rng, cfg, window, activation, contract, initial),
        "brand": brand,
        "business": business,
        "birth_year": birth_year,
        "gender": gender,
        "region": c.draw(rng, catalog.region_p, n=n),
        "channel": channel,
        "list_flag": _list_flags(rng, cfg, fee, flea),
        "do_not_contact": rng.random(n)
        < np.where(age_group == c.SENIOR, cfg.lists.do_not_contact_senior, cfg.lists.do_not_contact),
        "age_group": age_group,
        "true_type": _true_types(rng, cfg, window, activation, age_years, fee, business, flea),
        "flea": flea,
        "payer": payer,
    }
    lines.update(_usage_levels(rng, cfg, catalog, plan, age_group, business, flea))
    lines.update(_latent_start(rng, cfg, n, flea, initial))
    return lines


def initial_activations(rng: np.random.Generator, cfg: GeneratorSettings, window: Window, n: int) -> np.ndarray:
    """Return activation days of the initial base: all before the window, from days to ~15 years back."""
    first = window.start(0)
    recent = rng.random(n) < cfg.recent_share
    years = np.where(
        recent,
        rng.random(n) * 2.0,
        np.minimum(rng.exponential(cfg.tenure_mean_years, n), cfg.max_tenure_years * rng.random(n) ** 0.3),
    )
    return (first - 1 - np.floor(years * DAYS_PER_YEAR)).astype(np.int32)


def _draw_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Return one category per row of the (rows, categories) probability matrix `p`."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1).astype(np.int8)


def _payers(rng: np.random.Generator, cfg: GeneratorSettings, age_group: np.ndarray) -> np.ndarray:
    specs = [cfg.payments.payers[name] for name in c.PAYERS]
    base = np.array([s.share for s in specs])
    young = base * np.array([s.young_weight for s in specs])
    return c.draw(rng, np.stack([young, base, base]), age_group)


def _contract_end(
    rng: np.random.Generator,
    cfg: GeneratorSettings,
    window: Window,
    activation: np.ndarray,
    contract: np.ndarray,
    initial: bool,
) -> np.ndarray:
    """Return the end of the current minimum term of contract lines (NO_DAY for the others)."""
    term_days = (c.CONTRACT_TERM_MONTHS[contract] * DAYS_PER_YEAR / 12).astype(np.int64)
    end = activation + term_days
    if initial:
        # Long-standing contract lines renewed their term: either still within it or past its end.
        first = window.start(0)
        inside = rng.random(len(activation)) < cfg.in_contract_share
        renewed = np.where(
            inside, first + rng.random(len(activation)) * term_days, first - rng.random(len(activation)) * 540
        )
        end = np.where(end < first, np.maximum(renewed.astype(np.int64), end), end)
    return np.where(term_days > 0, end, c.NO_DAY).astype(np.int32)


def _list_flags(rng: np.random.Generator, cfg: GeneratorSettings, fee: np.ndarray, flea: np.ndarray) -> np.ndarray:
    """Return red / black list codes: red mostly for high spenders, black a little more among fleas."""
    lists = cfg.lists
    u = rng.random(len(fee))
    red_p = np.where(fee >= lists.red_min_fee, lists.red_high_fee, lists.red_base)
    black_p = np.where(flea, cfg.flea.black_list_probability, lists.black)
    return np.where(u < red_p, c.RED, np.where(u > 1 - black_p, c.BLACK, c.NO_CODE)).astype(np.int8)


def _true_types(
    rng: np.random.Generator,
    cfg: GeneratorSettings,
    window: Window,
    activation: np.ndarray,
    age: np.ndarray,
    fee: np.ndarray,
    business: np.ndarray,
    flea: np.ndarray,
) -> np.ndarray:
    """Return the latent trajectory of each line (codes into codes.TYPES)."""
    rules = cfg.type_rules
    tenure_months = (window.start(0) - activation) / (DAYS_PER_YEAR / 12)
    young_or_new = (age < cfg.ages["adult"].min_age) | (tenure_months < 12)
    u = rng.random(len(fee))
    growing = u < np.where(young_or_new, rules.growing_share_young_or_new, rules.growing_share)
    declining = ~growing & (u > 1 - rules.declining_share)
    loyal = (age >= rules.loyal_min_age) & (tenure_months >= rules.loyal_min_tenure_months)
    out = np.where(fee <= rules.low_max_fee, np.where(loyal, c.LOYAL_LOW, c.CASUAL), c.LOYAL_MID)
    out = np.where(growing, c.GROWING, np.where(declining, c.DECLINING, out))
    out = np.where(fee >= rules.high_value_min_fee, c.HIGH_VALUE, out)
    out = np.where(business, c.BUSINESS, out)
    return np.where(flea, c.FLEA, out).astype(np.int8)


def _usage_levels(
    rng: np.random.Generator,
    cfg: GeneratorSettings,
    catalog: c.Catalog,
    plan: np.ndarray,
    age_group: np.ndarray,
    business: np.ndarray,
    flea: np.ndarray,
) -> dict[str, np.ndarray]:
    """Return each line's usual monthly usage and its propensities to long distance, roaming and VAS."""
    n, usage = len(plan), cfg.usage
    sigma = usage.propensity_sigma

    def level(mean: np.ndarray) -> np.ndarray:
        return (mean * rng.lognormal(-(sigma**2) / 2, sigma, n)).astype(np.float32)

    data_mult = np.select(
        [age_group == c.YOUNG, age_group == c.SENIOR], [usage.young_data_multiplier, usage.senior_data_multiplier], 1.0
    )
    voice_mult = np.where(age_group == c.SENIOR, usage.senior_voice_multiplier, 1.0)
    flea_mult = np.where(flea, cfg.flea.usage_multiplier, 1.0)
    ld_beta = np.where(flea[:, None], cfg.flea.long_distance_share_beta, usage.long_distance_share_beta)
    roam = usage.roaming
    roam_beta = np.where(business[:, None], roam.business_beta, roam.individual_beta)
    travel = np.where(business, 1.0, (catalog.fee[plan] / roam.reference_fee) ** roam.fee_elasticity)
    roaming_p = np.minimum(rng.beta(roam_beta[:, 0], roam_beta[:, 1]) * travel, 0.9)
    roaming_p = np.where(flea, cfg.flea.roaming_probability, roaming_p)
    scale = np.where(business, roam.business_multiplier, 1.0) * np.where(flea, cfg.flea.roaming_multiplier, 1.0)
    fees = np.asarray(usage.value_added_fees)
    vas = np.where(rng.random(n) < usage.value_added_take_up, fees[rng.integers(0, len(fees), n)], 0.0)
    return {
        "voice_level": level(catalog.voice_minutes[plan] * voice_mult * flea_mult),
        "data_level": level(catalog.data_mb[plan] * data_mult * flea_mult),
        "sms_level": level(catalog.sms[plan]),
        "long_distance_share": rng.beta(ld_beta[:, 0], ld_beta[:, 1]).astype(np.float32),
        "roaming_p": roaming_p.astype(np.float32),
        "roaming_scale": scale.astype(np.float32),
        "value_added_fee": vas.astype(np.float32),
    }


def _latent_start(
    rng: np.random.Generator, cfg: GeneratorSettings, n: int, flea: np.ndarray, initial: bool
) -> dict[str, np.ndarray]:
    """Return the starting spend level (log multiplier) and satisfaction state."""
    state_p = np.asarray(cfg.dissatisfaction.initial) if initial else np.array([1.0, 0.0, 0.0])
    return {
        "log_spend": (rng.normal(0.0, 0.15, n) + np.where(flea, 0.3, 0.0)).astype(np.float32),
        "satisfaction": c.draw(rng, state_p, n=n),
    }
