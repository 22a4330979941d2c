"""The generated files match data_contracts/*.yaml: names, types, nullability, values and row rules."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tiercast.synthetic.writer import ARROW_TYPES, INPUT_TABLES, contract_schema, dates, labels

CONTRACTS = Path(__file__).resolve().parents[2] / "data_contracts"


def _contract(table: str) -> dict:
    return yaml.safe_load((CONTRACTS / f"{table}.yaml").read_text())


@pytest.mark.parametrize("table", INPUT_TABLES)
def test_file_schema_is_the_contract(small_run: dict[str, Path], table: str) -> None:
    schema = pq.read_schema(small_run[table])
    columns = _contract(table)["columns"]
    assert schema.names == list(columns)
    for name, spec in columns.items():
        field = schema.field(name)
        assert field.type == ARROW_TYPES[spec["type"]], name
        assert field.nullable == bool(spec.get("nullable", False)), name


@pytest.mark.parametrize("table", INPUT_TABLES)
def test_values_pass_the_column_checks(small_run: dict[str, Path], table: str) -> None:
    frame = pd.read_parquet(small_run[table])
    for name, spec in _contract(table)["columns"].items():
        values = frame[name]
        if not spec.get("nullable", False):
            assert values.notna().all(), name
        present = values.dropna()
        checks = spec.get("checks", {})
        if "ge" in checks:
            assert (present >= checks["ge"]).all(), name
        if "le" in checks:
            assert (present <= checks["le"]).all(), name
        if "isin" in checks:
            assert set(present.unique()) <= set(checks["isin"]), name
        if "str_matches" in checks:
            pattern = re.compile(checks["str_matches"])
            assert all(pattern.match(value) for value in present), name
        if spec.get("unique"):
            assert values.is_unique, name
    key = _contract(table)["primary_key"]
    assert not frame.duplicated(key).any()


def _days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values)


def test_row_rules_hold(small_run: dict[str, Path]) -> None:
    subs = pd.read_parquet(small_run["subscribers"]).set_index("subscriber_id")
    bills = pd.read_parquet(small_run["bills"])
    payments = pd.read_parquet(small_run["payments"])
    contacts = pd.read_parquet(small_run["contacts"])
    act, deact = _days(subs["activation_date"]), _days(subs["deactivation_date"])
    # subscribers
    assert (deact.isna() | (deact >= act)).all()
    assert (deact.isna() == subs["deactivation_reason"].isna()).all()
    contract = subs["contract_type"].isin(["contract_12m", "contract_24m"])
    assert (contract == subs["contract_end_date"].notna()).all()
    # bills
    month = _days(bills["bill_month"])
    assert (month.dt.day == 1).all()
    parts = bills[["data_amount", "long_distance_amount", "roaming_amount", "value_added_amount"]].sum(axis=1)
    assert (parts <= bills["amount"] + 0.01).all()
    assert bills["subscriber_id"].isin(subs.index).all()
    first = act.dt.to_period("M").dt.to_timestamp().reindex(bills["subscriber_id"]).to_numpy()
    last = deact.dt.to_period("M").dt.to_timestamp().reindex(bills["subscriber_id"]).to_numpy()
    assert (month.to_numpy() >= first).all()
    assert (pd.isna(last) | (month.to_numpy() <= last)).all()
    # payments: one per bill, known bill, due after the month, paid after issue, within the bill
    merged = payments.merge(bills, on=["subscriber_id", "bill_month"], how="left", validate="one_to_one")
    assert len(payments) == len(bills) and merged["amount"].notna().all()
    month_end = _days(merged["bill_month"]) + pd.offsets.MonthEnd(0)
    assert (_days(merged["due_date"]) > month_end).all()
    paid = _days(merged["paid_date"])
    assert (paid.isna() | (paid >= month_end)).all()
    assert (merged.loc[paid.isna(), "amount_paid"] == 0).all()
    assert (merged["amount_paid"] <= merged["amount"] + 0.01).all()
    # contacts
    assert contacts["subscriber_id"].isin(subs.index).all()
    when = contacts["contact_time"]
    assert (when >= act.reindex(contacts["subscriber_id"]).to_numpy()).all()
    limit = (deact + pd.Timedelta(days=91)).reindex(contacts["subscriber_id"]).to_numpy()
    assert (pd.isna(limit) | (when.to_numpy() < limit)).all()
    assert (~contacts["abandoned"] | (contacts["channel"] == "voice")).all()


def test_zero_rows_quarantined_by_ingest(small_run: dict[str, Path], settings) -> None:
    ingest = pytest.importorskip("pipelines.ingest")
    result = ingest.validate_inputs(settings, data_dir=small_run["subscribers"].parent)
    assert {name: report.quarantined for name, report in result.reports.items()} == dict.fromkeys(INPUT_TABLES, 0)
    assert {name: report.rows_read for name, report in result.reports.items()} == {
        name: pq.ParquetFile(small_run[name]).metadata.num_rows for name in INPUT_TABLES
    }


def test_contract_schema_reads_the_yaml() -> None:
    schema = contract_schema("payments")
    assert schema.names == ["subscriber_id", "bill_month", "due_date", "paid_date", "amount_paid"]
    assert schema.field("paid_date").nullable and not schema.field("due_date").nullable
    assert schema.field("bill_month").type == pa.date32()


def test_dates_and_labels_convert_codes_with_nulls() -> None:
    days = dates(np.array([0, 20454, 5]), missing=np.array([False, False, True]))
    assert days.to_pylist()[:2] == [pd.Timestamp("1970-01-01").date(), pd.Timestamp("2026-01-01").date()]
    assert days.to_pylist()[2] is None
    assert labels(np.array([1, -1, 0], dtype=np.int8), ("a", "b")).to_pylist() == ["b", None, "a"]
