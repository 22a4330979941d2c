from pathlib import Path

import pyarrow.parquet as pq
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
