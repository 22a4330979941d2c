"""The uplift champion's campaign history at scoring: read through the mapping, as of the night, or a clear fallback."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.campaign_history import HISTORY_COLUMNS, campaign_history
from models.retention import UpliftTargeting
from pipelines.mapping import load_mapping
from pipelines.run_summary import NightlySummary
from pipelines.score import build_outputs
from pipelines.uplift_inputs import (
    HISTORY_FILE,
    QUARANTINE_DIR,
    history_inputs,
    ranking_note,
    read_campaigns,
    stage_campaign_history,
    staged_history,
    staged_quarantine,
)
from tests.pipelines.test_mapping import write_export
from tests.pipelines.test_score import (
    AS_OF,
    KEY,
    SCORES,
    StubModel,
    features,
    register_champion,
    row,
    subscribers,
)
from tiercast.settings import with_mapping

EVE = date(2024, 2, 29)  # the night the export below is scored (its data ends in February 2024)

# An operator's campaign export (GBK, Chinese header, its own codes), one row per campaign member:
CAMPAIGNS_CSV = "外呼记录.csv"
CAMPAIGN_MAPPING = """\
  campaigns:
    file: 外呼记录.csv
    columns: {subscriber_id: 用户编号, campaign_date: 活动日期, desk: 坐席组, group: 分组, offer: 优惠,
              called_at: 外呼时间, outcome: 结果}
    dates: {campaign_date: "%Y%m%d"}
    values:
      group: {外呼组: treated, 对照组: control}
      offer: {话费折扣: discount, 流量包: data_bonus, 换机: device, 无: none}
      outcome: {接受: accepted, 拒绝: declined, 未接通: no_answer}
"""
RECORDS = [  # 用户编号, 活动日期, 坐席组, 分组, 优惠, 外呼时间, 结果
    ("U00000001", "20240101", "tariff", "外呼组", "话费折扣", "2024-01-05 10:00:00", "接受"),
    ("U00000001", "20240201", "tariff", "外呼组", "流量包", "2024-02-03 10:00:00", "拒绝"),
    ("U00000002", "20240201", "tariff", "对照组", "话费折扣", "", ""),
    ("U00000002", "20240101", "tariff", "外呼组", "无", "2024-01-06 10:00:00", "未接通"),
    ("U00000003", "20240301", "tariff", "外呼组", "话费折扣", "2024-03-02 10:00:00", "接受"),  # after the night
    ("U00000003", "20240115", "tariff", "对照组", "话费折扣", "2024-01-16 10:00:00", "接受"),  # control, called: bad
]


def operator_export(folder: Path, with_campaigns: bool = True) -> Path:
    """Write the BOSS-style export of tests/pipelines/test_mapping.py plus (optionally) its campaign records."""
    write_export(folder)
    if with_campaigns:
        columns = ["用户编号", "活动日期", "坐席组", "分组", "优惠", "外呼时间", "结果"]
        pd.DataFrame(RECORDS, columns=columns).to_csv(folder / CAMPAIGNS_CSV, index=False, encoding="gbk")
        with (folder / "mapping.yaml").open("a", encoding="utf-8") as handle:
            handle.write(CAMPAIGN_MAPPING)
    return folder


class Trained:
    """Stands in for an uplift model: only the features it was trained on."""

    def __init__(self, *names: str) -> None:
        self.feature_names_in_ = np.asarray(names, dtype=object)


@pytest.mark.parametrize(
    ("names", "needed"),
    [(("arpu_3m", "offer"), ()), (("arpu_3m", *HISTORY_COLUMNS, "offer"), HISTORY_COLUMNS)],
    ids=["without", "with"],
)
def test_a_model_needs_the_campaigns_table_when_it_was_trained_with_the_history(names, needed) -> None:
    assert history_inputs(Trained(*names)) == needed


def test_an_operator_export_is_read_through_its_mapping_and_counted_as_of_the_night(tmp_path: Path) -> None:
    """Given the records above: line 1 answered twice by the night (one accepted), line 2 did not answer, line 3's
    only answer is after the night and its control row with a call breaks the contract (left out)."""
    folder = operator_export(tmp_path / "export")

    campaigns = read_campaigns(folder, load_mapping(folder / "mapping.yaml"))
    assert campaigns is not None
    history = campaign_history(campaigns, np.array(["U00000001", "U00000002", "U00000003"]), EVE)

    assert len(campaigns) == 5
    assert campaigns["group"].tolist() == ["treated", "treated", "control", "treated", "treated"]
    assert campaigns["offer"].tolist() == ["discount", "data_bonus", "discount", "none", "discount"]
    assert history["retention_calls_answered"].tolist() == [2.0, 0.0, 0.0]
    assert history["retention_offers_accepted"].tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(history["retention_accept_share"].to_numpy(), [0.5, np.nan, np.nan])


def test_an_export_without_campaigns_reads_none(tmp_path: Path) -> None:
    folder = operator_export(tmp_path / "export", with_campaigns=False)

    assert read_campaigns(folder, load_mapping(folder / "mapping.yaml")) is None


class HistoryUplift:
    """An uplift model trained with the campaign history: 0.05 per offer accepted before (KeyError without it)."""

    feature_names_in_ = np.asarray(["arpu_3m", *HISTORY_COLUMNS, "offer"], dtype=object)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return 0.05 * x["retention_offers_accepted"].to_numpy(dtype="float64")


TARGETING = UpliftTargeting(HistoryUplift(), ("discount",), {"discount": 0.0})


def test_the_lists_rank_by_the_history_joined_as_of_the_night(settings: Any) -> None:
    """Given line 5 (arpu 40, worth 480 CNY if lost) accepted two offers before and no one else any: only line 5
    is worth a call, 0.1 x 480 = 48 CNY."""
    history = pd.DataFrame(
        {"subscriber_id": [5, 3], "retention_calls_answered": [2.0, 1.0], "retention_offers_accepted": [2.0, 0.0],
         "retention_accept_share": [1.0, 0.0]}
    )  # fmt: skip

    result = build_outputs(
        features(), subscribers(), StubModel(SCORES), "7", AS_OF, settings, KEY, targeting=TARGETING,
        campaign_history=history,
    )  # fmt: skip

    listed = result.retention.set_index("subscriber_key")
    assert result.ranking == "uplift"
    assert listed.index.tolist() == [row(result.tier_table, 5)["subscriber_key"]]
    assert listed["incremental_value"].tolist() == [48.0]


def test_without_the_history_a_model_trained_with_it_falls_back_to_churn_value_and_logs_why(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pipelines.uplift_inputs"):
        result = build_outputs(
            features(), subscribers(), StubModel(SCORES), "7", AS_OF, settings, KEY, targeting=TARGETING
        )

    assert (result.ranking, result.uplift_version) == ("churn_value", None)
    assert set(result.retention["ranking"]) == {"churn_value"}
    assert "has no `campaigns` table: ranked by churn x value tonight" in caplog.text


def test_a_shard_falls_back_without_repeating_the_warning_the_nightly_gave_once(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The nightly's staging warns once per run; each of its shards (50 at 10M lines) says it at debug level."""
    with caplog.at_level(logging.DEBUG, logger="pipelines.uplift_inputs"):
        result = build_outputs(
            features(), subscribers(), StubModel(SCORES), "7", AS_OF, settings, KEY, targeting=TARGETING,
            history_noted=True,
        )  # fmt: skip

    assert (result.ranking, result.uplift_version) == ("churn_value", None)
    notes = [r for r in caplog.records if "has no `campaigns` table" in r.getMessage()]
    assert [r.levelno for r in notes] == [logging.DEBUG]


