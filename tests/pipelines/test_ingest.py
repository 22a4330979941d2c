"""Reading and validating input tables: one planted bad row per rule, structural errors, CSV, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.loader import ContractError, load_contract
from pipelines.ingest import QuarantineLimitError, ValidationResult, read_table, validate_tables
from tests.data_contracts.tables import TABLES, valid_tables, with_values, write_tables
from tiercast.errors import ConfigurationError
from tiercast.settings.validation import ValidationSettings

SUBSCRIBER_ROWS = {  # subscriber_id -> its rows in (bills, payments, contacts) of the hand-built tables
    1: ([0, 1], [0, 1], [0, 3]),
    2: ([2, 3], [2, 3], [1]),
    3: ([4], [4], [2]),
}


def without_subscriber(sid: int) -> dict[str, dict[int, str]]:
    """What a quarantined subscriber drags along: its bills, their payments, its contacts."""
    bills, payments, contacts = SUBSCRIBER_ROWS[sid]
    return {
        "bills": dict.fromkeys(bills, "known_subscriber"),
        "payments": dict.fromkeys(payments, "known_bill"),
        "contacts": dict.fromkeys(contacts, "known_subscriber"),
    }


def subscriber_case(changes: dict[str, object], rules: str, row: int = 2) -> tuple:
    return ("subscribers", row, changes, {"subscribers": {row: rules}, **without_subscriber(row + 1)})


def bill_case(changes: dict[str, object], rules: str, row: int = 4) -> tuple:
    return ("bills", row, changes, {"bills": {row: rules}, "payments": {row: "known_bill"}})


def simple_case(table: str, changes: dict[str, object], rules: str, row: int = 0) -> tuple:
    return (table, row, changes, {table: {row: rules}})


CASES = {
    # subscribers: value checks, nulls, row rules; a quarantined subscriber takes its rows along
    "msisdn_regex": subscriber_case({"msisdn": "12345"}, "msisdn:str_matches"),
    "contract_type_unmapped": subscriber_case({"contract_type": "lease"}, "contract_type:unmapped_value"),
    "list_flag_unmapped": subscriber_case({"list_flag": "grey"}, "list_flag:unmapped_value"),
    "birth_year_ge": subscriber_case({"birth_year": 1899}, "birth_year:ge"),
    "reason_isin": (
        "subscribers",
        1,
        {"deactivation_reason": "moved"},
        {"subscribers": {1: "deactivation_reason:unmapped_value"}, **without_subscriber(2)},
    ),
    "region_not_null": subscriber_case({"region": None}, "region:not_null"),
    "activation_not_null": subscriber_case({"activation_date": None}, "activation_date:not_null"),
    "do_not_contact_not_null": subscriber_case({"do_not_contact": None}, "do_not_contact:not_null"),
    "deactivation_before_activation": (
        "subscribers",
        1,
        {"deactivation_date": "2023-05-01"},
        {"subscribers": {1: "deactivation_not_before_activation"}, **without_subscriber(2)},
    ),
    "reason_without_deactivation": subscriber_case({"deactivation_reason": "voluntary"}, "reason_iff_deactivated"),
    "contract_end_on_prepaid": subscriber_case({"contract_end_date": "2025-01-01"}, "contract_end_only_for_contracts"),
    # bills: a quarantined bill takes its payment along
    "amount_ge": bill_case({"amount": -1.0}, "amount:ge;parts_within_amount"),
    "amount_1e308": bill_case({"amount": 1e308}, "amount:le"),
    "amount_infinite": bill_case({"amount": float("inf")}, "amount:le"),
    "amount_paid_infinite": simple_case("payments", {"amount_paid": float("inf")}, "amount_paid:le;paid_within_bill"),
    "base_fee_ge": bill_case({"base_fee": -0.5}, "base_fee:ge"),
    "voice_minutes_ge": bill_case({"voice_minutes": -1.0}, "voice_minutes:ge"),
    "data_mb_ge": bill_case({"data_mb": -1.0}, "data_mb:ge"),
    "sms_count_ge": bill_case({"sms_count": -1}, "sms_count:ge"),
    "roaming_amount_ge": bill_case({"roaming_amount": -1.0}, "roaming_amount:ge"),
    "amount_not_null": bill_case({"amount": None}, "amount:not_null"),
    "sms_count_not_null": bill_case({"sms_count": None}, "sms_count:not_null"),
    "bill_month_mid_month": bill_case({"bill_month": "2024-01-15"}, "bill_month_is_first_day"),
    "parts_above_amount": bill_case({"data_amount": 19.02}, "parts_within_amount"),
    "bill_of_unknown_subscriber": bill_case({"subscriber_id": 99}, "known_subscriber"),
    "bill_before_activation": bill_case({"bill_month": "2023-12-01"}, "billed_while_active"),
    "bill_after_deactivation": bill_case({"bill_month": "2024-04-01"}, "billed_while_active", row=3),
    # payments
    "amount_paid_ge": simple_case("payments", {"amount_paid": -1.0}, "amount_paid:ge"),
    "due_within_bill_month": simple_case("payments", {"due_date": "2024-01-31"}, "due_after_bill_month"),
    "paid_before_bill_issued": simple_case("payments", {"paid_date": "2024-01-30"}, "paid_not_before_bill"),
    "unpaid_with_amount": simple_case("payments", {"paid_date": None}, "unpaid_has_no_amount"),
    "payment_of_unknown_bill": simple_case("payments", {"subscriber_id": 99}, "known_bill"),
    "paid_more_than_billed": simple_case("payments", {"amount_paid": 58.02}, "paid_within_bill"),
    "due_date_not_null": simple_case("payments", {"due_date": None}, "due_date:not_null"),
    # contacts
    "channel_unmapped": simple_case("contacts", {"channel": "fax"}, "channel:unmapped_value"),
    "reason_unmapped_contact": simple_case("contacts", {"reason": "gossip"}, "reason:unmapped_value"),
    "wait_ge": simple_case("contacts", {"wait_seconds": -5.0}, "wait_seconds:ge"),
    "handle_ge": simple_case("contacts", {"handle_seconds": -5.0}, "handle_seconds:ge"),
    "resolved_not_null": simple_case("contacts", {"resolved": None}, "resolved:not_null"),
    "channel_not_null": simple_case("contacts", {"channel": None}, "channel:not_null"),
    "contact_of_unknown_subscriber": simple_case("contacts", {"subscriber_id": 99}, "known_subscriber"),
    "contact_before_activation": simple_case(
        "contacts", {"contact_time": "2023-01-14 23:59:59"}, "contact_while_customer"
    ),
    "contact_long_after_leaving": simple_case(
        "contacts", {"contact_time": "2024-06-09 09:00:00"}, "contact_while_customer;future_dated", row=1
    ),
    "contact_after_the_data_end": simple_case("contacts", {"contact_time": "2024-05-02 00:00:00"}, "future_dated"),
    "abandoned_chat": simple_case("contacts", {"abandoned": True}, "abandoned_only_on_voice", row=1),
}


def no_limit(settings) -> ValidationSettings:
    return settings.validation.model_copy(update={"max_quarantined_share": 1.0})


def run(settings, data: Path, validation: ValidationSettings | None = None) -> ValidationResult:
    return validate_tables(
        data, validation or no_limit(settings), settings.paths.resolve(settings.paths.quarantine), data / "report.json"
    )


def test_valid_tables_pass_untouched_in_interface_dtypes(settings, tmp_path: Path) -> None:
    result = run(settings, write_tables(tmp_path / "raw", valid_tables()))

    for name, frame in valid_tables().items():
        assert result.reports[name].quarantined == 0
        pd.testing.assert_frame_equal(result.tables[name], frame, check_dtype=False)
    subscribers = result.tables["subscribers"]
    assert subscribers["subscriber_id"].dtype == "int64"
    assert isinstance(subscribers["msisdn"].dtype, pd.StringDtype)
    assert subscribers["activation_date"].dtype.kind == "M"
    assert subscribers["birth_year"].dtype == "Int64"
    assert subscribers["do_not_contact"].dtype == "bool"
    assert result.tables["bills"]["amount"].dtype == "float64"


@pytest.mark.parametrize(("table", "row", "changes", "expected"), list(CASES.values()), ids=list(CASES))
def test_each_rule_quarantines_exactly_the_planted_row(settings, tmp_path: Path, table, row, changes, expected) -> None:
    tables = valid_tables()
    tables[table] = with_values(tables[table], row, **changes)

    result = run(settings, write_tables(tmp_path / "raw", tables))

    quarantine_dir = settings.paths.resolve(settings.paths.quarantine)
    for name in TABLES:
        report = result.reports[name]
        assert report.clean + report.quarantined == report.rows_read == len(tables[name])
        saved = pd.read_parquet(quarantine_dir / f"{name}.parquet")
        assert dict(zip(saved["source_row"], saved["failed_rules"], strict=True)) == expected.get(name, {})
        counted = {rule: rows for rule, rows in report.rules.items() if rows}
        planted = pd.Series(list(expected.get(name, {}).values()), dtype=object).str.split(";").explode()
        assert counted == planted.value_counts().to_dict()
    planted_row = pd.read_parquet(quarantine_dir / f"{table}.parquet").set_index("source_row").loc[row]
    for column, value in changes.items():
        assert pd.isna(planted_row[column]) if value is None else str(planted_row[column]).startswith(str(value))


def test_quarantine_csv_holds_the_same_rows(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = with_values(tables["contacts"], 3, channel="fax")

    run(settings, write_tables(tmp_path / "raw", tables))

    saved = pd.read_csv(settings.paths.resolve(settings.paths.quarantine) / "contacts.csv")
    assert saved[["source_row", "contact_id", "channel", "failed_rules"]].values.tolist() == [
        [3, 104, "fax", "channel:unmapped_value"]
    ]


def test_csv_input_reads_like_parquet(settings, tmp_path: Path) -> None:
    parquet = run(settings, write_tables(tmp_path / "parquet", valid_tables()))
    csv = run(settings, write_tables(tmp_path / "csv", valid_tables(), fmt="csv"))

    for name in TABLES:
        assert csv.reports[name].source.suffix == ".csv"
        pd.testing.assert_frame_equal(csv.tables[name], parquet.tables[name])
        assert csv.tables[name].dtypes.to_dict() == parquet.tables[name].dtypes.to_dict()


def test_csv_bad_row_is_quarantined_too(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["payments"] = with_values(tables["payments"], 1, amount_paid=-3.0)

    result = run(settings, write_tables(tmp_path / "csv", tables, fmt="csv"))

    assert result.reports["payments"].rules["amount_paid:ge"] == 1
    assert result.tables["payments"]["amount_paid"].tolist() == [58.0, 128.0, 0.0, 10.0]


STRUCTURAL = {
    "missing_table": ("contacts", "drop_table", None, "contacts: missing table"),
    "missing_column": ("bills", "drop_column", "amount", "missing required column(s) ['amount']"),
    "text_in_number": ("bills", "set", ("amount", ["58", "70.5", "abc", "130", "19"]), "row 2: 'abc'"),
    "fraction_in_integer": ("bills", "set", ("sms_count", [3.0, 0.5, 10.0, 1.0, 0.0]), "row 1: "),
    "time_in_date": ("bills", "set", ("bill_month", pd.to_datetime(["2024-01-01 10:00"] * 5)), "row 0:"),
    "number_in_bool": ("contacts", "set", ("resolved", [1, 0, 2, 1]), "row 2: "),
    "text_in_date": (
        "payments",
        "set",
        ("due_date", ["2024-02-15", "soon", "2024-02-15", "x", "2024-02-15"]),
        "row 1: 'soon'",
    ),
    "duplicate_key": ("bills", "set", ("bill_month", pd.to_datetime(["2024-01-01"] * 5)), "duplicate primary key"),
    "duplicate_contact_id": ("contacts", "set", ("contact_id", [101, 102, 101, 104]), "duplicate primary key"),
}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("table", "action", "arg", "message"), list(STRUCTURAL.values()), ids=list(STRUCTURAL))
def test_structural_problem_fails_fast_naming_table_column_rule(settings, tmp_path, fmt, table, action, arg, message):
    tables = valid_tables()
    if action == "drop_table":
        del tables[table]
    elif action == "drop_column":
        tables[table] = tables[table].drop(columns=[arg])
    else:
        column, values = arg
        tables[table] = tables[table].assign(**{column: values})
    data = write_tables(tmp_path / "raw", tables, fmt=fmt)

    with pytest.raises(ContractError) as caught:
        run(settings, data)

    assert caught.value.table == table
    assert message in str(caught.value)
    if action == "set":
        assert caught.value.column is not None and arg[0] in caught.value.column
        assert caught.value.rule in ("type", "primary_key")
    report = json.loads((data / "report.json").read_text())
    assert report["ok"] is False and table in report["error"]


def test_quarantined_share_over_limit_aborts_after_writing_everything(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = with_values(tables["contacts"], 0, channel="fax")  # 1 of 4 contacts = 25%
    limits = settings.validation.model_copy(
        update={"max_quarantined_share": 0.3, "max_quarantined_share_by_table": {"contacts": 0.2}}
    )

    with pytest.raises(
        QuarantineLimitError, match=r"contacts: 1 of 4 rows quarantined \(25.00%\), limit 20.00%"
    ) as caught:
        run(settings, write_tables(tmp_path / "raw", tables), limits)

    assert [r.table for r in caught.value.result.exceeded] == ["contacts"]
    report = json.loads((tmp_path / "raw" / "report.json").read_text())
    assert report["ok"] is False
    assert report["tables"]["contacts"]["exceeded"] is True
    assert report["tables"]["contacts"]["rules"]["channel:unmapped_value"]["rows"] == 1


def test_within_limit_passes_and_report_counts_every_rule(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = with_values(tables["contacts"], 0, channel="fax")
    limits = settings.validation.model_copy(update={"max_quarantined_share": 0.25})

    result = run(settings, write_tables(tmp_path / "raw", tables), limits)

    report = json.loads(result.report_file.read_text())
    assert report["ok"] is True
    assert report["tables"]["contacts"]["quarantined"] == 1
    assert report["tables"]["contacts"]["rules"]["channel:unmapped_value"] == {
        "rows": 1,
        "description": "channel in ['voice', 'chat', 'app', 'store', 'other', 'outbound'] "
        "(an export's own codes are mapped to these by the mapping's values)",
    }
    assert report["tables"]["contacts"]["unmapped_codes"] == {"channel": {"fax": 1}}
    assert report["tables"]["bills"]["rules"]["known_subscriber"]["rows"] == 0


def test_default_limit_of_one_percent_rejects_one_bad_row_in_five(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["bills"] = with_values(tables["bills"], 0, amount=-1.0)

    with pytest.raises(QuarantineLimitError, match="bills: 1 of 5"):
        run(settings, write_tables(tmp_path / "raw", tables), settings.validation)


def test_extra_columns_are_ignored_and_reported(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["bills"] = tables["bills"].assign(note="x")

    result = run(settings, write_tables(tmp_path / "raw", tables))

    assert "note" not in result.tables["bills"].columns
    assert result.reports["bills"].ignored_columns == ("note",)


@pytest.mark.parametrize(
    ("column", "stored", "expected"),
    [
        ("msisdn", [13800000001, 13900000002, 15000000003], ["13800000001", "13900000002", "15000000003"]),
        (
            "plan",
            pd.Categorical(["postpaid_58", "postpaid_128", "prepaid_19"]),
            ["postpaid_58", "postpaid_128", "prepaid_19"],
        ),
        ("birth_year", [1980.0, None, 1999.0], [1980, pd.NA, 1999]),
        (
            "activation_date",
            ["2023-01-15", "2023-06-01", "2024-01-05"],
            list(pd.to_datetime(["2023-01-15", "2023-06-01", "2024-01-05"])),
        ),
    ],
)
def test_parquet_columns_are_coerced_to_contract_types(tmp_path: Path, column, stored, expected) -> None:
    tables = valid_tables()
    tables["subscribers"] = tables["subscribers"].assign(**{column: stored})
    write_tables(tmp_path, tables)

    frame = read_table(tmp_path, load_contract("subscribers")).frame

    assert frame[column].tolist() == expected
    assert load_contract("subscribers").columns[column].dtype_matches(frame[column].dtype)


def test_generated_data_passes_with_nothing_quarantined_as_parquet_and_as_csv(settings, tmp_path: Path) -> None:
    from tiercast.synthetic import generate

    parquet_dir = generate(tmp_path / "gen", 400, 6, 3, settings.generator)["subscribers"].parent
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for table in TABLES:
        pd.read_parquet(parquet_dir / f"{table}.parquet").to_csv(csv_dir / f"{table}.csv", index=False)

    from_parquet = run(settings, parquet_dir, settings.validation)
    from_csv = run(settings, csv_dir, settings.validation)

    for table in TABLES:
        assert from_parquet.reports[table].quarantined == 0
        assert from_parquet.reports[table].rows_read > 0
        pd.testing.assert_frame_equal(from_csv.tables[table], from_parquet.tables[table])


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-01-15 00:00:00", pd.Timestamp("2024-01-15")),
        ("2024-01-15T00:00:00", pd.Timestamp("2024-01-15")),
        ("2024-01-15 08:30:00", "row 0: datetime.datetime(2024, 1, 15, 8, 30)"),
    ],
)
def test_csv_dates_written_with_a_time_must_be_midnight(tmp_path: Path, written: str, expected) -> None:
    tables = valid_tables()
    tables["subscribers"] = tables["subscribers"].assign(activation_date=[written, "2023-06-01", "2024-01-05"])
    (tmp_path / "subscribers.csv").write_text(tables["subscribers"].to_csv(index=False), encoding="utf-8-sig")

    if isinstance(expected, str):
        with pytest.raises(ContractError, match=r"subscribers\.activation_date: wrong type") as caught:
            read_table(tmp_path, load_contract("subscribers"))
        assert expected in str(caught.value)
    else:
        frame = read_table(tmp_path, load_contract("subscribers")).frame
        assert frame["activation_date"].tolist()[0] == expected


def test_quarantine_folder_may_not_be_the_data_folder(settings, tmp_path: Path) -> None:
    data = write_tables(tmp_path / "raw", valid_tables())

    with pytest.raises(ConfigurationError, match="would overwrite inputs"):
        validate_tables(data, settings.validation, data, tmp_path / "r.json")

    assert len(pd.read_parquet(data / "bills.parquet")) == 5


def test_a_failed_run_leaves_no_stale_quarantine_file(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = with_values(tables["contacts"], 0, channel="fax")
    run(settings, write_tables(tmp_path / "raw", tables))
    quarantine_dir = settings.paths.resolve(settings.paths.quarantine)
    assert (quarantine_dir / "contacts.parquet").is_file()

    tables["bills"] = tables["bills"].drop(columns=["amount"])
    with pytest.raises(ContractError):
        run(settings, write_tables(tmp_path / "raw", tables))

    assert (quarantine_dir / "subscribers.parquet").is_file()
    assert not (quarantine_dir / "contacts.parquet").exists()


@pytest.mark.parametrize(
    ("fmt", "damage"),
    [("csv", "truncated"), ("parquet", "truncated"), ("parquet", "garbage")],
)
def test_an_unreadable_file_names_table_and_file_and_the_report_says_not_ok(
    settings, tmp_path: Path, fmt: str, damage: str
) -> None:
    data = write_tables(tmp_path / "raw", valid_tables(), fmt=fmt)
    report_file = data / "report.json"
    report_file.write_text(json.dumps({"ok": True}))  # what the previous, good run left
    path = data / f"contacts.{fmt}"
    content = path.read_bytes()
    if damage == "truncated" and fmt == "csv":
        lines = content.decode().splitlines()
        path.write_text("\n".join([*lines[:2], lines[2][:9], *lines[3:]]) + "\n")  # a row cut short
    elif damage == "truncated":
        path.write_bytes(content[: len(content) // 2])
    else:
        path.write_bytes(b"not parquet at all" * 10)

    with pytest.raises(ContractError) as caught:
        run(settings, data)

    assert caught.value.table == "contacts" and caught.value.rule == "readable"
    assert str(path) in str(caught.value)
    report = json.loads(report_file.read_text())
    assert report["ok"] is False and str(path) in report["error"]


def test_a_header_only_table_stops_validation(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = tables["contacts"].iloc[:0]
    data = write_tables(tmp_path / "raw", tables, fmt="csv")

    with pytest.raises(ContractError, match=r"0 rows in .*contacts.csv, at least 1 expected") as caught:
        run(settings, data)

    assert (caught.value.table, caught.value.rule) == ("contacts", "min_rows")
    assert json.loads((data / "report.json").read_text())["ok"] is False


def test_a_table_that_lost_more_than_half_its_rows_since_the_last_run_stops(settings, tmp_path: Path) -> None:
    data = write_tables(tmp_path / "raw", valid_tables())
    common = (settings.validation, data / "q", data / "report.json")

    validate_tables(data, *common, previous_rows={"bills": 10, "contacts": 8})  # 5 of 10 bills, 4 of 8 contacts
    with pytest.raises(ContractError, match=r"5 rows in .*bills.parquet, the previous run read 11") as caught:
        validate_tables(data, *common, previous_rows={"bills": 11})

    assert caught.value.rule == "max_drop"
