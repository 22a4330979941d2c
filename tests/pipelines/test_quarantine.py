"""Splitting one table into clean and quarantined rows: rule labels, nulls, unique columns, dtypes, files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.loader import ContractError, load_contract
from pipelines.quarantine import check_primary_key, split, write_quarantine
from tests.data_contracts.tables import contacts, subscribers, with_values

PARENTS = {"subscribers": subscribers()}


def test_a_row_failing_several_rules_lists_them_all_in_contract_order() -> None:
    table = with_values(contacts(), 1, wait_seconds=-1.0, abandoned=True, subscriber_id=9)

    parts = split(table, load_contract("contacts"), PARENTS)

    assert parts.quarantined[["source_row", "failed_rules"]].values.tolist() == [
        [1, "wait_seconds:ge;known_subscriber;abandoned_only_on_voice"]
    ]
    assert {k: v for k, v in parts.rule_counts.items() if v} == {
        "wait_seconds:ge": 1,
        "known_subscriber": 1,
        "abandoned_only_on_voice": 1,
    }
    assert parts.clean["contact_id"].tolist() == [101, 103, 104]


def test_a_missing_required_value_is_reported_under_not_null_only() -> None:
    table = with_values(contacts(), 1, channel=None, abandoned=True)  # the rule on channel would fail too

    parts = split(table, load_contract("contacts"), PARENTS)

    assert parts.quarantined["failed_rules"].tolist() == ["channel:not_null"]


def test_clean_rows_get_numpy_dtypes_back_after_nulls_are_quarantined() -> None:
    table = with_values(contacts(), 0, subscriber_id=None, resolved=None)
    assert table["subscriber_id"].dtype == "Int64"

    parts = split(table, load_contract("contacts"), PARENTS)

    assert parts.quarantined["failed_rules"].tolist() == ["subscriber_id:not_null;resolved:not_null"]
    assert parts.clean["subscriber_id"].dtype == "int64"
    assert parts.clean["resolved"].dtype == "bool"
    assert parts.clean.index.tolist() == [0, 1, 2]


def test_every_row_sharing_a_unique_value_is_quarantined() -> None:
    table = with_values(subscribers(), 2, msisdn="13800000001")

    parts = split(table, load_contract("subscribers"), {})

    assert parts.quarantined[["source_row", "failed_rules"]].values.tolist() == [
        [0, "msisdn:unique"],
        [2, "msisdn:unique"],
    ]
    assert parts.clean["subscriber_id"].tolist() == [2]


def test_nothing_is_dropped_silently() -> None:
    table = with_values(with_values(contacts(), 0, channel="fax"), 2, reason=None)

    parts = split(table, load_contract("contacts"), PARENTS)

    assert len(parts.clean) + len(parts.quarantined) == len(table)
    assert sorted(parts.quarantined["source_row"]) == [0, 2]


def test_duplicate_key_is_structural_but_null_keys_are_not() -> None:
    contract = load_contract("contacts")
    with pytest.raises(ContractError, match=r"duplicate primary key \['contact_id'\]: 2 rows") as caught:
        check_primary_key(contacts().assign(contact_id=[101, 102, 102, 104]), contract)
    assert caught.value.rule == "primary_key"
    assert "102" in str(caught.value)

    nulls = pd.array([None, None, 103, 104], dtype="Int64")
    check_primary_key(contacts().assign(contact_id=nulls), contract)


def test_a_duplicate_key_across_a_tables_files_names_each_rows_file() -> None:
    """Given contacts read from two files of two rows each, contact 102 in both."""
    contract = load_contract("contacts")
    files = (("contacts_01.csv", 2), ("contacts_02.csv", 2))
    with pytest.raises(ContractError) as caught:
        check_primary_key(contacts().assign(contact_id=[101, 102, 102, 104]), contract, files=files)
    shown = str(caught.value)
    assert "row 1 of contacts_01.csv" in shown and "row 0 of contacts_02.csv" in shown


def test_an_empty_quarantine_is_still_written_with_its_columns(tmp_path: Path) -> None:
    parts = split(contacts(), load_contract("contacts"), PARENTS)

    paths = write_quarantine(parts.quarantined, tmp_path, "contacts", csv=True)

    assert [p.name for p in paths] == ["contacts.parquet", "contacts.csv"]
    saved = pd.read_parquet(paths[0])
    assert len(saved) == 0
    assert list(saved.columns) == ["source_row", *contacts().columns, "failed_rules"]


def test_quarantine_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Quarantined rows are input rows, phone numbers included."""
    frame = pd.DataFrame({"msisdn": ["13800000001"], "failed_rules": ["msisdn:unique"]})

    paths = write_quarantine(frame, tmp_path / "quarantine", "subscribers", csv=True)

    assert [oct(p.stat().st_mode & 0o777) for p in paths] == ["0o600", "0o600"]
    assert oct((tmp_path / "quarantine").stat().st_mode & 0o777) == "0o700"
