"""The optional `campaigns` input table: read when the export has it, quarantined by its rules, never required."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.loader import load_contract
from pipelines.ingest import ValidationResult, validate_tables
from pipelines.mapping import load_mapping
from tests.data_contracts.tables import TABLES, valid_tables, with_values, write_tables


def _times(*values: str | None) -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype="datetime64[ms]")


def campaigns() -> pd.DataFrame:
    """0: treated, accepted; 1: control; 2: treated, no answer; 3: treated, not reached (no call)."""
    return pd.DataFrame(
        {
            "subscriber_id": [1, 3, 1, 3],
            "campaign_date": _times("2024-02-01", "2024-02-01", "2024-01-01", "2024-01-01"),
            "desk": ["tariff", "tariff", "product", "tariff"],
            "group": ["treated", "control", "treated", "treated"],
            "offer": ["discount", "discount", "none", "data_bonus"],
            "called_at": _times("2024-02-03 10:00", None, "2024-01-05 11:30", None),
            "outcome": ["accepted", None, "no_answer", None],
        }
    )


def run(settings, data: Path) -> ValidationResult:
    validation = settings.validation.model_copy(update={"max_quarantined_share": 1.0})
    return validate_tables(data, validation, settings.paths.resolve(settings.paths.quarantine), data / "report.json")


def test_an_export_without_campaigns_validates_as_before(settings, tmp_path: Path) -> None:
    result = run(settings, write_tables(tmp_path / "raw", valid_tables()))

    assert set(result.tables) == set(result.reports) == set(TABLES)


def test_campaign_records_are_read_in_contract_types(settings, tmp_path: Path) -> None:
    result = run(settings, write_tables(tmp_path / "raw", {**valid_tables(), "campaigns": campaigns()}))

    read = result.tables["campaigns"]
    assert result.reports["campaigns"].quarantined == 0
    assert read["group"].tolist() == ["treated", "control", "treated", "treated"]
    assert read["called_at"].dtype.kind == "M" and read["called_at"].isna().tolist() == [False, True, False, True]
    assert read["outcome"].isna().tolist() == [False, True, False, True]


@pytest.mark.parametrize(
    ("row", "changes", "rules"),
    [
        (1, {"group": "holdout"}, "group:unmapped_value"),
        (0, {"outcome": "maybe"}, "outcome:unmapped_value"),
        (0, {"offer": "free_phone"}, "offer:unmapped_value"),
        (0, {"subscriber_id": 99}, "known_subscriber"),
        (1, {"called_at": pd.Timestamp("2024-02-02 09:00")}, "control_not_called"),
        (0, {"outcome": None}, "control_not_called"),
        (0, {"called_at": pd.Timestamp("2024-01-31 23:00")}, "called_after_campaign_date"),
        (2, {"called_at": pd.Timestamp("2024-03-04 09:00")}, "called_after_campaign_date"),
        (
            0,
            {"campaign_date": pd.Timestamp("2024-06-01"), "called_at": pd.Timestamp("2024-06-01 10:00")},
            "future_dated",
        ),
    ],
    ids=["bad_group", "bad_outcome", "bad_offer", "unknown", "control_called", "no_outcome", "early", "late", "future"],
)
def test_a_bad_campaign_row_is_quarantined_with_its_rule(settings, tmp_path: Path, row, changes, rules) -> None:
    tables = {**valid_tables(), "campaigns": with_values(campaigns(), row, **changes)}

    result = run(settings, write_tables(tmp_path / "raw", tables))

    saved = pd.read_parquet(settings.paths.resolve(settings.paths.quarantine) / "campaigns.parquet")
    assert dict(zip(saved["source_row"], saved["failed_rules"], strict=True)) == {row: rules}
    assert len(result.tables["campaigns"]) == 3
    assert all(result.reports[name].quarantined == 0 for name in TABLES)


def test_a_mapping_may_name_the_campaigns_table_and_its_codes(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    text = "tables:\n  campaigns:\n    file: CAMPAIGN.csv\n    columns: {group: GRP}\n"
    path.write_text(text + "    values:\n      group: {外呼组: treated, 对照组: control}\n", encoding="utf-8")

    mapping = load_mapping(path)

    assert mapping.table("campaigns").codes == {"group": {"外呼组": "treated", "对照组": "control"}}


def test_a_mapping_naming_an_absent_campaigns_file_still_runs(settings, tmp_path: Path) -> None:
    data = write_tables(tmp_path / "raw", valid_tables())
    (tmp_path / "mapping.yaml").write_text("tables:\n  campaigns: {file: CAMPAIGN.csv}\n", encoding="utf-8")
    validation = settings.validation.model_copy(update={"max_quarantined_share": 1.0})

    result = validate_tables(
        data, validation, tmp_path / "q", data / "report.json", mapping=load_mapping(tmp_path / "mapping.yaml")
    )

    assert set(result.tables) == set(TABLES)


def test_the_contract_lists_the_columns_of_issue_14() -> None:
    contract = load_contract("campaigns")

    assert contract.column_names == ["subscriber_id", "campaign_date", "desk", "group", "offer", "called_at", "outcome"]
    assert contract.columns["group"].closed_values == ["treated", "control"]
    assert contract.columns["outcome"].closed_values == ["accepted", "declined", "no_answer"]
