"""The service-level report step: validated inputs, tiers from the published tier table, files written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.database import engine_for, publications_table
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.publish import publish
from pipelines.service_levels import run
from pipelines.service_tiers import LOOKUP_KEYS, read_tiers, streamed
from tests.data_contracts.tables import subscribers, valid_tables, write_tables
from tests.pipelines.publish_db import retention_frame, sqlite_target, tier_frame

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
    # published after the calls (switched now): no version was live then, so the live table's tiers, said so
    assert "tiers of days without a kept version (2024-02-01..2024-02-10): from the live table v1" in report.tiers_from
    assert "as of 2024-02-29; 2 of 2 callers found in their table" in report.tiers_from
    assert set(report.files) == {"period", "daily", "hourly", "tiers", "chart"}
    assert report.files["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pd.read_csv(report.files["hourly"])["tier"].tolist() == ["all", "high", "all", "low"]


def test_nothing_published_reports_all_only_and_says_so(settings, data: Path) -> None:
    report = run(settings, data, START, END)
    assert "no tier table published" in report.tiers_from
    assert set(pd.read_csv(report.files["daily"])["tiers_from"]) == {"nothing published"}
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


# Switch history tests: a subscriber whose tier changed between two publications. Asia/Shanghai is UTC+8, so a
# switch at 18:00 UTC is 02:00 local the next day, when the nightly switches.
SUB_1_CALLS = ["2024-02-03 12:00", "2024-02-05 01:30", "2024-02-05 09:00", "2024-02-07 12:00"]


def calls_of_1() -> dict[str, pd.DataFrame]:
    """The tiny tables with four answered voice calls of subscriber 1 (waits 10 s) and the abandoned call of 3."""
    tables = valid_tables()
    n = len(SUB_1_CALLS)
    mine = pd.DataFrame(
        {
            "contact_id": range(201, 201 + n),
            "subscriber_id": [1] * n,
            "contact_time": pd.Series(pd.to_datetime(SUB_1_CALLS), dtype="datetime64[ms]"),
            "channel": "voice",
            "reason": "inquiry",
            "resolved": True,
            "wait_seconds": 10.0,
            "handle_seconds": 100.0,
            "abandoned": False,
            "agent_group": pd.Series(["standard"] * n, dtype="str"),
        }
    )
    contacts = tables["contacts"]
    tables["contacts"] = pd.concat([contacts[contacts["subscriber_id"] == 3], mine], ignore_index=True)
    return tables


def publish_at(settings, target, tiers: dict[int, str], as_of: date, switched_utc: str) -> int:
    """Publish `tiers` (subscriber_id -> tier) as of `as_of` on `target`, its switch recorded at `switched_utc`."""
    people = subscribers().set_index("subscriber_id").loc[list(tiers)]
    frame = tier_frame(len(tiers), as_of, f"run-{as_of}")
    frame["subscriber_key"] = subscriber_key(people["msisdn"].reset_index(drop=True), privacy_key(settings.privacy, {}))
    frame["tier"] = pd.Series(list(tiers.values()), dtype="str")
    rules = settings.publish.guardrails.model_copy(update={"max_tier_share_change": 1.0})  # tiny tables move a lot
    publishing = settings.publish.model_copy(update={"guardrails": rules})
    published = publish(target.engine, publishing, frame.sort_values("subscriber_key"), retention_frame(frame, 0))
    registry = publications_table(settings.publish, sa.MetaData())
    with target.engine.begin() as conn:
        stamp = datetime.fromisoformat(switched_utc).replace(tzinfo=UTC)
        conn.execute(registry.update().where(registry.c.version == published.version).values(published_at=stamp))
    return published.version


def test_each_call_counts_in_the_tier_live_when_it_was_made(
    settings, target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given subscriber 1 mid in v1 (as of 02-02, live from 02-03 02:00) and high in v2 (as of 02-04, live from
    # 02-05 02:00), subscriber 3 low in both; calls of 1 on 02-03 12:00, 02-05 01:30, 02-05 09:00, 02-07 12:00
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    publish_at(settings, target, {1: "mid", 2: "low", 3: "low"}, date(2024, 2, 2), "2024-02-02 18:00")
    publish_at(settings, target, {1: "high", 2: "low", 3: "low"}, date(2024, 2, 4), "2024-02-04 18:00")
    url = target.url.render_as_string(hide_password=False)
    report = run(settings, write_tables(tmp_path / "raw", calls_of_1()), START, END, tmp_path / "out", url)
    # then the two calls before the 02-05 02:00 switch are mid, the two after high (the live table says high)
    period = report.kpis.period.set_index("tier")
    assert period.loc[["high", "mid", "low"], "offered"].tolist() == [2, 2, 1]
    hourly = report.kpis.hourly
    on_5th = hourly[(hourly["day"] == "2024-02-05") & (hourly["tier"] != "all")]
    assert on_5th[["hour", "tier"]].values.tolist() == [[1, "mid"], [9, "high"]]
    # the complaint rate's base: subscriber 1 is mid on 02-04 (v1 served the day) and high on 02-06 (v2)
    daily = report.kpis.daily.set_index(["day", "tier"])["subscribers"]
    assert (daily[(pd.Timestamp("2024-02-04"), "mid")], daily[(pd.Timestamp("2024-02-06"), "high")]) == (1, 1)
    assert (pd.Timestamp("2024-02-06"), "mid") not in daily.index
    lines = pd.read_csv(report.files["daily"]).drop_duplicates("day").set_index("day")["tiers_from"]
    assert lines["2024-02-05"] == (
        "00:00-02:00 v1 (as of 2024-02-02): tier_table_v000001; 02:00-24:00 v2 (as of 2024-02-04): tier_table_v000002"
    )
    assert lines["2024-02-02"].endswith(
        "no version live: the live table v2 as of 2024-02-04 (before the first recorded switch)"
    )
    tiers = pd.read_csv(report.files["tiers"])
    assert tiers.loc[tiers["day"] == "2024-02-05", ["version", "contacts", "base"]].values.tolist() == [
        [1, 1, False],
        [2, 1, True],
    ]
    assert "(v1, v2)" in report.tiers_from
    assert "days without a kept version (2024-02-01..2024-02-03): from the live table v2 as of 2024-02-04" in (
        report.tiers_from
    )


def test_a_day_whose_version_was_dropped_takes_the_live_tiers_and_says_so(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three publications with two kept: v1 (1 mid, live from 02-03 02:00) is dropped, v2 (1 high, from
    # 02-05 02:00) kept, v3 (1 low, from 02-07 02:00) live
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    settings = settings.model_copy(update={"publish": settings.publish.model_copy(update={"keep_versions": 2})})
    with sqlite_target(tmp_path / "db") as target:
        publish_at(settings, target, {1: "mid", 3: "low"}, date(2024, 2, 2), "2024-02-02 18:00")
        publish_at(settings, target, {1: "high", 3: "low"}, date(2024, 2, 4), "2024-02-04 18:00")
        publish_at(settings, target, {1: "low", 3: "low"}, date(2024, 2, 6), "2024-02-06 18:00")
        url = target.url.render_as_string(hide_password=False)
        report = run(settings, write_tables(tmp_path / "raw", calls_of_1()), START, END, tmp_path / "out", url)
    # then 02-03's call (v1's) and 02-07's (v3's) are low, as the live v3 says; 02-05's two are mid (v1's table
    # gone: low) and high (v2)
    hourly = report.kpis.hourly
    tiers = hourly[hourly["tier"] != "all"].set_index(["day", "hour"])["tier"]
    assert tiers.loc[[(pd.Timestamp("2024-02-03"), 12), (pd.Timestamp("2024-02-05"), 1)]].tolist() == ["low", "low"]
    assert tiers.loc[[(pd.Timestamp("2024-02-05"), 9), (pd.Timestamp("2024-02-07"), 12)]].tolist() == ["high", "low"]
    lines = pd.read_csv(report.files["daily"]).drop_duplicates("day").set_index("day")["tiers_from"]
    assert lines["2024-02-04"] == (
        "00:00-24:00 v1 (as of 2024-02-02): the live table v3 as of 2024-02-06 (v1's table is no longer kept)"
    )
    assert "(v2, v3)" in report.tiers_from
    assert "without a kept version (2024-02-01..2024-02-05): from the live table v3 as of 2024-02-06" in (
        report.tiers_from
    )


def test_read_tiers_looks_up_the_keys_or_streams_the_table_with_the_same_tiers(tmp_path: Path) -> None:
    """Keys over STREAM_SHARE of the table's rows stream it; fewer are looked up; unknown rows use LOOKUP_KEYS."""
    assert (streamed(29, 100), streamed(31, 100)) == (False, True)  # STREAM_SHARE 0.3 of the registry's rows
    assert (streamed(LOOKUP_KEYS, None), streamed(LOOKUP_KEYS + 1, None)) == (False, True)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tiers.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (subscriber_key TEXT, tier TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES ('k1', 'high'), ('k2', 'mid'), ('k3', 'low'), ('k4', 'mid')")
    keys = pd.Index(["k4", "k9", "k1"])  # k9 is in no table
    with engine.connect() as conn:
        looked_up = read_tiers(conn, "t", keys, rows=100)
        whole = read_tiers(conn, "t", keys, rows=4)
    engine.dispose()
    expected = ["mid", None, "high"]
    assert [None if pd.isna(t) else t for t in looked_up] == [None if pd.isna(t) else t for t in whole] == expected
