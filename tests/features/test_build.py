from datetime import date

import numpy as np
import pandas as pd
import pytest

from benchmarks.bench_features import duckdb_features, feature_mismatches, random_tables
from features.build import active_subscribers, feature_table
from tests.features import frames
from tiercast.settings.features import FeaturesSettings

D = date(2025, 3, 31)
# docs/interfaces.md "Feature table", in order (bills_due is an addition of features.credit)
COLUMNS = [
    "subscriber_id", "as_of", "tenure_months",
    "arpu_1m", "arpu_3m", "arpu_6m", "arpu_trend", "arpu_volatility", "months_billed_6m",
    "data_share", "long_distance_share", "roaming_share", "value_added_share", "data_mb_3m", "voice_minutes_3m",
    "usage_trend",
    "on_time_ratio", "days_late_mean", "days_late_max", "arrears_amount", "months_in_arrears", "unpaid_bills",
    "bills_due", "credit_score",
    "contacts_30d", "contacts_90d", "complaints_30d", "complaints_90d", "repeat_contacts_30d", "abandoned_30d",
    "cancel_intent_90d", "unresolved_share_90d", "days_since_retention_call",
    "plan", "contract_type", "brand", "segment", "region", "gender", "sales_channel", "list_flag", "age",
    "do_not_contact", "contract_months_left",
]  # fmt: skip


def test_active_subscribers_are_activated_by_d_and_not_deactivated_by_d_sorted_by_id() -> None:
    subscribers = frames.subscribers(
        {"subscriber_id": 5, "activation_date": "2025-03-31"},  # joined on D: active
        {"subscriber_id": 4, "activation_date": "2025-04-01"},  # joins after D
        {"subscriber_id": 3, "deactivation_date": "2025-03-31", "deactivation_reason": "voluntary"},  # left on D
        {"subscriber_id": 2, "deactivation_date": "2025-04-01", "deactivation_reason": "voluntary"},  # leaves after
        {"subscriber_id": 1},
    )
    active = active_subscribers(subscribers, D)
    assert active["subscriber_id"].tolist() == [1, 2, 5]
    assert active.index.tolist() == [0, 1, 2]


def small_tables(unit: str = "ms") -> dict[str, pd.DataFrame]:
    """Three active subscribers with a little of everything, all dated on or before D."""
    subscribers = frames.subscribers(
        {"subscriber_id": 3, "activation_date": "2024-06-15", "birth_year": None},
        {"subscriber_id": 1, "activation_date": "2020-01-01", "contract_type": "contract_24m",
         "contract_end_date": "2026-01-01", "list_flag": "red"},
        {"subscriber_id": 2, "activation_date": "2025-03-20", "plan": "prepaid_19", "contract_type": "prepaid"},
        unit=unit,
    )  # fmt: skip
    bills = frames.bills(
        {"subscriber_id": 1, "bill_month": "2025-01-01", "amount": 100.0, "data_amount": 20.0},
        {"subscriber_id": 1, "bill_month": "2025-02-01", "amount": 120.0},
        {"subscriber_id": 3, "bill_month": "2025-02-01", "amount": 40.0},
        unit=unit,
    )
    payments = frames.payments(
        {"subscriber_id": 1, "bill_month": "2025-01-01", "due_date": "2025-02-20", "paid_date": "2025-02-18",
         "amount_paid": 100.0},
        {"subscriber_id": 1, "bill_month": "2025-02-01", "due_date": "2025-03-20", "paid_date": None,
         "amount_paid": 0.0},
        {"subscriber_id": 3, "bill_month": "2025-02-01", "due_date": "2025-03-20", "paid_date": "2025-03-25",
         "amount_paid": 40.0},
        unit=unit,
    )  # fmt: skip
    contacts = frames.contacts(
        {"subscriber_id": 3, "contact_time": "2025-03-30T08:00:00", "reason": "complaint"},
        {"subscriber_id": 1, "contact_time": "2025-02-01T08:00:00", "channel": "outbound", "reason": "retention_call"},
        unit=unit,
    )
    return {"subscribers": subscribers, "bills": bills, "payments": payments, "contacts": contacts}


