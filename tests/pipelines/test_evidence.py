"""Validation evidence per run: a dated folder each, a `latest` pointer, old ones pruned."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.evidence import evidence_for, run_stamp
from pipelines.ingest import validate_inputs
from tests.data_contracts.tables import valid_tables, with_values, write_tables
from tiercast.settings import load_settings


def test_a_later_run_keeps_the_evidence_of_an_earlier_one(tmp_path: Path) -> None:
    """Saturday night quarantines a bill; Sunday's training validates again: Saturday's files are still there."""
    settings = load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path)})
    validation = settings.validation.model_copy(update={"max_quarantined_share": 1.0})
    settings = settings.model_copy(update={"validation": validation})
    tables = valid_tables()
    tables["bills"] = with_values(tables["bills"], 1, sms_count=-2)
    night = write_tables(tmp_path / "saturday", tables)
    sunday = write_tables(tmp_path / "sunday", valid_tables())

    first = validate_inputs(settings, night, kind="nightly-2026-10-31")
    second = validate_inputs(settings, sunday, kind="train")

    assert first.report_file != second.report_file
    assert json.loads(first.report_file.read_text())["tables"]["bills"]["quarantined"] == 1
    assert (first.reports["bills"].quarantine_files[0]).is_file()
    latest = settings.paths.resolve(settings.paths.reports) / "latest"
    assert latest.resolve() == second.report_file.parent.resolve()


def test_folders_older_than_keep_days_are_removed_when_a_run_starts(tmp_path: Path) -> None:
    settings = load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path)})
    now = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    old = evidence_for(settings, "nightly", now - timedelta(days=settings.validation.keep_days + 1))
    recent = evidence_for(settings, "nightly", now - timedelta(days=1))

    current = evidence_for(settings, "validate", now)

    assert not old.quarantine.exists() and not old.report.parent.exists()
    assert recent.quarantine.is_dir() and current.quarantine.is_dir()
    assert current.quarantine.name == run_stamp("validate", now) == "20261204T230000-validate"
