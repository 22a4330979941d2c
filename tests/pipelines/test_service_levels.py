"""The service-level report step: validated inputs, tiers from the published tier table, files written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.database import engine_for
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.publish import publish
from pipelines.service_levels import run
from tests.data_contracts.tables import subscribers, valid_tables, write_tables
from tests.pipelines.publish_db import retention_frame, tier_frame

START, END = date(2024, 2, 1), date(2024, 2, 10)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The tiny valid tables: in range, a late answered voice call of 1 and an abandoned complaint call of 3."""
    return write_tables(tmp_path / "raw", valid_tables())


def publish_tiers(settings, tiers: dict[int, str]) -> None:
    """Publish a tier table holding the given subscribers (keyed with the demo key) and tiers."""
    people = subscribers().set_index("subscriber_id").loc[list(tiers)]
    frame = tier_frame(len(tiers), date(2024, 2, 29), "run-1")
    frame["subscriber_key"] = subscriber_key(people["msisdn"].reset_index(drop=True), privacy_key(settings.privacy, {}))
    frame["tier"] = pd.Series(list(tiers.values()), dtype="str")
    engine = engine_for(settings)
    publish(engine, settings.publish, frame.sort_values("subscriber_key"), retention_frame(frame, rows=0))
    engine.dispose()


def test_callers_get_their_published_tier_and_the_files_are_written(
    settings, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    publish_tiers(settings, {1: "high", 3: "low"})
    report = run(settings, data, START, END, tmp_path / "out")
    period = report.kpis.period.set_index("tier")
    assert list(period.index) == ["high", "low", "unlisted", "all"]
    assert (period.loc["high", "offered"], period.loc["high", "service_level"]) == (1, 0.0)  # waited 30 s
    assert (period.loc["high", "asa_s"], period.loc["high", "aht_s"], period.loc["high", "fcr"]) == (30.0, 200.0, 1.0)
    assert (period.loc["low", "abandon_rate"], period.loc["low", "complaints"]) == (1.0, 1)
    assert period.loc["unlisted", "offered"] == 0  # subscriber 2 is not published and made no call in range
    assert "as of 2024-02-29 (2 subscribers)" in report.tiers_from
    assert "2 of 3 subscribers" in report.tiers_from
    assert set(report.files) == {"period", "daily", "hourly", "chart"}
    assert report.files["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pd.read_csv(report.files["hourly"])["tier"].tolist() == ["all", "high", "all", "low"]


def test_nothing_published_reports_all_only_and_says_so(settings, data: Path) -> None:
    report = run(settings, data, START, END)
    assert "no tier table published" in report.tiers_from
    assert report.kpis.period["tier"].tolist() == ["all"]
    assert report.files["chart"].parent == settings.paths.resolve(settings.paths.reports) / "service_levels"


def test_contacts_without_waits_name_the_kpis_and_draw_no_chart(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["contacts"] = tables["contacts"].drop(columns=["wait_seconds"])
    report = run(settings, write_tables(tmp_path / "raw", tables), START, END, tmp_path / "out")
    assert "no wait_seconds column" in report.kpis.unavailable["service_level"]
    assert "chart" not in report.files
    assert report.kpis.period.loc[0, "abandon_rate"] == 0.5


def test_a_range_ending_before_it_starts_is_refused(settings, data: Path) -> None:
    with pytest.raises(ValueError, match="before"):
        run(settings, data, END, START)
