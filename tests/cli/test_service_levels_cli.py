"""`tiercast service-levels`: the table, the KPIs it cannot compute and why, and where the files went."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.cli_app import app_with
from tests.data_contracts.tables import valid_tables, write_tables
from tests.pipelines.publish_db import sqlite_target
from tests.pipelines.test_service_levels import calls_of_1, publish_at
from tiercast.cli import service_levels

RANGE = ["--from", "2024-02-01", "--to", "2024-02-10"]


def invoke(settings, *args: str) -> str:
    result = CliRunner().invoke(app_with(settings, service_levels), ["service-levels", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_prints_the_table_and_where_the_chart_went(settings, tmp_path: Path) -> None:
    data = write_tables(tmp_path / "raw", valid_tables())
    output = invoke(settings, "--data", str(data), *RANGE, "--out", str(tmp_path / "out"))
    words = " ".join(output.split())  # the console wraps the long line where the path length puts the width
    assert "no tier table published" in words and "reporting 'all' only" in words
    assert "Inbound voice calls 2024-02-01 to 2024-02-10" in output
    assert "50.0%" in output  # abandoned: 1 of the 2 calls
    assert "Service level by hour of day" in output
    chart = tmp_path / "out" / "service_levels_2024-02-01_2024-02-10.png"
    assert chart.is_file()
    assert "wrote chart to" in output and chart.name in output.replace("\n", "")


def test_names_the_kpis_it_cannot_compute(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = tables["contacts"].drop(columns=["wait_seconds", "handle_seconds"])
    output = invoke(settings, "--data", str(write_tables(tmp_path / "raw", tables)), *RANGE)
    assert (
        "cannot compute service_level, asa_s, answered_within, below_target, hours_below_target: no wait_seconds"
        in output
    )
    assert "cannot compute aht_s: no handle_seconds column" in output
    assert "wrote chart" not in output


@pytest.mark.parametrize("args", [["--from", "2024-02-10", "--to", "2024-02-01"], ["--from", "2024-02-01"]])
def test_a_bad_range_is_a_usage_error(settings, args: list[str]) -> None:
    result = CliRunner().invoke(app_with(settings, service_levels), ["service-levels", *args])
    assert result.exit_code == 2


def test_help_explains_the_measures(settings) -> None:
    result = CliRunner().invoke(
        app_with(settings, service_levels), ["service-levels", "--help"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    for words in ("--from", "--to", "--data", "--mapping", "--out", "within", "first-contact resolution"):
        assert words in result.output


def test_prints_where_each_days_tiers_came_from(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given v1 live from 02-03 02:00 and v2 from 02-05 02:00 (local time), the range 02-01..02-10
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    with sqlite_target(tmp_path / "db") as target:
        publish_at(settings, target, {1: "mid", 3: "low"}, date(2024, 2, 2), "2024-02-02 18:00")
        publish_at(settings, target, {1: "high", 3: "low"}, date(2024, 2, 4), "2024-02-04 18:00")
        url = target.url.render_as_string(hide_password=False)
        data = write_tables(tmp_path / "raw", calls_of_1())
        output = invoke(settings, "--data", str(data), *RANGE, "--out", str(tmp_path / "out"), "--url", url)
    words = " ".join(output.split())
    assert "Tiers per day" in words
    # then consecutive days with the same sources share a line, and the switch day names both versions
    assert "2024-02-06..2024-02-10 │ 00:00-24:00 v2 (as of 2024-02-04): tier_table_v000002" in words
    assert "2024-02-05 │ 00:00-02:00 v1 (as of 2024-02-02): tier_table_v000001; 02:00-24:00 v2" in words
    assert "wrote tiers to" in words
