"""`tiercast service-levels`: the table, the KPIs it cannot compute and why, and where the files went."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.cli_app import app_with
from tests.data_contracts.tables import valid_tables, write_tables
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