def test_the_night_stages_the_champions_history_from_the_operator_export(settings: Any, tmp_path: Path) -> None:
    folder = operator_export(tmp_path / "export")
    mapped = with_mapping(settings, folder / "mapping.yaml")
    register_champion(settings, history=True)
    out = tmp_path / "inputs"
    out.mkdir()

    path = stage_campaign_history(mapped, folder, EVE, out)

    staged = staged_history(out)
    assert path == out / HISTORY_FILE and staged is not None
    by_line = staged.set_index("subscriber_id")
    assert by_line["retention_calls_answered"].to_dict() == {"U00000001": 2.0, "U00000002": 0.0, "U00000003": 0.0}
    assert by_line["retention_offers_accepted"].to_dict() == {"U00000001": 1.0, "U00000002": 0.0, "U00000003": 0.0}
    assert ranking_note(mapped, folder, "uplift") == ""


def test_a_champion_without_the_history_reads_no_campaigns(settings: Any, tmp_path: Path) -> None:
    """Given a champion trained without the history and a campaigns file that could not even be read."""
    folder = operator_export(tmp_path / "export")
    (folder / CAMPAIGNS_CSV).write_bytes(b"\xff\xfe not a csv")
    register_champion(settings, history=False)
    out = tmp_path / "inputs"
    out.mkdir()

    assert stage_campaign_history(with_mapping(settings, folder / "mapping.yaml"), folder, EVE, out) is None
    assert staged_history(out) is None


def test_without_the_campaigns_table_the_night_says_why_it_ranks_by_churn_value(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = operator_export(tmp_path / "export", with_campaigns=False)
    mapped = with_mapping(settings, folder / "mapping.yaml")
    version = register_champion(settings, history=True)
    out = tmp_path / "inputs"
    out.mkdir()

    with caplog.at_level(logging.WARNING, logger="pipelines.uplift_inputs"):
        assert stage_campaign_history(mapped, folder, EVE, out) is None
    note = ranking_note(mapped, folder, "churn_value")

    assert f"the uplift champion v{version} was trained with the campaign history" in note
    assert note in caplog.text
    summary = NightlySummary("2024-02-29", "r", "1", "run", 1, {}, {}, [0], {}, {}, {}, ranking_note=note)
    assert f"Ranked by churn probability x value at risk ({note})." in summary.to_markdown()


def test_the_records_left_out_are_quarantined_with_their_failed_rule(tmp_path: Path) -> None:
    """Given the operator export above: line 3's control row with a call time breaks the contract; it is the one
    row in the quarantine file, with its source row and rule, and the clean rows are the five above."""
    folder = operator_export(tmp_path / "export")

    campaigns = read_campaigns(
        folder, load_mapping(folder / "mapping.yaml"), quarantine_to=tmp_path / "staged" / QUARANTINE_DIR
    )
    left_out = staged_quarantine(tmp_path / "staged")

    assert campaigns is not None and len(campaigns) == 5
    assert left_out is not None
    rows = pd.read_parquet(left_out)
    assert len(rows) == 1
    assert rows["failed_rules"].tolist() == ["control_not_called"]
    assert staged_quarantine(tmp_path / "elsewhere") is None
