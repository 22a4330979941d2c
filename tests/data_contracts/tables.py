"""Tiny valid input tables (3 subscribers) built by hand, and a writer to Parquet or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TABLES = ("subscribers", "bills", "payments", "contacts")


def _dates(*values: str | None) -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype="datetime64[ms]")


def subscribers() -> pd.DataFrame:
    """1: active postpaid; 2: 12-month contract line that left on 2024-03-10; 3: prepaid since 2024-01-05."""
    return pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3],
            "msisdn": ["13800000001", "13900000002", "15000000003"],
            "activation_date": _dates("2023-01-15", "2023-06-01", "2024-01-05"),
            "deactivation_date": _dates(None, "2024-03-10", None),
            "deactivation_reason": [None, "voluntary", None],
            "plan": ["postpaid_58", "postpaid_128", "prepaid_19"],
            "contract_type": ["postpaid", "contract_12m", "prepaid"],
            "contract_end_date": _dates(None, "2024-06-01", None),
            "brand": ["gotone", "gotone", "easyown"],
            "segment": ["individual", "business", "individual"],
            "birth_year": pd.array([1980, None, 1999], dtype="Int64"),
            "gender": ["F", None, "M"],
            "region": ["Hangzhou", "Ningbo", "Wenzhou"],
            "sales_channel": ["store", "agent", "online"],
            "list_flag": [None, "red", None],
            "do_not_contact": [False, True, False],
        }
    )


def bills() -> pd.DataFrame:
    """Rows: (1, Jan), (1, Feb), (2, Jan), (2, Feb), (3, Jan) of 2024."""
    amount = [58.0, 70.5, 128.0, 130.0, 19.0]
    return pd.DataFrame(
        {
            "subscriber_id": [1, 1, 2, 2, 3],
            "bill_month": _dates("2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01", "2024-01-01"),
            "amount": amount,
            "base_fee": [58.0, 58.0, 128.0, 128.0, 15.0],
            "voice_minutes": [120.0, 300.5, 80.0, 0.0, 10.0],
            "data_mb": [2048.0, 4096.0, 1024.0, 512.0, 100.0],
            "sms_count": [3, 0, 10, 1, 0],
            "data_amount": [0.0, 5.0, 0.0, 0.0, 4.0],
            "long_distance_amount": [0.0, 7.5, 0.0, 2.0, 0.0],
            "roaming_amount": [0.0, 0.0, 0.0, 0.0, 0.0],
            "value_added_amount": [0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )


def payments() -> pd.DataFrame:
    """One row per bill; (2, Feb) is unpaid, (3, Jan) paid in part."""
    return pd.DataFrame(
        {
            "subscriber_id": [1, 1, 2, 2, 3],
            "bill_month": _dates("2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01", "2024-01-01"),
            "due_date": _dates("2024-02-15", "2024-03-15", "2024-02-15", "2024-03-15", "2024-02-15"),
            "paid_date": _dates("2024-02-03", "2024-02-29", "2024-02-20", None, "2024-01-31"),
            "amount_paid": [58.0, 70.5, 128.0, 0.0, 10.0],
        }
    )


def contacts() -> pd.DataFrame:
    """Rows: voice call of 1, chat of 2 after leaving, abandoned voice call of 3, app contact of 1."""
    return pd.DataFrame(
        {
            "contact_id": [101, 102, 103, 104],
            "subscriber_id": [1, 2, 3, 1],
            "contact_time": pd.Series(
                pd.to_datetime(
                    ["2024-02-01 10:00:05", "2024-03-20 18:30:00", "2024-02-10 08:00:00", "2024-01-20 12:00:00"]
                ),
                dtype="datetime64[ms]",
            ),
            "channel": ["voice", "chat", "voice", "app"],
            "reason": ["inquiry", "billing", "complaint", "fault"],
            "resolved": [True, False, False, True],
            "wait_seconds": [30.0, 0.0, 95.0, 0.0],
            "handle_seconds": [200.0, 300.0, 0.0, 60.0],
            "abandoned": [False, False, True, False],
            "agent_group": pd.Series(["standard", None, None, None], dtype="str"),
        }
    )


def valid_tables() -> dict[str, pd.DataFrame]:
    """Return the four input tables, all rows valid."""
    return {"subscribers": subscribers(), "bills": bills(), "payments": payments(), "contacts": contacts()}


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "parquet") -> Path:
    """Write each table as `<folder>/<table>.<fmt>` and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def with_values(frame: pd.DataFrame, row: int, **values: Any) -> pd.DataFrame:
    """Return a copy of `frame` with row `row` changed; a None/NaN turns the column nullable first."""
    changed = frame.copy()
    for column, value in values.items():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            kind = changed[column].dtype.kind
            if kind in "iu":
                changed[column] = changed[column].astype("Int64")
            elif kind == "b":
                changed[column] = changed[column].astype("boolean")
        elif changed[column].dtype.kind == "M":
            value = pd.Timestamp(str(value))
        changed.loc[row, column] = value
    return changed
