import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from tiercast.cli import app
from tiercast.cli import generate as command


def _app() -> typer.Typer:
    if not any(getattr(c, "name", None) == "generate" for c in app.registered_commands):
        command.register(app)
    return app


def test_generate_writes_the_tables_where_asked(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        ["generate", "--subscribers", "300", "--months", "3", "--seed", "1", "--out", str(tmp_path)],
        env={"TIERCAST__PATHS__ROOT": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert pq.ParquetFile(tmp_path / "bills.parquet").metadata.num_rows > 800
    assert (tmp_path / "_truth" / "churn_probability.parquet").is_file()


def test_generate_defaults_to_paths_raw_and_checks_the_end_month(tmp_path: Path) -> None:
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path)}
    ok = CliRunner().invoke(_app(), ["generate", "-n", "200", "-m", "2", "--end-month", "2024-02"], env=env)
    assert ok.exit_code == 0, ok.output
    bills = pq.read_table(tmp_path / "data" / "raw" / "bills.parquet").to_pandas()
    assert str(bills["bill_month"].max()) == "2024-02-01"
    bad = CliRunner().invoke(_app(), ["generate", "-n", "200", "-m", "2", "--end-month", "2024-13"], env=env)
    assert bad.exit_code != 0


def test_scenario_choices_are_the_generator_scenarios() -> None:
    from tiercast.synthetic.scenarios import SCENARIO_NAMES

    assert tuple(choice.value for choice in command.ScenarioChoice) == SCENARIO_NAMES


def test_broken_export_stays_zero_in_an_operator_export(tmp_path: Path) -> None:
    """crm-b carries one charge part, FEE_DATA (data_amount in fen): the export fault survives the renaming."""
    out = tmp_path / "crm-b"
    args = ["generate", "-n", "300", "-m", "3", "--seed", "1", "--out", str(out), "--export-style", "crm-b"]
    result = CliRunner().invoke(
        _app(), [*args, "--scenario", "broken_export"], env={"TIERCAST__PATHS__ROOT": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    assert "scenario broken_export (export fault): from 2026-10-01" in result.output
    bills = pd.read_csv(out / "BILL_MONTHLY.csv", encoding="gbk")
    fee_data = bills.groupby("BILL_CYCLE")["FEE_DATA"].max()
    assert fee_data[202610] == 0 and (fee_data[[202608, 202609]] > 0).all()
    record = json.loads((out / "_truth" / "scenarios.json").read_text())["scenarios"][0]
    assert (record["name"], record["start"], record["column"]) == ("broken_export", "2026-10-01", "data_amount")


def test_scenario_start_moves_the_scenario(tmp_path: Path) -> None:
    args = ["generate", "-n", "300", "-m", "3", "--seed", "1", "--out", str(tmp_path / "out")]
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path)}
    result = CliRunner().invoke(_app(), [*args, "--scenario", "price_rise", "--scenario-start", "2026-09"], env=env)
    assert result.exit_code == 0, result.output
    assert "scenario price_rise (concept drift): from 2026-09-01" in result.output
    record = json.loads((tmp_path / "out" / "_truth" / "scenarios.json").read_text())["scenarios"][0]
    assert (record["start"], record["first_bill_month"]) == ("2026-09-01", "2026-09-01")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenario-start", "2026-09"], "exactly one --scenario"),
        (["--scenario", "price_rise", "--scenario", "broken_export", "--scenario-start", "2026-09"], "exactly one"),
        (["--scenario", "price_rise", "--scenario-start", "2026-07"], "outside the generated window"),
        (["--scenario", "flood"], "flood"),
    ],
)
def test_generate_refuses_scenarios_it_cannot_place(tmp_path: Path, extra: list[str], message: str) -> None:
    args = ["generate", "-n", "300", "-m", "3", "--seed", "1", "--out", str(tmp_path / "out"), *extra]
    result = CliRunner().invoke(_app(), args, env={"TIERCAST__PATHS__ROOT": str(tmp_path)})
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
