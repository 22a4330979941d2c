"""Reason codes: why a customer's churn score is high, in words a contact-centre agent understands.

From the model's per-feature contributions (LightGBM `pred_contrib`), take the features that push
this customer's risk UP the most and describe each with the customer's own value: "arrears 2 months",
"3 complaints in 30 days", "spend down 40%", "new customer (2 months)".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd

SEPARATOR = "; "


class Explainable(Protocol):
    """Anything that gives per-feature contributions to its score (e.g. `ChurnModel`)."""

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame: ...


def _count(singular: str, plural: str, window: str = "") -> Callable[[Any], str]:
    def phrase(v: Any) -> str:
        n = round(float(v))
        return f"{n} {singular if n == 1 else plural}{window}"

    return phrase


def _change(what: str) -> Callable[[Any], str]:
    def phrase(v: Any) -> str:
        pct = round(abs(float(v)) * 100)
        return f"{what} {'down' if v < 0 else 'up'} {pct}%"

    return phrase


def _tenure(v: Any, new_customer_months: float | None = None) -> str:
    months = round(float(v))
    new = new_customer_months is not None and v < new_customer_months
    return f"new customer ({months} months)" if new else f"tenure {months} months"


def _months_in_arrears(v: Any) -> str:
    n = round(float(v))
    return "no arrears" if n == 0 else f"arrears {n} month{'s' if n != 1 else ''}"


def _contract_left(v: Any) -> str:
    return "no contract commitment" if v <= 0 else f"contract ends in {round(float(v))} months"


PHRASES: dict[str, Callable[[Any], str]] = {
    "tenure_months": _tenure,
    "arpu_1m": lambda v: f"last bill {v:.0f} CNY",
    "arpu_3m": lambda v: f"spend {v:.0f} CNY a month",
    "arpu_6m": lambda v: f"spend {v:.0f} CNY a month (6 months)",
    "arpu_trend": _change("spend"),
    "arpu_volatility": lambda v: f"irregular spend (variation {v:.0%})",
    "months_billed_6m": lambda v: f"billed {round(float(v))} of the last 6 months",
    "data_share": lambda v: f"data {v:.0%} of spend",
    "long_distance_share": lambda v: f"long distance {v:.0%} of spend",
    "roaming_share": lambda v: f"roaming {v:.0%} of spend",
    "value_added_share": lambda v: f"value-added services {v:.0%} of spend",
    "data_mb_3m": lambda v: f"data use {v:,.0f} MB a month",
    "voice_minutes_3m": lambda v: f"{v:,.0f} voice minutes a month",
    "usage_trend": _change("usage"),
    "on_time_ratio": lambda v: f"paid on time {v:.0%} of bills",
    "days_late_mean": lambda v: f"pays {v:.0f} days late on average",
    "days_late_max": lambda v: f"paid up to {v:.0f} days late",
    "arrears_amount": lambda v: f"owes {v:,.0f} CNY",
    "months_in_arrears": _months_in_arrears,
    "unpaid_bills": _count("unpaid bill", "unpaid bills"),
    "bills_due": _count("bill due", "bills due", " in the credit window"),
    "credit_score": lambda v: f"credit score {v:.2f} of 1",
    "contacts_30d": _count("contact", "contacts", " in 30 days"),
    "contacts_90d": _count("contact", "contacts", " in 90 days"),
    "complaints_30d": _count("complaint", "complaints", " in 30 days"),
    "complaints_90d": _count("complaint", "complaints", " in 90 days"),
    "repeat_contacts_30d": _count("repeat contact", "repeat contacts", " in 30 days"),
    "abandoned_30d": _count("abandoned call", "abandoned calls", " in 30 days"),
    "cancel_intent_90d": lambda v: f"asked to cancel {round(float(v))}x in 90 days",
    "unresolved_share_90d": lambda v: f"{v:.0%} of contacts unresolved (90 days)",
    "days_since_retention_call": lambda v: f"retention call {v:.0f} days ago",
    "contract_months_left": _contract_left,
    "age": lambda v: f"age {v:.0f}",
    "plan": lambda v: f"plan {v}",
    "contract_type": lambda v: f"{v} line",
    "brand": lambda v: f"brand {v}",
    "segment": lambda v: f"{v} customer",
    "region": lambda v: f"region {v}",
    "gender": lambda v: f"gender {v}",
    "sales_channel": lambda v: f"sold via {v}",
    "list_flag": lambda v: f"{v} list",
    "do_not_contact": lambda v: "opted out of calls" if v else "accepts calls",
}

MISSING_PHRASES: dict[str, str] = {
    "arpu_1m": "no recent bill",
    "arpu_3m": "no bill in 3 months",
    "arpu_6m": "no bill in 6 months",
    "arpu_trend": "no spend history",
    "usage_trend": "no usage history",
    "days_since_retention_call": "never had a retention call",
    "on_time_ratio": "no payment history",
}


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _generic(feature: str, value: Any) -> str:
    name = feature.replace("_", " ")
    if isinstance(value, (bool, np.bool_)):
        return f"{name}: {'yes' if value else 'no'}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{name} {float(value):.4g}"
    return f"{name} {value}"


def describe(feature: str, value: Any, new_customer_months: float | None = None) -> str:
    """Return the plain-words phrase for one feature at one customer's value.

    `new_customer_months`: the identification stage's tenure limit (models.lifecycle.new_customer_months);
    a shorter tenure reads "new customer".
    """
    if _is_missing(value):
        return MISSING_PHRASES.get(feature, f"{feature.replace('_', ' ')} unknown")
    if feature == "tenure_months":
        return _tenure(value, new_customer_months)
    phrase = PHRASES.get(feature)
    return phrase(value) if phrase is not None else _generic(feature, value)


def reason_codes(
    model: Explainable, x: pd.DataFrame, top_k: int = 3, new_customer_months: float | None = None
) -> pd.Series:
    """Return churn_reasons: the top `top_k` risk-raising features per row, in words, joined by "; "."""
    contrib = model.contributions(x)
    values = contrib.to_numpy()
    columns = list(contrib.columns)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top_k]
    raw = [x[c].to_numpy(dtype=object) for c in columns]
    texts = []
    for row, picks in enumerate(order):
        parts = [describe(columns[j], raw[j][row], new_customer_months) for j in picks if values[row, j] > 0]
        texts.append(SEPARATOR.join(parts))
    return pd.Series(texts, index=x.index, name="churn_reasons", dtype="str")
