"""Acceptance: the routing service's reader reads the published view and nothing else; it writes and creates nothing."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.database import create_db_engine, display_url, ensure_reader_role
from pipelines.publish import publish
from tests.pipelines.publish_db import (
    PG_ADMIN_URL,
    postgres_target,
    publish_settings,
    retention_frame,
    sqlite_target,
    tier_frame,
)

INSUFFICIENT_PRIVILEGE = "42501"
FORBIDDEN = [
    "INSERT INTO tier_table (subscriber_key) VALUES ('x')",
    "UPDATE tier_table SET priority = 1",
    "DELETE FROM tier_table",
    "SELECT count(*) FROM tier_table_v000001",
    "INSERT INTO tier_table_v000001 (subscriber_key) VALUES ('x')",
    "DELETE FROM tier_table_v000002",
    "SELECT count(*) FROM publications",
    "DELETE FROM retention_list",
    "CREATE TABLE evil (a integer)",
    "CREATE TEMP TABLE evil (a integer)",
    "CREATE VIEW evil AS SELECT 1 AS a",
    "DROP VIEW tier_table",
    "CREATE OR REPLACE VIEW tier_table AS SELECT 1 AS a",
    "TRUNCATE tier_table_v000002",
]


def publish_two(engine: sa.Engine, settings: object) -> None:
    for day in (1, 2):
        frame = tier_frame(100, date(2025, 6, day), f"run-{day}")
        publish(engine, settings, frame, retention_frame(frame))  # type: ignore[arg-type]


@pytest.mark.postgres
def test_postgres_reader_role_selects_the_view_only() -> None:
    role = f"tiercast_reader_{uuid.uuid4().hex[:8]}"
    settings = publish_settings(reader_role=role)
    try:
        with postgres_target() as target:
            assert ensure_reader_role(target.engine, settings)
            publish_two(target.engine, settings)
            assert ensure_reader_role(target.engine, settings)  # idempotent, and grants on the existing view
            reader = target.reader(target.url.set(username=role))
            try:
                with reader.connect() as conn:
                    assert conn.execute(sa.text("SELECT count(*) FROM tier_table")).scalar_one() == 100
                    # the role's read-only default can be switched off by the session; privileges still hold
                    conn.exec_driver_sql("SET default_transaction_read_only = off")
                    for statement in FORBIDDEN:
                        with pytest.raises(sa.exc.DBAPIError) as caught:
                            conn.exec_driver_sql(statement)
                        assert getattr(caught.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE, statement
                # a later publication replaces the view and the reader still reads, without a new grant
                frame = tier_frame(104, date(2025, 6, 3), "run-3")
                publish(target.engine, settings, frame, retention_frame(frame))
                with reader.connect() as conn:
                    assert conn.execute(sa.text("SELECT min(run_id), count(*) FROM tier_table")).one() == ("run-3", 104)
            finally:
                reader.dispose()
    finally:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


def test_sqlite_reader_opens_the_file_read_only(tmp_path: Path) -> None:
    with sqlite_target(tmp_path) as target:
        publish_two(target.engine, publish_settings())
        reader = target.reader()
        try:
            with reader.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM tier_table")).scalar_one() == 100
                for statement in (
                    "DELETE FROM tier_table_v000002",
                    "CREATE TABLE evil (a integer)",
                    "DROP VIEW tier_table",
                ):
                    with pytest.raises(sa.exc.OperationalError, match="readonly database"):
                        conn.exec_driver_sql(statement)
        finally:
            reader.dispose()


def test_a_read_only_sqlite_engine_is_shown_as_its_file(tmp_path: Path) -> None:
    path = tmp_path / "published" / "tiercast.db"
    writer = create_db_engine(f"sqlite:///{path}", 1000)
    reader = create_db_engine(f"sqlite:///{path}", 1000, read_only=True)
    assert str(reader.url) != str(writer.url)  # the reader opens file:...?mode=ro
    assert display_url(reader) == display_url(writer) == f"sqlite:///{path}"
    writer.dispose()
    reader.dispose()
