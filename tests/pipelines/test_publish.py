"""The publisher on SQLite and PostgreSQL: versions, switch, guardrails, failures, rollback, idempotency, quoting."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

import pipelines.publish as publisher
from pipelines.publish import PublishError, live_publication, publications, publish, rollback
from pipelines.publish_checks import GuardrailError
from tests.pipelines.publish_db import (
    Target,
    msisdn_leaks,
    publish_settings,
    read_view,
    retention_frame,
    table_names,
    tier_frame,
)

D1, D2, D3 = date(2025, 6, 28), date(2025, 6, 29), date(2025, 6, 30)


def publish_day(target: Target, day: date, n: int = 200, **kwargs: object) -> publisher.Publication:
    frame = tier_frame(n, day, f"{day:%Y%m%d}-m1", **kwargs)  # type: ignore[arg-type]
    return publish(target.engine, publish_settings(), frame, retention_frame(frame))


def retention_rows(target: Target, day: date) -> pd.DataFrame:
    with target.engine.connect() as conn:
        query = sa.text("SELECT * FROM retention_list WHERE as_of = :d ORDER BY desk, rank")
        return pd.read_sql(query, conn, params={"d": day})


def test_publish_points_the_view_at_a_complete_new_version(target: Target) -> None:
    first = publish_day(target, D1)
    second = publish_day(target, D2, n=210)
    view = read_view(target.engine)
    assert len(view) == 210
    assert set(view["run_id"]) == {"20250629-m1"}
    assert (first.version, second.version, second.status) == (1, 2, "live")
    assert second.tier_mix == {"high": 0.1, "low": 0.6, "mid": 0.3}
    assert [p.status for p in publications(target.engine, publish_settings())] == ["live", "retained"]
    assert table_names(target.engine) == ["publications", "retention_list", "tier_table_v000001", "tier_table_v000002"]


def test_published_values_round_trip_exactly(target: Target) -> None:
    frame = tier_frame(50, D1, "run-x")
    publish(target.engine, publish_settings(), frame, retention_frame(frame))
    view = read_view(target.engine)
    expected = frame.sort_values("subscriber_key").reset_index(drop=True)
    assert view["subscriber_key"].tolist() == expected["subscriber_key"].tolist()
    assert view["churn_score"].tolist() == expected["churn_score"].tolist()
    assert view["callback_hours"].isna().tolist() == expected["callback_hours"].isna().tolist()
    assert view["is_red_list"].astype(bool).tolist() == expected["is_red_list"].tolist()
    assert pd.to_datetime(view["as_of"]).dt.date.unique().tolist() == [D1]


def test_only_the_newest_versions_are_kept(target: Target) -> None:
    for day in range(1, 6):
        publish_day(target, date(2025, 6, day))
    statuses = [(p.version, p.status) for p in publications(target.engine, publish_settings())]
    assert statuses == [(5, "live"), (4, "retained"), (3, "retained"), (2, "dropped"), (1, "dropped")]
    assert [t for t in table_names(target.engine) if t.startswith("tier_table_v")] == [
        "tier_table_v000003", "tier_table_v000004", "tier_table_v000005"
    ]  # fmt: skip


def test_a_view_with_other_columns_left_by_an_older_release_is_replaced(target: Target) -> None:
    with target.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE legacy_tiers (subscriber_key varchar(64), tier varchar(8))")
        conn.exec_driver_sql("CREATE VIEW tier_table AS SELECT tier, subscriber_key FROM legacy_tiers")
    publish_day(target, D1, n=30)
    view = read_view(target.engine)
    assert list(view.columns) == list(tier_frame(1, D1, "x").columns)
    assert len(view) == 30 and set(view["run_id"]) == {"20250628-m1"}


def test_republishing_the_same_as_of_gives_identical_content(target: Target) -> None:
    publish_day(target, D1)
    first_view, first_list = read_view(target.engine), retention_rows(target, D1)
    publish_day(target, D2)
    again = tier_frame(200, D1, f"{D1:%Y%m%d}-m1")  # D1 again after D2: an older day, so on purpose
    guardrails = {**publish_settings().guardrails.model_dump(), "allow_older_as_of": True}
    publish(target.engine, publish_settings(guardrails=guardrails), again, retention_frame(again))
    assert read_view(target.engine).equals(first_view)
    assert retention_rows(target, D1).equals(first_list)
    assert len(first_list) == 5
    assert len(retention_rows(target, D2)) == 5


def assert_previous_still_live(target: Target, version: int, rows: int) -> None:
    live = live_publication(target.engine, publish_settings())
    assert live is not None and live.version == version
    assert len(read_view(target.engine)) == rows
    assert [t for t in table_names(target.engine) if t.startswith("tier_table_v")] == [f"tier_table_v{version:06d}"]


@pytest.mark.parametrize(
    ("n", "mix", "message"),
    [
        (170, (0.1, 0.3, 0.6), r"170 rows is 85\.0% of live v1 \(200 rows\)"),
        (400, (0.1, 0.3, 0.6), r"400 rows is 200\.0% of live v1"),
        (200, (0.2, 0.3, 0.5), r"tier 'high' share moved from 10\.0% \(live v1\) to 20\.0%"),
    ],
)
def test_guardrail_breach_keeps_previous_live_and_leaves_nothing(
    target: Target, n: int, mix: tuple[float, float, float], message: str
) -> None:
    publish_day(target, D1)
    with pytest.raises(GuardrailError, match=message):
        publish_day(target, D2, n=n, mix=mix)
    assert_previous_still_live(target, 1, 200)
    failed = publications(target.engine, publish_settings())[0]
    assert (failed.version, failed.status) == (2, "rejected")
    assert retention_rows(target, D2).empty


def test_an_older_date_than_the_live_one_is_refused_unless_asked_for(target: Target) -> None:
    """A stale export or a backfill run as of an earlier day must not replace the newer table the routing service
    reads; a rerun of the live day is not older, and allow_older_as_of publishes the older day on purpose."""
    publish_day(target, D2)
    with pytest.raises(GuardrailError, match=r"as of 2025-06-28, older than live v1 \(as of 2025-06-29\)"):
        publish_day(target, D1)
    assert_previous_still_live(target, 1, 200)
    assert publications(target.engine, publish_settings())[0].status == "rejected"
    assert retention_rows(target, D1).empty

    assert publish_day(target, D2).status == "live"  # the same day again
    older = tier_frame(200, D1, "20250628-m1")
    guardrails = {**publish_settings().guardrails.model_dump(), "allow_older_as_of": True}
    published = publish(target.engine, publish_settings(guardrails=guardrails), older, retention_frame(older))
    assert (published.as_of, published.status) == (D1, "live")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("churn_score", np.nan, r"failed contract checks:(.|\n)*churn_score +not_nullable +1"),
        ("churn_score", 1.5, r"failed contract checks:(.|\n)*churn_score +less_than_or_equal_to\(1\) +1"),
        ("subscriber_key", "13800138000", r"failed contract checks:(.|\n)*subscriber_key +str_matches"),
        ("tier", "platinum", r"failed contract checks:(.|\n)*tier +isin"),
    ],
)
def test_invalid_scores_or_contract_breaches_are_refused(target: Target, column: str, value: Any, message: str) -> None:
    publish_day(target, D1)
    frame = tier_frame(200, D2, "run-2")
    frame.loc[3, column] = value
    with pytest.raises(GuardrailError, match=message):
        publish(target.engine, publish_settings(), frame, retention_frame(frame))
    assert_previous_still_live(target, 1, 200)


def test_a_retention_list_from_another_run_is_refused(target: Target) -> None:
    publish_day(target, D1)
    frame = tier_frame(200, D2, "run-2")
    with pytest.raises(GuardrailError, match="retention list is not from the same run"):
        publish(target.engine, publish_settings(), frame, retention_frame(tier_frame(200, D1, "run-1")))
    assert_previous_still_live(target, 1, 200)


def test_scores_are_checked_again_in_the_rows_sent(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    publish_day(target, D1)
    monkeypatch.setattr(publisher, "check_contract", lambda frame, name: None)
    frame = tier_frame(200, D2, "run-2")
    frame.loc[7, "churn_score"] = 2.0
    with pytest.raises(GuardrailError, match="1 churn scores are missing, NaN or outside"):
        publish(target.engine, publish_settings(), frame, retention_frame(frame))
    assert_previous_still_live(target, 1, 200)


@pytest.mark.parametrize("stage", ["check_guardrails", "point_view"])
def test_failure_after_build_before_switch_keeps_previous_live(
    target: Target, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    publish_day(target, D1)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(publisher, stage, boom)
    with pytest.raises(RuntimeError, match="injected failure"):
        publish_day(target, D2)
    assert_previous_still_live(target, 1, 200)
    assert retention_rows(target, D2).empty
    assert len(retention_rows(target, D1)) == 5
    assert publications(target.engine, publish_settings())[0].status == "failed"


def test_a_table_left_by_a_crashed_run_is_dropped_by_the_next(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    publish_day(target, D1)
    # given a run killed after building its table (its clean-up never ran)
    monkeypatch.setattr(publisher, "_drop_table", lambda *a: None)
    monkeypatch.setattr(publisher, "check_guardrails", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        publish_day(target, D2)
    assert "tier_table_v000002" in table_names(target.engine)
    monkeypatch.undo()
    publish_day(target, D3)
    assert [p.status for p in publications(target.engine, publish_settings())] == ["live", "failed", "retained"]
    assert "tier_table_v000002" not in table_names(target.engine)


def test_rollback_switches_back_and_can_go_forward_again(target: Target) -> None:
    settings = publish_settings()
    with pytest.raises(PublishError, match="nothing is published yet"):
        rollback(target.engine, settings)
    publish_day(target, D1)
    with pytest.raises(PublishError, match="no kept version to roll back to"):
        rollback(target.engine, settings)
    publish_day(target, D2)
    back = rollback(target.engine, settings)
    assert (back.version, back.status) == (1, "live")
    assert set(read_view(target.engine)["run_id"]) == {"20250628-m1"}
    assert [p.status for p in publications(target.engine, settings)] == ["rolled_back", "live"]
    forward = rollback(target.engine, settings, to_version=2)
    assert forward.version == 2
    assert set(read_view(target.engine)["run_id"]) == {"20250629-m1"}


def test_rollback_to_a_version_with_other_columns_is_refused_and_the_live_one_stays(target: Target) -> None:
    publish_day(target, D1)
    publish_day(target, D2)
    with target.engine.begin() as conn:  # as if v1 had been published by a release without model_version
        conn.exec_driver_sql("ALTER TABLE tier_table_v000001 DROP COLUMN model_version")
    with pytest.raises(PublishError, match=r"v1 .*other tier-table columns.*'model_version'.*v2 stays live"):
        rollback(target.engine, publish_settings())
    assert set(read_view(target.engine)["run_id"]) == {"20250629-m1"}
    assert [p.status for p in publications(target.engine, publish_settings())] == ["live", "retained"]


HOSTILE = 'tier_table"; DROP TABLE x; --'


def test_hostile_table_name_setting_is_rejected() -> None:
    with pytest.raises(ValidationError, match="tier_view"):
        publish_settings(tier_view=HOSTILE)
    with pytest.raises(ValidationError, match="retention_table"):
        publish_settings(retention_table="r; DELETE FROM publications")


def test_hostile_names_and_values_are_quoted_and_bound(target: Target) -> None:
    with target.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE x (a INTEGER)")
    # bypass validation to show the SQL layer quotes identifiers on its own
    settings = publish_settings().model_copy(update={"tier_view": HOSTILE})
    hostile_value = "m1'); DROP TABLE x; --"
    frame = tier_frame(20, D1, "run'1", model_version=hostile_value)
    frame["reason"] = 'black list: "always" last; DROP VIEW tier_table; --'
    publish(target.engine, settings, frame, retention_frame(frame))
    assert "x" in table_names(target.engine)
    view = read_view(target.engine, HOSTILE)
    assert set(view["model_version"]) == {hostile_value}
    assert set(view["reason"]) == {'black list: "always" last; DROP VIEW tier_table; --'}
    assert set(view["run_id"]) == {"run'1"}


def test_no_msisdn_anywhere_in_the_database(target: Target) -> None:
    publish_day(target, D1)
    publish_day(target, D2)
    assert msisdn_leaks(target.engine) == []


def test_the_leak_scanner_finds_a_planted_number(target: Target) -> None:
    publish_day(target, D1)
    with target.engine.begin() as conn:
        conn.execute(sa.text("UPDATE publications SET message = :m"), {"m": "caller 13800138000 said"})
    assert msisdn_leaks(target.engine) == ["13800138000"]


def callback_frame(tier_table: pd.DataFrame, rows: int = 3) -> pd.DataFrame:
    """Return a contract-valid call-back list from the first rows of a tier table (missed calls at 08:05:30 + i h)."""
    head = tier_table.head(rows)
    missed = head["as_of"] + pd.to_timedelta(8.0 + np.arange(len(head)), unit="h") + pd.Timedelta(seconds=330)
    frame = pd.DataFrame(
        {
            "run_date": head["as_of"] + pd.Timedelta(days=1),
            "desk": "callback",
            "rank": np.arange(1, len(head) + 1, dtype="int64"),
            "subscriber_key": head["subscriber_key"],
            "tier": head["tier"],
            "missed_at": missed,
            "due_by": missed + pd.Timedelta(hours=24),
            "wait_seconds": [45.5, None, 12.0][: len(head)],
            "as_of": head["as_of"],
            "run_id": head["run_id"],
        }
    )
    return frame.astype({"desk": "str"}).reset_index(drop=True)


def callback_rows(target: Target, day: date) -> pd.DataFrame:
    with target.engine.connect() as conn:
        query = sa.text("SELECT * FROM callback_list WHERE as_of = :d ORDER BY rank")
        return pd.read_sql(query, conn, params={"d": day}, parse_dates=["missed_at", "due_by", "as_of", "run_date"])


def test_the_call_back_list_is_published_with_the_switch_and_replaced_per_as_of(target: Target) -> None:
    first = tier_frame(200, D1, "run-1")
    publish(target.engine, publish_settings(), first, retention_frame(first), callback_frame(first))
    second = tier_frame(200, D2, "run-2")
    publish(target.engine, publish_settings(), second, retention_frame(second), callback_frame(second, rows=2))
    again = tier_frame(200, D2, "run-3")
    publish(target.engine, publish_settings(), again, retention_frame(again), callback_frame(again, rows=1))
    assert len(callback_rows(target, D1)) == 3  # another as_of's rows stay
    rows = callback_rows(target, D2)
    assert rows[["rank", "run_id"]].values.tolist() == [[1, "run-3"]]  # the rerun replaced D2's rows
    assert rows["missed_at"].tolist() == [pd.Timestamp("2025-06-29 08:05:30")]
    assert rows["due_by"].tolist() == [pd.Timestamp("2025-06-30 08:05:30")]
    assert callback_rows(target, D1)["wait_seconds"].isna().tolist() == [False, True, False]


def test_a_call_back_list_from_another_run_is_refused_and_nothing_switches(target: Target) -> None:
    frame = tier_frame(200, D1, "run-1")
    other = callback_frame(tier_frame(200, D1, "run-2"))
    with pytest.raises(GuardrailError, match="call-back list is not from the same run"):
        publish(target.engine, publish_settings(), frame, retention_frame(frame), other)
    assert live_publication(target.engine, publish_settings()) is None


def test_without_a_call_back_list_the_table_is_left_alone(target: Target) -> None:
    first = tier_frame(200, D1, "run-1")
    publish(target.engine, publish_settings(), first, retention_frame(first), callback_frame(first))
    publish(target.engine, publish_settings(), first, retention_frame(first))
    assert len(callback_rows(target, D1)) == 3


def test_dates_are_converted_once_per_distinct_value_and_missing_stays_none() -> None:
    from models.distinct import per_distinct

    raw = pd.Series(["2026-10-31", None, "2026-10-31", "2026-11-01 12:00:00.123456"])
    stamps = pd.to_datetime(raw, format="ISO8601")
    seen: list[int] = []

    def text(s: pd.Series) -> list[str]:
        seen.append(len(s))
        return s.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist()

    assert per_distinct(stamps, text).tolist() == [
        "2026-10-31 00:00:00.000000",
        None,
        "2026-10-31 00:00:00.000000",
        "2026-11-01 12:00:00.123456",
    ]
    assert seen == [2]  # two distinct stamps formatted, not four rows


AWKWARD_TEXT = ["", '"quoted", with comma', "line\nbreak\r\nand\ttab", "\\N", "NULL", "back\\slash", "红名单 VIP", " "]


def test_every_value_reaches_the_database_bit_for_bit(target: Target) -> None:
    """Floats at full precision (and the extremes), missing floats, flags, empty and awkward strings, dates and
    microsecond times read back exactly as sent (PostgreSQL's CSV COPY, SQLite's bound parameters)."""
    n = 64
    frame = tier_frame(n, D1, "run-x", seed=5)
    rng = np.random.default_rng(11)
    frame["churn_score"] = np.concatenate([[0.0, 1.0, 5e-324, 1 / 3, 1 - 2**-53, 0.1], rng.random(n - 6)])
    frame["callback_hours"] = np.where(np.arange(n) % 3 == 0, np.nan, rng.random(n) * 48 + 1e-9)
    frame["is_black_list"] = rng.random(n) < 0.5
    frame["reason"] = [AWKWARD_TEXT[i % len(AWKWARD_TEXT)] for i in range(n)]
    callbacks = callback_frame(frame)
    callbacks["missed_at"] += pd.to_timedelta([123456, 1, 999999], unit="us")
    callbacks["due_by"] = callbacks["missed_at"] + pd.Timedelta(hours=24)
    publish(target.engine, publish_settings(), frame, retention_frame(frame), callbacks)
    view = read_view(target.engine)
    expected = frame.sort_values("subscriber_key").reset_index(drop=True)
    assert view["churn_score"].to_numpy().tobytes() == expected["churn_score"].to_numpy().tobytes()
    got_hours, want_hours = view["callback_hours"].to_numpy(float), expected["callback_hours"].to_numpy()
    assert np.isnan(got_hours).tolist() == np.isnan(want_hours).tolist()
    assert got_hours[~np.isnan(got_hours)].tobytes() == want_hours[~np.isnan(want_hours)].tobytes()
    assert view["is_black_list"].astype(bool).tolist() == expected["is_black_list"].tolist()
    assert view["reason"].tolist() == expected["reason"].tolist()  # "" stays "", never NULL
    assert view["priority"].tolist() == expected["priority"].tolist()
    assert pd.to_datetime(view["as_of"]).dt.date.unique().tolist() == [D1]
    rows = callback_rows(target, D1)
    assert rows["missed_at"].tolist() == callbacks["missed_at"].tolist()
    assert rows["due_by"].tolist() == callbacks["due_by"].tolist()
    assert rows["wait_seconds"].isna().tolist() == [False, True, False]
