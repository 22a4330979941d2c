"""Hand-built input frames in the in-memory shape of docs/interfaces.md (datetime64 in a chosen unit, `str` strings).

Each builder takes rows as dicts; columns not given take a plain default, so a test only spells out
what it is about.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SUBSCRIBER = {
    "msisdn": None,
    "activation_date": "2023-01-01",
    "deactivation_date": None,
    "deactivation_reason": None,
    "plan": "postpaid_58",
    "contract_type": "postpaid",
    "contract_end_date": None,
    "brand": "gotone",
    "segment": "individual",
    "birth_year": 1980,
    "gender": "F",
    "region": "hangzhou",
    "sales_channel": "store",
    "list_flag": None,
    "do_not_contact": False,
}
BILL = {
    "amount": 58.0,
    "base_fee": 58.0,
    "voice_minutes": 100.0,
    "data_mb": 1000.0,
    "sms_count": 0,
    "data_amount": 0.0,
    "long_distance_amount": 0.0,
    "roaming_amount": 0.0,
    "value_added_amount": 0.0,
}
CONTACT = {
    "channel": "voice",
    "reason": "inquiry",
    "resolved": True,
    "wait_seconds": 10.0,
    "handle_seconds": 120.0,
    "abandoned": False,
}
DATE_COLUMNS = {
    "activation_date",
    "deactivation_date",
    "contract_end_date",
    "bill_month",
    "due_date",
    "paid_date",
    "contact_time",
}
TEXT_COLUMNS = {
    "msisdn",
    "deactivation_reason",
    "plan",
    "contract_type",
    "brand",
    "segment",
    "gender",
    "region",
    "sales_channel",
    "list_flag",
    "channel",
    "reason",
}


def _frame(rows: list[dict[str, Any]], defaults: dict[str, Any], unit: str) -> pd.DataFrame:
    records = [{**defaults, **row} for row in rows]
    columns = list(records[0]) if records else list(defaults)
    data: dict[str, Any] = {}
    for name in columns:
        values = [record[name] for record in records]
        if name in DATE_COLUMNS:
            data[name] = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601").astype(
                np.dtype(f"datetime64[{unit}]")
            )
        elif name in TEXT_COLUMNS:
            data[name] = pd.array(values, dtype="str")
        elif name == "birth_year":
            data[name] = pd.array(values, dtype="Int64")
        else:
            data[name] = np.array(values)
    return pd.DataFrame(data)


def subscribers(*rows: dict[str, Any], unit: str = "ms") -> pd.DataFrame:
    """Return a subscribers frame; each row needs at least subscriber_id."""
    frame = _frame(list(rows), SUBSCRIBER, unit)
    frame["msisdn"] = pd.array([f"138{i:08d}" for i in frame["subscriber_id"]], dtype="str")
    return frame


def bills(*rows: dict[str, Any], unit: str = "ms") -> pd.DataFrame:
    """Return a bills frame; each row needs subscriber_id and bill_month."""
    return _frame(list(rows), BILL, unit)


def payments(*rows: dict[str, Any], unit: str = "ms") -> pd.DataFrame:
    """Return a payments frame; each row needs subscriber_id, bill_month, due_date, paid_date, amount_paid."""
    return _frame(list(rows), {}, unit)


def contacts(*rows: dict[str, Any], unit: str = "ms") -> pd.DataFrame:
    """Return a contacts frame; each row needs subscriber_id and contact_time (contact_id is numbered)."""
    frame = _frame(list(rows), CONTACT, unit)
    return frame.assign(contact_id=np.arange(1, len(frame) + 1, dtype=np.int64))


def no_payments() -> pd.DataFrame:
    """Return an empty payments frame with the right dtypes."""
    return payments({"subscriber_id": 1, "bill_month": "2025-01-01", "due_date": "2025-02-20",
                     "paid_date": None, "amount_paid": 0.0}).iloc[:0]  # fmt: skip


def no_contacts() -> pd.DataFrame:
    """Return an empty contacts frame with the right dtypes."""
    return contacts({"subscriber_id": 1, "contact_time": "2025-01-01T00:00:00"}).iloc[:0]


def no_bills() -> pd.DataFrame:
    """Return an empty bills frame with the right dtypes."""
    return bills({"subscriber_id": 1, "bill_month": "2025-01-01"}).iloc[:0]
