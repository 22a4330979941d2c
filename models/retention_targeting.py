"""Whom to call with which offer when an uplift model is champion: expected incremental value, no sleeping dogs.

For each customer and offer o with predicted uplift tau_o (churn probability the call with o removes,
models.uplift) the expected incremental value is

    incremental_value_o = tau_o x customer_value - offer_cost_o        (CNY)

where customer_value is what the customer is worth if kept: retention.value_at_risk's arpu x margin_share x
remaining_months, before it is multiplied by the churn probability. Each customer gets the offer
with the largest incremental value among the offers predicted not to harm (tau_o >= 0). A customer whom every
offer harms (a call is predicted to raise churn: a "sleeping dog") is not called, nor one whose best offer is
not worth its cost; the rest are ranked by incremental value, and the reason names the offer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

HARMFUL = "a call is predicted to raise churn (sleeping dog): do not call"
NOT_WORTH = "expected saving below the offer's cost"


class UpliftPredictor(Protocol):
    """What targeting needs of an uplift model: predicted uplift per row of a feature frame."""

    def predict(self, x: pd.DataFrame) -> Any:
        """Return each row's uplift."""
        ...


def offer_uplifts(
    model: UpliftPredictor, features: pd.DataFrame, offers: Sequence[str], offer_column: str = "offer"
) -> pd.DataFrame:
    """Return the predicted uplift of each offer (one column per offer, same index), from a model trained with
    the offer as the feature `offer_column` (control rows carrying the offer they would have had)."""
    return pd.DataFrame(
        {
            offer: np.asarray(model.predict(features.assign(**{offer_column: offer})), dtype="float64")
            for offer in offers
        },
        index=features.index,
    )


def _reason(offer: str, uplift: float, value: float) -> str:
    return f"likely to respond to: {offer} (churn -{100 * uplift:.1f} points, about {value:,.0f} CNY kept net of cost)"


def best_offers(
    uplifts: pd.DataFrame,
    customer_value: pd.Series,
    offer_costs: Mapping[str, float],
    min_incremental_value: float = 0.0,
) -> pd.DataFrame:
    """Return per customer (same index): `offer` with the largest incremental value among offers that do not
    harm, its `uplift` and `incremental_value`, `excluded` (why not to call, NA when callable) and `reason`.

    `uplifts`: one column per offer (offer_uplifts); `offer_costs`: CNY per offer (missing offers cost 0).
    """
    tau = uplifts.to_numpy(dtype="float64")
    cost = np.array([float(offer_costs.get(str(o), 0.0)) for o in uplifts.columns])
    value = customer_value.reindex(uplifts.index).astype("float64").fillna(0.0).to_numpy()
    incremental = tau * value[:, None] - cost[None, :]
    harmless = tau >= 0.0
    choice = np.where(harmless, incremental, -np.inf).argmax(axis=1)
    rows = np.arange(len(uplifts))
    best_tau, best_value = tau[rows, choice], incremental[rows, choice]
    harmful = pd.Series(~harmless.any(axis=1), index=uplifts.index)
    not_worth = pd.Series(best_value <= min_incremental_value, index=uplifts.index)
    offer = pd.Series(np.asarray(uplifts.columns, dtype=object)[choice], index=uplifts.index, dtype="str")
    excluded = pd.Series(pd.NA, index=uplifts.index, dtype="str")
    excluded = excluded.mask(not_worth, NOT_WORTH).mask(harmful, HARMFUL)
    reason = pd.Series(
        [_reason(o, u, v) for o, u, v in zip(offer, best_tau, best_value, strict=True)],
        index=uplifts.index,
        dtype="str",
    )
    return pd.DataFrame(
        {
            "offer": offer.mask(harmful),
            "uplift": np.where(harmful, tau.max(axis=1, initial=-np.inf), best_tau),
            "incremental_value": np.where(harmful, np.nan, best_value),
            "excluded": excluded,
            "reason": reason.mask(excluded.notna(), excluded),
        },
        index=uplifts.index,
    )


def ranked_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Return the customers to call (not excluded), largest incremental value first, ties by larger uplift."""
    callable_ = targets[targets["excluded"].isna()]
    return callable_.sort_values(["incremental_value", "uplift"], ascending=False, kind="stable")
