"""`tiercast generate --response-mix`: campaigns on with a named mix, an unknown mix refused."""

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import typer
from typer.testing import CliRunner

from tiercast.cli import app
from tiercast.cli import generate as command


def _app() -> typer.Typer:
    if not any(getattr(c, "name", None) == "generate" for c in app.registered_commands):
        command.register(app)
    return app


def test_response_mix_turns_campaigns_on(tmp_path: Path) -> None:
    args = ["generate", "-n", "400", "-m", "3", "-s", "2", "--out", str(tmp_path), "--response-mix", "proportional"]

    result = CliRunner().invoke(_app(), args, env={"TIERCAST__PATHS__ROOT": str(tmp_path)})

    assert result.exit_code == 0, result.output
    assert pq.ParquetFile(tmp_path / "campaigns.parquet").metadata.num_rows > 0
    assert b'"campaigns": "proportional"' in pq.read_schema(tmp_path / "bills.parquet").metadata[b"tiercast.generator"]
    assert pd.read_parquet(tmp_path / "_truth" / "campaign_members.parquet")["response_type"].isna().all()


def test_an_unknown_response_mix_is_refused_naming_the_mixes(tmp_path: Path) -> None:
    args = ["generate", "-n", "100", "-m", "2", "--out", str(tmp_path), "--response-mix", "gullible"]

    result = CliRunner().invoke(_app(), args, env={"TIERCAST__PATHS__ROOT": str(tmp_path)})

    assert result.exit_code != 0
    assert "few_persuadables" in result.output
    assert not (tmp_path / "bills.parquet").exists()