def build(tables: dict[str, pd.DataFrame], settings: FeaturesSettings, as_of: date = D) -> pd.DataFrame:
    return feature_table(
        tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"], as_of, settings
    )


def test_feature_table_has_one_row_per_active_subscriber_with_every_column(settings) -> None:
    table = build(small_tables(), settings.features)
    assert list(table.columns) == COLUMNS
    assert table["subscriber_id"].tolist() == [1, 2, 3]
    assert (table["as_of"] == pd.Timestamp(D)).all()
    assert table["as_of"].dtype.kind == "M"
    first = table.iloc[0]
    assert (first["arpu_3m"], first["data_share"]) == (110.0, 20.0 / 220.0)
    assert np.isnan(first["arpu_1m"])  # no March bill
    assert (first["bills_due"], first["unpaid_bills"], first["on_time_ratio"]) == (2, 1, 0.5)
    assert first["days_since_retention_call"] == 58.0
    assert first["contract_months_left"] == 276 / 30.4375
    assert first["list_flag"] == "red"
    assert table["tenure_months"].iloc[1] == 11 / 30.4375
    assert table["credit_score"].iloc[1] == settings.features.credit_score.no_history_score
    assert (table["days_late_max"].iloc[2], table["complaints_30d"].iloc[2]) == (5.0, 1)
    assert np.isnan(table["age"].iloc[2])
    ints = ["months_billed_6m", "months_in_arrears", "unpaid_bills", "bills_due", "contacts_30d"]
    assert all(table[name].dtype == np.int64 for name in ints)
    assert table["abandoned_30d"].dtype == np.float64  # a count, null when the export has no abandoned flag
    assert table["do_not_contact"].dtype == bool


def test_no_active_subscriber_gives_an_empty_table_with_every_column(settings) -> None:
    table = build(small_tables(), settings.features, date(2019, 12, 31))
    assert list(table.columns) == COLUMNS
    assert len(table) == 0


def test_feature_table_does_not_mutate_its_inputs(settings) -> None:
    tables = small_tables()
    before = {name: frame.copy(deep=True) for name, frame in tables.items()}
    build(tables, settings.features)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


def plant_the_future(tables: dict[str, pd.DataFrame], unit: str) -> dict[str, pd.DataFrame]:
    """Return the tables with facts dated after D added or changed (D = 31 March is a month end)."""
    later_subscriber = frames.subscribers({"subscriber_id": 4, "activation_date": "2025-04-01"}, unit=unit)
    subscribers = pd.concat([tables["subscribers"], later_subscriber], ignore_index=True)
    # subscriber 3 leaves after D
    subscribers.loc[subscribers["subscriber_id"] == 3, "deactivation_date"] = pd.Timestamp("2025-04-15")
    subscribers.loc[subscribers["subscriber_id"] == 3, "deactivation_reason"] = "non_payment"
    bills = pd.concat(
        [tables["bills"], frames.bills({"subscriber_id": 1, "bill_month": "2025-04-01", "amount": 999.0},
                                       {"subscriber_id": 4, "bill_month": "2025-04-01"}, unit=unit)],
        ignore_index=True,
    )  # fmt: skip
    payments = tables["payments"].copy()
    # the bill unpaid at D (due 20 March) gets paid after D
    unpaid = payments["paid_date"].isna()
    payments.loc[unpaid, "paid_date"] = pd.Timestamp("2025-04-02")
    payments.loc[unpaid, "amount_paid"] = 120.0
    payments = pd.concat(
        [payments, frames.payments({"subscriber_id": 1, "bill_month": "2025-04-01", "due_date": "2025-05-20",
                                    "paid_date": "2025-05-01", "amount_paid": 999.0}, unit=unit)],
        ignore_index=True,
    )  # fmt: skip
    contacts = pd.concat(
        [tables["contacts"], frames.contacts(
            {"subscriber_id": 3, "contact_time": "2025-04-01T00:00:00", "reason": "complaint"},
            {"subscriber_id": 1, "contact_time": "2025-04-03T10:00:00", "channel": "outbound",
             "reason": "retention_call"},
            {"subscriber_id": 2, "contact_time": "2025-04-10T10:00:00", "reason": "cancel_intent"},
            unit=unit)],
        ignore_index=True,
    )  # fmt: skip
    return {"subscribers": subscribers, "bills": bills, "payments": payments, "contacts": contacts}


