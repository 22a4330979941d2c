"""A publish database made before the retention list had its `group` column is upgraded in place."""

from __future__ import annotations

import sqlalchemy as sa

from pipelines.database import init_schema
from tests.pipelines.publish_db import Target
from tiercast.settings import Settings


def test_an_old_retention_table_gets_the_group_column_and_its_rows_stay_to_call(
    target: Target, settings: Settings
) -> None:
    name = settings.publish.retention_table
    with target.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE TABLE {name} (as_of DATE, desk VARCHAR(40), rank BIGINT)")
        conn.exec_driver_sql(f"INSERT INTO {name} VALUES ('2026-10-30', 'retention', 1)")
    init_schema(target.engine, settings.publish)
    init_schema(target.engine, settings.publish)  # a second run changes nothing
    columns = {c["name"] for c in sa.inspect(target.engine).get_columns(name)}
    assert {"group", "ranking", "incremental_value"} <= columns
    with target.engine.connect() as conn:
        assert conn.exec_driver_sql(f'SELECT "group" FROM {name}').scalars().all() == ["treated"]
        # issue 14, item 6: an earlier list was ranked by churn x value and has no incremental value
        row = conn.exec_driver_sql(f"SELECT ranking, incremental_value FROM {name}").one()
        assert tuple(row) == ("churn_value", None)
