"""Monthly bills: the plan fee (pro rata in the first and last month) plus charges that follow usage."""

from __future__ import annotations

import numpy as np

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic.behaviour import Usage
from tiercast.synthetic.codes import Catalog
from tiercast.synthetic.population import Population


def bill_columns(
    rng: np.random.Generator,
    pop: Population,
    idx: np.ndarray,
    fraction: np.ndarray,
    usage: Usage,
    cfg: GeneratorSettings,
    catalog: Catalog,
) -> dict[str, np.ndarray]:
    """Return the bill columns (amounts in CNY, rounded to fen) of lines `idx` for one month.

    amount = base_fee + data_amount + long_distance_amount + roaming_amount + value_added_amount
    + SMS beyond the allowance, so the parts never exceed the amount (data_contracts/bills.yaml).
    """
    price = cfg.usage
    plan = pop.plan[idx]
    base_fee = np.round(catalog.fee[plan] * fraction, 2)
    over_mb = np.maximum(usage.data_mb - catalog.allowance_mb[plan] * fraction, 0.0)
    data_amount = np.round(np.minimum(over_mb * price.data_price_per_mb, price.data_charge_cap), 2)
    long_distance = usage.voice_minutes * pop.long_distance_share[idx] * catalog.long_distance_rate[plan]
    roam = price.roaming
    trip = rng.random(len(idx)) < pop.roaming_p[idx] * np.minimum(fraction * 2, 1.0)
    roaming = np.where(
        trip, rng.lognormal(np.log(roam.amount_median), roam.amount_sigma, len(idx)) * pop.roaming_scale[idx], 0.0
    )
    value_added = np.round(pop.value_added_fee[idx] * fraction, 2)
    sms_charge = np.round(np.maximum(usage.sms_count - price.sms_allowance, 0) * price.sms_price, 2)
    long_distance, roaming = np.round(long_distance, 2), np.round(roaming, 2)
    amount = np.round(base_fee + data_amount + long_distance + roaming + value_added + sms_charge, 2)
    return {
        "amount": amount,
        "base_fee": base_fee,
        "voice_minutes": usage.voice_minutes,
        "data_mb": usage.data_mb,
        "sms_count": usage.sms_count,
        "data_amount": data_amount,
        "long_distance_amount": long_distance,
        "roaming_amount": roaming,
        "value_added_amount": value_added,
    }
