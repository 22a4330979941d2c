"""Contract YAML -> Contract + pandera schema, and strict output validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from data_contracts.loader import ContractError, load_contract, validate_output
from tests.data_contracts.tables import valid_tables

INPUTS = ("subscribers", "bills", "payments", "contacts")
ALL_CONTRACTS = sorted(p.stem for p in (Path(__file__).parents[2] / "data_contracts").glob("*.yaml"))

OUTPUT_YAML = """
table: demo_output
primary_key: [subscriber_key]
strict: true
columns:
  subscriber_key: {type: string, nullable: false, unique: true, checks: {str_matches: '^[0-9a-f]{4}$'}}
  tier: {type: category, nullable: false, checks: {isin: [high, mid, low]}}
  priority: {type: int64, nullable: false, checks: {ge: 1}}
  churn_score: {type: float64, nullable: false, checks: {ge: 0, le: 1}}
  callback_hours: {type: float64, nullable: true, checks: {gt: 0}}
  is_red_list: {type: bool, nullable: false}
  as_of: {type: date, nullable: false}
"""


@pytest.fixture
def output_contract(tmp_path: Path) -> str:
    path = tmp_path / "demo_output.yaml"
    path.write_text(OUTPUT_YAML)
    return str(path)


def good_output() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subscriber_key": pd.Series(["00af", "01bc", "ffff"], dtype="str"),
            "tier": pd.Categorical(["high", "low", "mid"]),
            "priority": [1, 3, 2],
            "churn_score": [0.1, 0.9, 0.5],
            "callback_hours": [None, 24.0, None],
            "is_red_list": [True, False, False],
            "as_of": pd.to_datetime(["2024-03-31"] * 3),
        }
    )


@pytest.mark.parametrize("name", ALL_CONTRACTS)
def test_every_contract_in_the_repo_loads_with_a_schema(name: str) -> None:
    contract = load_contract(name)

    assert contract.table == name
    assert list(contract.schema.columns) == contract.column_names


@pytest.mark.parametrize("name", INPUTS)
def test_pandera_schema_accepts_the_hand_built_valid_tables(name: str) -> None:
    load_contract(name).schema.validate(valid_tables()[name])


@pytest.mark.parametrize(
    ("name", "column", "value", "check"),
    [
        ("bills", "amount", -1.0, "greater_than_or_equal_to(0)"),
        ("contacts", "channel", "fax", "isin"),
        ("subscribers", "msisdn", "123", "str_matches"),
        ("bills", "bill_month", pd.Timestamp("2024-01-15"), "bill_month_is_first_day"),
    ],
)
def test_pandera_schema_rejects_what_quarantine_rejects(name: str, column: str, value, check: str) -> None:
    frame = valid_tables()[name]
    frame.loc[0, column] = value

    with pytest.raises(pa.errors.SchemaErrors) as caught:
        load_contract(name).schema.validate(frame, lazy=True)

    assert caught.value.failure_cases["check"].astype(str).str.contains(check, regex=False).any()


def test_validate_output_returns_the_frame_in_contract_order(output_contract: str) -> None:
    shuffled = good_output()[::-1].iloc[:, ::-1]

    result = validate_output(shuffled, output_contract)

    assert list(result.columns) == list(good_output().columns)
    assert result["priority"].tolist() == [2, 3, 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop(columns=["tier"]), "missing ['tier']"),
        (lambda df: df.assign(extra=1), "unexpected ['extra']"),
        (lambda df: df.assign(priority=df["priority"].astype("float64")), "priority: expected int64, found float64"),
        (lambda df: df.assign(subscriber_key=df["subscriber_key"].astype(object)), "subscriber_key: expected string"),
        (lambda df: df.assign(tier=df["tier"].astype(str)), "tier: expected category"),
        (lambda df: df.assign(as_of=df["as_of"].dt.date), "as_of: expected date, found object"),
        (lambda df: df.assign(churn_score=[0.1, 1.5, 0.2]), "less_than_or_equal_to(1)"),
        (lambda df: df.assign(churn_score=[0.1, None, 0.2]), "not_nullable"),
        (lambda df: df.assign(tier=pd.Categorical(["high", "gold", "mid"])), "isin"),
        (lambda df: df.assign(subscriber_key=pd.Series(["00af", "00af", "ffff"], dtype="str")), "unique"),
        (lambda df: df.assign(callback_hours=[None, 0.0, None]), "greater_than(0)"),
    ],
)
def test_validate_output_rejects_anything_off_contract(output_contract: str, change, message: str) -> None:
    with pytest.raises(ContractError, match="demo_output") as caught:
        validate_output(change(good_output()), output_contract)

    assert message in str(caught.value)


def test_validate_output_passes_nulls_where_nullable(output_contract: str) -> None:
    assert validate_output(good_output(), output_contract)["callback_hours"].isna().sum() == 2


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("row_rules: [{name: no_such_rule}]", "row rule 'no_such_rule' is not defined"),
        ("row_rules: [{name: parts_within_amount, params: {tolrance: 1}}]", "bad params"),
        ("columns: {a: {type: int64, checks: {greater: 1}}}", "unknown check(s) ['greater']"),
        ("columns: {a: {type: integer}}", "columns.a.type"),
        ("columns: {a: {type: int64, nulable: true}}", "nulable"),
        ("columns: {a: {type: int64, description: one, two}}", "quote text that holds a comma"),
        ("primary_key: [b]", "primary_key names unknown column(s) ['b']"),
        ("columns: {a: {type: int64, nullable: true}}", "cannot be nullable"),
        ("references: [{columns: [c], table: x, to: [c]}]", "reference to x names unknown column(s) ['c']"),
    ],
)
def test_a_broken_contract_file_fails_loudly(tmp_path: Path, yaml_text: str, message: str) -> None:
    base = {"columns": "columns: {a: {type: int64}}", "primary_key": "primary_key: [a]"}
    key = yaml_text.split(":")[0]
    lines = ["table: broken", *[text for name, text in base.items() if name != key], yaml_text]
    path = tmp_path / "broken.yaml"
    path.write_text("\n".join(lines))

    with pytest.raises(ContractError) as caught:
        load_contract(str(path))

    assert message in str(caught.value)


def test_missing_contract_names_the_file() -> None:
    with pytest.raises(ContractError, match="no contract file"):
        load_contract("no_such_table")


@pytest.mark.parametrize("flags", [pd.Series([True, None, False], dtype="boolean"), pd.Series([True, True, False])])
def test_a_nullable_bool_may_be_numpy_or_pandas_boolean(tmp_path: Path, flags: pd.Series) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("table: flags\nprimary_key: [k]\ncolumns: {k: {type: int64}, f: {type: bool, nullable: true}}\n")

    result = validate_output(pd.DataFrame({"k": [1, 2, 3], "f": flags}), str(path))

    assert result["f"].tolist() == flags.tolist()


def test_a_wrong_dtype_message_says_how_to_fix_it(output_contract: str) -> None:
    frame = good_output().assign(subscriber_key=lambda df: df["subscriber_key"].astype(object))

    with pytest.raises(ContractError, match=r"subscriber_key: expected string, found object \(use \.astype\('str'\)\)"):
        validate_output(frame, output_contract)


def test_contract_errors_never_show_a_phone_number_in_clear() -> None:
    """The message reaches logs, reports, Prefect and the webhook: numbers masked, other digits kept."""
    error = ContractError(
        "subscribers",
        "duplicate msisdn: 2 values repeat, e.g. [15700089978, 13800000001]",
        "msisdn",
        "unique",
        examples="  row 7: '7,15700089978,20240101' id 86000000000000000012 key 3f13800000001a 2024-01-31",
    )

    text = str(error)
    assert "157****9978" in text and "138****0001" in text
    assert "15700089978" not in text and "13800000001," not in text
    assert "86000000000000000012" in text and "3f13800000001a" in text and "2024-01-31" in text