@pytest.mark.parametrize("unit", ["ms", "ns"])
def test_facts_dated_after_d_do_not_change_the_feature_table(settings, unit: str) -> None:
    tables = small_tables(unit)
    before = build(tables, settings.features)
    after = build(plant_the_future(tables, unit), settings.features)
    pd.testing.assert_frame_equal(after, before, check_exact=True)


def test_a_bill_of_ds_own_month_is_ignored_before_the_months_last_day(settings) -> None:
    tables = small_tables()
    mid_march = date(2025, 3, 15)
    before = build(tables, settings.features, mid_march)
    march_bill = frames.bills({"subscriber_id": 1, "bill_month": "2025-03-01", "amount": 500.0})
    with_march = {**tables, "bills": pd.concat([tables["bills"], march_bill], ignore_index=True)}
    pd.testing.assert_frame_equal(build(with_march, settings.features, mid_march), before, check_exact=True)
    assert build(with_march, settings.features)["arpu_1m"].iloc[0] == 500.0  # known on 31 March


@pytest.mark.parametrize(
    ("as_of", "shuffled"), [(date(2025, 12, 31), False), (date(2025, 9, 14), True), (date(2025, 3, 1), False)]
)
def test_feature_table_equals_the_duckdb_reference_query(settings, as_of: date, shuffled: bool) -> None:
    tables = random_tables(400, 12, end_month="2025-12", seed=11)
    if shuffled:  # no table sorted, payments not row-aligned with bills
        tables = {name: frame.sample(frac=1.0, random_state=3) for name, frame in tables.items()}
    ours = build(tables, settings.features, as_of)
    assert len(ours) > 300
    assert feature_mismatches(ours, duckdb_features(tables, as_of, settings.features, threads=1)) == []


def test_feature_table_does_not_depend_on_the_chunk_size(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = random_tables(300, 12, end_month="2025-12", seed=4)
    tables["payments"] = tables["payments"].sample(frac=1.0, random_state=1)  # the joined (not row-aligned) path
    whole = build(tables, settings.features, date(2025, 11, 30))
    monkeypatch.setattr("features.windows.CHUNK_ROWS", 7)
    pd.testing.assert_frame_equal(build(tables, settings.features, date(2025, 11, 30)), whole, check_exact=True)


def test_feature_mismatches_reports_a_changed_value(settings) -> None:
    table = build(small_tables(), settings.features)
    changed = table.assign(arpu_3m=table["arpu_3m"] * (1 + 1e-6), contacts_30d=table["contacts_30d"] + 1)
    problems = feature_mismatches(table, changed)
    assert [p.split(":")[0] for p in problems] == ["arpu_3m", "contacts_30d"]


def test_feature_table_matches_its_output_contract(settings) -> None:
    from data_contracts.loader import Contract, load_contract

    # the contract covers the written features file: feature_table's columns, then the decision columns
    contract = load_contract("features")
    assert contract.column_names[: len(COLUMNS)] == COLUMNS
    own = Contract.model_validate(
        {
            "table": "features",
            "primary_key": contract.primary_key,
            "columns": {name: contract.columns[name].model_dump() for name in COLUMNS},
        }
    )
    tables = random_tables(300, 12, end_month="2025-12", seed=2)
    for table in (build(small_tables(), settings.features), build(tables, settings.features, date(2025, 10, 31))):
        assert own.dtype_problems(table) == []
        own.schema.validate(table, lazy=True)
