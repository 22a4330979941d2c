"""`tiercast publish list|rollback` and `tiercast db init`."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipelines.database import engine_for
from pipelines.publish import publish
from tests.cli.cli_app import publishing_app
from tests.pipelines.publish_db import PG_ADMIN_URL, postgres_target, read_view, retention_frame, tier_frame


def publish_days(settings, days: int) -> None:
    engine = engine_for(settings)
    for day in range(1, days + 1):
        frame = tier_frame(100, date(2025, 6, day), f"run-{day}")
        publish(engine, settings.publish, frame, retention_frame(frame))
    engine.dispose()


def test_list_shows_versions_newest_first(settings, tmp_path: Path) -> None:
    publish_days(settings, 2)
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "COLUMNS": "120"}
    result = CliRunner().invoke(publishing_app(), ["publish", "list"], env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "run-" in line]
    assert "run-2" in lines[0] and "live" in lines[0]
    assert "run-1" in lines[1] and "retained" in lines[1]
    assert "high 10.0%" in result.output


def test_list_keeps_each_run_id_on_one_line_in_an_80_column_terminal(settings, tmp_path: Path) -> None:
    engine = engine_for(settings)
    run_id = "20250601-m12-3f9a2c1d"  # the shape of a real run id
    frame = tier_frame(100, date(2025, 6, 1), run_id)
    publish(engine, settings.publish, frame, retention_frame(frame))
    engine.dispose()
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "COLUMNS": "80"}

    result = CliRunner().invoke(publishing_app(), ["publish", "list"], env=env)

    assert result.exit_code == 0, result.output
    assert run_id in result.output  # not folded over two lines


def test_rollback_then_nothing_left_to_roll_back(settings, tmp_path: Path) -> None:
    publish_days(settings, 2)
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path)}
    result = CliRunner().invoke(publishing_app(), ["publish", "rollback"], env=env)
    assert result.exit_code == 0, result.output
    assert "now serves v1" in result.output
    engine = engine_for(settings)
    assert set(read_view(engine)["run_id"]) == {"run-1"}
    engine.dispose()
    again = CliRunner().invoke(publishing_app(), ["publish", "rollback"], env=env)
    assert again.exit_code == 6
    assert "publication refused (PublishError, exit 6)" in again.output
    forward = CliRunner().invoke(publishing_app(), ["publish", "rollback", "--to", "2"], env=env)
    assert forward.exit_code == 0, forward.output


def test_db_init_creates_the_sqlite_schema(tmp_path: Path) -> None:
    result = CliRunner().invoke(publishing_app(), ["db", "init"], env={"TIERCAST__PATHS__ROOT": str(tmp_path)})
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'published' / 'tiercast.db'}")
    assert sorted(sa.inspect(engine).get_table_names()) == ["publications", "retention_list"]
    engine.dispose()


@pytest.mark.postgres
def test_db_init_on_postgres_creates_the_reader_role(tmp_path: Path) -> None:
    role = f"tiercast_reader_{uuid.uuid4().hex[:8]}"
    try:
        with postgres_target() as target:
            env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "TIERCAST__PUBLISH__READER_ROLE": role}
            url = target.url.render_as_string(hide_password=False)
            result = CliRunner().invoke(publishing_app(), ["db", "init", "--url", url], env=env)
            assert result.exit_code == 0, result.output
            assert f"read-only role {role}" in " ".join(result.output.split())
            with target.engine.connect() as conn:
                found = conn.execute(sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": role})
                assert found.scalar_one() is True
    finally:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()
