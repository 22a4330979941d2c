"""`generate --export-style crm-b` with campaigns: RETAIN_CAMPAIGN.csv in the operator's codes, read back exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from pipelines.ingest import validate_tables
from pipelines.mapping import load_mapping
from tiercast.synthetic import generate
from tiercast.synthetic.export_styles import crm_b_ids, write_export


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, generator_settings) -> tuple[Path, Path]:
    """A small run with campaigns and its crm-b export."""
    canonical, export = tmp_path_factory.mktemp("canonical"), tmp_path_factory.mktemp("crm")
    settings = generator_settings.model_copy(update={"campaigns": generator_settings.campaigns.using("default")})
    generate(canonical, 800, 4, 3, settings)
    write_export(canonical, export, "crm-b")
    return canonical, export


def test_the_campaign_records_read_back_through_the_mapping(exported: tuple[Path, Path], settings) -> None:
    canonical, export = exported
    mapping = load_mapping(export / "mapping.yaml")
    validation = settings.validation.model_copy(update={"max_quarantined_share": 1.0})

    result = validate_tables(export, validation, export / "quarantine", export / "report.json", mapping=mapping)

    want = pd.read_parquet(canonical / "campaigns.parquet")
    got = result.tables["campaigns"]
    assert result.reports["campaigns"].quarantined == 0
    assert got["subscriber_id"].tolist() == crm_b_ids(pa.array(want["subscriber_id"])).to_pylist()
    for column in ("desk", "group", "offer", "outcome"):
        assert got[column].tolist() == want[column].tolist(), column
    assert (got["called_at"].to_numpy() == want["called_at"].to_numpy()).sum() == want["called_at"].notna().sum()
    assert (got["campaign_date"].dt.date == want["campaign_date"]).all()


def test_the_export_writes_the_operator_s_codes(exported: tuple[Path, Path]) -> None:
    raw = pd.read_csv(exported[1] / "RETAIN_CAMPAIGN.csv", encoding="gbk", dtype=str)

    assert set(raw["GROUP_TYPE"]) == {"外呼组", "对照组"}
    assert raw.loc[raw["GROUP_TYPE"] == "对照组", ["CALL_TIME", "CALL_RESULT"]].isna().all().all()


def test_an_export_of_a_run_without_campaigns_drops_an_earlier_campaign_file(
    exported: tuple[Path, Path], tmp_path: Path, generator_settings
) -> None:
    export = tmp_path / "crm"
    shutil.copytree(exported[1], export)
    generate(tmp_path / "plain", 300, 2, 1, generator_settings)

    write_export(tmp_path / "plain", export, "crm-b")

    assert not (export / "RETAIN_CAMPAIGN.csv").exists()
    assert not (export / "_truth" / "campaign_members.parquet").exists()
    assert "campaigns" not in load_mapping(export / "mapping.yaml").tables
