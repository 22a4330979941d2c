"""`tiercast validate`: exit codes 0 / 3 (structural) / 4 (over the quarantine limit), summary and files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.data_contracts.tables import valid_tables, with_values, write_tables
from tiercast import cli as root
from tiercast.cli import validate
from tiercast.cli.exits import App


def validate_app() -> typer.Typer:
    app = App()
    app.callback()(root._root)
    validate.register(app)
    return app


def invoke(tmp_path: Path, *args: str):
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "COLUMNS": "200"}
    return CliRunner().invoke(validate_app(), ["validate", *args], env=env)


def test_clean_data_in_the_default_folder_exits_0_and_writes_the_report(tmp_path: Path) -> None:
    write_tables(tmp_path / "data" / "raw", valid_tables())

    result = invoke(tmp_path)

    assert result.exit_code == 0, result.output
    assert "nothing quarantined" in result.output
    report = json.loads((tmp_path / "data" / "reports" / "latest" / "validation.json").read_text())
    assert report["ok"] is True
    assert report["tables"]["bills"]["clean"] == 5
    assert (tmp_path / "data" / "quarantine" / "latest" / "bills.parquet").is_file()
    (run_folder,) = [p.name for p in (tmp_path / "data" / "quarantine").iterdir() if p.name != "latest"]
    assert run_folder.endswith("-validate")


def test_too_many_quarantined_rows_exit_4_naming_table_and_limit(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["bills"] = with_values(tables["bills"], 1, sms_count=-2)
    data = write_tables(tmp_path / "in", tables)

    result = invoke(
        tmp_path, "--data", str(data), "--quarantine", str(tmp_path / "q"), "--report", str(tmp_path / "r.json")
    )

    assert result.exit_code == 4, result.output
    assert "bills: 1 of 5 rows quarantined (20.00%), limit 1.00%" in result.output
    assert "sms_count:ge" in result.output
    assert "payments: 1 of 5" in result.output  # the payment of the quarantined bill (known_bill)
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is False
    assert len((tmp_path / "q" / "bills.csv").read_text().splitlines()) == 2


def test_a_missing_table_exits_3_with_its_name(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["payments"]

    result = invoke(tmp_path, "--data", str(write_tables(tmp_path / "in", tables)))

    assert result.exit_code == 3
    assert "payments: missing table" in result.output
