"""Every command, run into each of its documented failures: the documented exit code, one clear line, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import flows.nightly
import flows.training
import pipelines.nightly
import pipelines.nightly_run
import pipelines.registry
import pipelines.training
from pipelines.publish_checks import GuardrailError
from pipelines.registry import RegistryError
from pipelines.run_lock import RunInProgressError
from pipelines.training import LeakageError
from tests.data_contracts.tables import valid_tables, with_values, write_tables
from tiercast.cli import app
from tiercast.errors import EXIT_CODES


def raises(error: Exception) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def data(tmp_path: Path, broken: str | None = None) -> Path:
    tables = valid_tables()
    if broken == "missing":
        del tables["payments"]
    elif broken == "quarantine":
        tables["bills"] = with_values(tables["bills"], 1, sms_count=-2)
    return write_tables(tmp_path / "in", tables)


# (command line, how to break it, expected code, words the last line must hold)
CASES: dict[str, tuple[list[str], str, int, str]] = {
    "validate-missing-table": (["validate", "--data", "{missing}"], "", 3, "payments: missing table"),
    "validate-over-limit": (["validate", "--data", "{quarantine}"], "", 4, "quarantine limit exceeded"),
    "validate-bad-mapping": (["validate", "--data", "{good}", "--mapping", "{mapping}"], "", 2, "unknown table"),
    "validate-quarantine-is-data": (["validate", "--data", "{good}", "--quarantine", "{good}"], "", 2, "overwrite"),
    "features-missing-table": (["features", "--data", "{missing}"], "", 3, "payments: missing table"),
    "features-over-limit": (["features", "--data", "{quarantine}"], "", 4, "quarantine limit exceeded"),
    "train-leakage": (["train", "--data", "{good}"], "leakage", 5, "almost equal to the label"),
    "train-missing-table": (["train", "--data", "{missing}"], "", 3, "payments: missing table"),
    "score-publish-no-champion": (["score-publish", "--data", "{good}"], "no-champion", 5, "no champion"),
    "score-publish-guardrail": (["score-publish", "--data", "{good}"], "guardrail", 6, "tier mix moved"),
    "model-rollback-nothing": (["model", "rollback"], "no-previous", 5, "no previous champion"),
    "route-empty-key": (["route", "13800000001"], "empty-key", 2, "is set but empty"),
    "run-nightly-busy": (["run", "nightly", "--data", "{good}"], "busy", 7, "in progress"),
    "run-training-leakage": (["run", "training", "--data", "{good}"], "training-leakage", 5, "almost equal"),
}


@pytest.mark.parametrize(("argv", "breakage", "code", "words"), list(CASES.values()), ids=list(CASES))
def test_each_failure_ends_with_its_code_and_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], breakage: str, code: int, words: str
) -> None:
    folders = {name: str(data(tmp_path / name, name)) for name in ("missing", "quarantine", "good")}
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("tables: {users: {file: a.csv}}")
    args = [a.format(mapping=mapping, **folders) for a in argv]
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "COLUMNS": "300"}
    patches = {
        "leakage": (pipelines.training, "train", LeakageError("feature(s) almost equal to the label: arpu_3m")),
        "training-leakage": (flows.training, "training", LeakageError("feature(s) almost equal to the label")),
        "no-champion": (pipelines.nightly, "resolve_model", RegistryError("tiercast-churn has no champion yet")),
        "guardrail": (pipelines.nightly_run, "run_nightly", GuardrailError("tier mix moved by 0.40 (limit 0.15)")),
        "no-previous": (pipelines.registry, "rollback", RegistryError("no previous champion to roll back to")),
        "busy": (flows.nightly, "nightly", RunInProgressError("another nightly run as of 2026-10-31 is in progress")),
    }
    if breakage in patches:
        module, name, error = patches[breakage]
        monkeypatch.setattr(module, name, raises(error))
    if breakage == "empty-key":
        env["TIERCAST_PRIVACY_KEY"] = ""

    result = CliRunner().invoke(app, args, env=env)

    assert result.exit_code == code, result.output
    assert code in EXIT_CODES
    assert "Traceback" not in result.output
    last_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(words in line for line in last_lines), result.stderr
