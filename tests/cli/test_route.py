"""`tiercast route MSISDN`: the reference consumer's point lookup by subscriber_key on the published view."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.database import engine_for
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.publish import publish
from tests.cli.cli_app import publishing_app
from tests.pipelines.publish_db import msisdns, retention_frame, tier_frame


@pytest.fixture
def published(settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Publish 20 subscribers keyed with the demo key; return the CLI environment."""
    monkeypatch.delenv("TIERCAST_PRIVACY_KEY", raising=False)
    frame = tier_frame(20, date(2025, 6, 30), "run-1")
    frame["subscriber_key"] = subscriber_key(msisdns(20), privacy_key(settings.privacy, {}))
    frame.loc[3, "priority"] = 1
    frame.loc[3, "queue"] = "retention"
    frame.loc[3, "reason"] = "high tier in warning stage"
    engine = engine_for(settings)
    publish(engine, settings.publish, frame, retention_frame(frame))
    engine.dispose()
    return {"TIERCAST__PATHS__ROOT": str(tmp_path)}


@pytest.mark.parametrize("dialled", ["13800000003", "+86 138 0000 0003", "0086-138-0000-0003"])
def test_route_prints_the_callers_row(published: dict[str, str], dialled: str) -> None:
    result = CliRunner().invoke(publishing_app(), ["route", dialled], env=published)
    assert result.exit_code == 0, result.output
    assert "high tier in warning stage" in result.output
    assert "retention" in result.output
    assert "13800000003" not in result.output


def test_unknown_caller_exits_1(published: dict[str, str]) -> None:
    result = CliRunner().invoke(publishing_app(), ["route", "13999999999"], env=published)
    assert result.exit_code == 1
    assert "no row for this number" in result.output


def test_invalid_number_exits_2(published: dict[str, str]) -> None:
    result = CliRunner().invoke(publishing_app(), ["route", "12345"], env=published)
    assert result.exit_code == 2
    assert "not an 11-digit mobile number" in result.output


def test_nothing_published_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        publishing_app(), ["route", "13800000003"], env={"TIERCAST__PATHS__ROOT": str(tmp_path)}
    )
    assert result.exit_code == 1
    assert "cannot read the published tier table" in result.output
    assert "tiercast.db :: tier_table" in result.output.replace("\n", "")  # which database and view
    assert "tiercast publish list" in result.output
