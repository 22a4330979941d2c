"""The publish benchmark's data is what the nightly publishes, and its publish and floor handle the same rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.bench_publish import (
    floor_once,
    lists_for,
    prepare,
    publish_once,
    reset,
    split_parts,
    summary,
    tier_rows,
)
from data_contracts.loader import validate_output
from tests.pipelines.publish_db import postgres_target, table_names


def test_the_generated_tier_table_and_lists_pass_their_contracts() -> None:
    table = tier_rows(300)
    validate_output(table, "tier_table", examples=0)
    assert table["subscriber_key"].is_monotonic_increasing
    retention, callbacks = lists_for(table, retention_rows=30, callback_rows=4)
    validate_output(retention, "retention_list", examples=0)
    validate_output(callbacks, "callback_list", examples=0)
    assert (len(retention), len(callbacks)) == (30, 4)
    assert not set(retention["subscriber_key"]) & set(callbacks["subscriber_key"])


def test_the_parts_hold_every_row_once_each_sorted(tmp_path: Path) -> None:
    table = tier_rows(100)
    parts = [pd.read_parquet(path) for path in split_parts(table, 3, tmp_path)]
    assert [len(p) for p in parts] == [34, 33, 33]
    assert all(p["subscriber_key"].is_monotonic_increasing for p in parts)
    merged = pd.concat(parts).sort_values("subscriber_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, table)


@pytest.mark.parametrize("checked", [True, False])
def test_publish_and_floor_handle_the_same_rows(tmp_path: Path, checked: bool) -> None:
    data = prepare(tmp_path, 300, 2, None)
    db = str(tmp_path / "published" / "tiercast.db")
    published = publish_once(data, db, checked=checked)
    floor = floor_once(db, tmp_path / "floor.db")
    assert published["rows"] == floor["rows"] == 300
    assert not (tmp_path / "floor.db").exists()


@pytest.mark.postgres
def test_on_postgresql_the_floor_is_a_copy_there_and_reset_empties_only_the_publishers_tables(tmp_path: Path) -> None:
    data = prepare(tmp_path, 200, 2, None)
    with postgres_target() as target:
        url = target.url.render_as_string(hide_password=False)
        with target.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE someone_elses (a INTEGER)")
        assert publish_once(data, url)["rows"] == 200
        assert floor_once(url, tmp_path / "floor.db")["rows"] == 200
        assert not (tmp_path / "floor.db").exists()  # the floor ran in PostgreSQL
        reset(url)
        assert table_names(target.engine) == ["someone_elses"]
        target.engine.dispose()


def test_summary_gives_medians_and_their_ratio() -> None:
    publishes = [{"seconds": s, "rows": 10, "peak_rss_mb": m} for s, m in [(6.0, 400), (4.0, 420), (5.0, 410)]]
    floors = [{"seconds": s, "rows": 10, "peak_rss_mb": 900} for s in (2.0, 3.0, 2.5)]
    result = summary(publishes, floors)
    assert (result["publish_s"], result["floor_s"], result["ratio"]) == (5.0, 2.5, 2.0)
    assert (result["publish_peak_rss_mb"], result["floor_peak_rss_mb"], result["repeats"]) == (420, 900, 3)
