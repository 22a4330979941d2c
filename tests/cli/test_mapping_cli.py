"""`tiercast mapping draft`: writes the draft, prints what was guessed and the next command, keeps an existing file."""

from __future__ import annotations

import re
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from tests.data_contracts.tables import valid_tables
from tests.pipelines.test_mapping import write_export
from tiercast import cli as root
from tiercast.cli import mapping
from tiercast.cli.exits import App


def mapping_app() -> typer.Typer:
    app = App()
    app.callback()(root._root)
    mapping.register(app)
    return app


def invoke(tmp_path: Path, *args: str):
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "COLUMNS": "200"}
    return CliRunner().invoke(mapping_app(), ["mapping", *args], env=env)


def test_draft_writes_the_mapping_and_prints_each_required_guess_the_question_marks_and_the_next_command(
    tmp_path: Path,
) -> None:
    """Given the GBK BOSS export whose contacts hold a channel code no keyword explains (短信, twice)."""
    contacts = valid_tables()["contacts"]
    contacts.loc[[0, 3], "channel"] = "短信"
    data = write_export(tmp_path / "export", contacts=contacts)
    out = tmp_path / "drafts" / "mapping.yaml"

    result = invoke(tmp_path, "draft", "--data", str(data), "--out", str(out))

    assert result.exit_code == 0, result.output
    draft = yaml.load(out.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert draft["tables"]["contacts"]["values"]["channel"] == {"短信": "?", "在线客服": "chat", "10086热线": "voice"}
    lines = result.output.splitlines()
    assert any(
        re.search(r"subscribers\s+│ 用户资料\.csv \(file name \+ content\)\s+│\s+0 │ subscriber_id", x) for x in lines
    )
    assert any(
        re.search(r"contacts\s+│ 接触记录\.csv \(file name \+ content\)\s+│\s+1 │ subscriber_id", x) for x in lines
    )
    assert any(re.search(r"│ msisdn\s+│ 手机号码\s+│ name \+ values\s+│", line) for line in lines)
    assert '1 "?" to fill' in result.output
    assert f"then run: tiercast validate --data {data} --mapping {out}" in result.output


def test_an_existing_out_is_kept_unless_force(tmp_path: Path) -> None:
    data = write_export(tmp_path / "export")
    out = tmp_path / "mapping.yaml"
    out.write_text("# a person's finished mapping\n", encoding="utf-8")

    kept = invoke(tmp_path, "draft", "--data", str(data), "--out", str(out))
    assert kept.exit_code == 2
    assert "pass --force to overwrite it" in kept.output
    assert out.read_text(encoding="utf-8") == "# a person's finished mapping\n"

    forced = invoke(tmp_path, "draft", "--data", str(data), "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert "no ? to fill" in forced.output
    assert yaml.load(out.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["encoding"] == "gbk"


def test_a_folder_without_csv_or_parquet_files_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    result = invoke(tmp_path, "draft", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "m.yaml"))

    assert result.exit_code == 2
    assert "no file tiercast reads in" in result.output and ".csv, .arrow, .txt" in result.output
    assert not (tmp_path / "m.yaml").exists()


def test_help_says_what_is_guessed_how_guesses_are_marked_and_what_comes_next(tmp_path: Path) -> None:
    result = invoke(tmp_path, "draft", "--help")

    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())
    for words in ("What is guessed", "# guess: <why>", "# needed: <what>", "--force", "tiercast validate --data DIR"):
        assert words in text, words


def test_the_mapping_commands_are_part_of_the_cli() -> None:
    assert "tiercast.cli.mapping" in root.COMMAND_MODULES
