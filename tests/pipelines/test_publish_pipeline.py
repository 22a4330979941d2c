"""How the publisher moves rows: parts read and converted ahead in a thread (`prefetched`), the counts of the rows
sent (`SentRows`), and the SQLite settings of a build (page size of a new file, page cache of the build)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import pipelines.publish as publisher
from pipelines.database import SQLITE_PAGE_SIZE, create_db_engine
from pipelines.publish import prefetched, publish
from pipelines.publish_checks import SentRows
from tests.pipelines.publish_db import publish_settings, retention_frame, tier_frame

D1 = date(2025, 6, 28)


def test_prefetched_yields_every_item_in_order_from_another_thread() -> None:
    producers: list[str] = []

    def items() -> Iterator[int]:
        for i in range(7):
            producers.append(threading.current_thread().name)
            yield i

    assert list(prefetched(items(), depth=2)) == [0, 1, 2, 3, 4, 5, 6]
    assert set(producers) == {"tiercast-publish-prefetch"}


def test_prefetched_raises_the_producers_error_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("part 3 is not from this run")

    got: list[int] = []
    with pytest.raises(ValueError, match="part 3 is not from this run"):
        for item in prefetched(items(), depth=1):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    before = threading.active_count()
    stream = prefetched(items(), depth=2)
    assert next(stream) == 0
    stream.close()  # what a failing insert does to the generator it was reading
    time.sleep(0.3)
    assert threading.active_count() == before
    assert len(produced) <= 4  # the item handed over, the queue's two and the one it was waiting to put


def test_sent_rows_count_rows_tiers_and_invalid_scores_part_by_part() -> None:
    sent = SentRows()
    sent.add(pd.DataFrame({"tier": ["high", "low", "low"], "churn_score": [0.0, 1.0, 0.5]}))
    sent.add(pd.DataFrame({"tier": ["mid", "low"], "churn_score": [np.nan, 1.5]}))
    sent.add(pd.DataFrame({"tier": pd.Series([], dtype="str"), "churn_score": pd.Series([], dtype=float)}))
    stats = sent.stats(written=5)
    assert (sent.rows, stats.rows, stats.invalid_scores) == (5, 5, 2)
    assert stats.tier_mix == {"high": 0.2, "low": 0.6, "mid": 0.2}


def test_the_database_count_is_what_the_guardrail_compares(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = create_db_engine(sa.URL.create("sqlite", database=str(tmp_path / "p.db")), 2000)
    monkeypatch.setattr(publisher, "written_rows", lambda conn, table: 199)
    frame = tier_frame(200, D1, "run-1")
    with pytest.raises(publisher.GuardrailError, match="written table holds 199 rows, 200 were sent"):
        publish(engine, publish_settings(), frame, retention_frame(frame))
    engine.dispose()


def test_a_new_sqlite_file_gets_the_page_size_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    engine = create_db_engine(sa.URL.create("sqlite", database=str(fresh)), 2000)
    frame = tier_frame(50, D1, "run-1")
    publish(engine, publish_settings(), frame, retention_frame(frame))
    engine.dispose()
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as connection:  # a database made by an earlier release: 4 KB pages
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
    engine = create_db_engine(sa.URL.create("sqlite", database=str(old)), 2000)
    publish(engine, publish_settings(), frame, retention_frame(frame))
    engine.dispose()
    sizes = [sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0] for path in (fresh, old)]
    assert sizes == [SQLITE_PAGE_SIZE, 4096]


def test_the_build_cache_is_the_connections_own_again_after_the_build(tmp_path: Path) -> None:
    engine = create_db_engine(sa.URL.create("sqlite", database=str(tmp_path / "p.db")), 2000)
    seen: list[int] = []
    original = publisher.write_rows

    def spy(conn: sa.Connection, table: sa.Table, batches: Iterator[np.ndarray]) -> None:
        seen.append(int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one()))
        original(conn, table, batches)

    frame = tier_frame(50, D1, "run-1")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publisher, "write_rows", spy)
        publish(engine, publish_settings(), frame, retention_frame(frame))
    with engine.connect() as conn:  # the pool's one connection, the one that built
        after = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    engine.dispose()
    assert seen[0] == -publisher.BUILD_CACHE_KIB
    assert after == -2000  # SQLite's default


def test_sqlite_stores_flags_as_0_1_and_missing_floats_as_null(tmp_path: Path) -> None:
    """Flags go as ints and missing floats as NaN (the fast binds); what SQLite stores is what bools and None give."""
    engine = create_db_engine(sa.URL.create("sqlite", database=str(tmp_path / "p.db")), 2000)
    frame = tier_frame(40, D1, "run-1")
    frame["is_red_list"] = np.arange(40) % 3 == 0
    frame["callback_hours"] = np.where(np.arange(40) % 4 == 0, 24.0, np.nan)
    published = publish(engine, publish_settings(), frame, retention_frame(frame))
    engine.dispose()
    with sqlite3.connect(tmp_path / "p.db") as connection:
        stored = connection.execute(
            "SELECT typeof(is_red_list), is_red_list, typeof(callback_hours), callback_hours"
            f' FROM "{published.table_name}" ORDER BY rowid'
        ).fetchall()
    assert [row[:2] for row in stored] == [("integer", int(i % 3 == 0)) for i in range(40)]
    assert [row[2:] for row in stored] == [("real", 24.0) if i % 4 == 0 else ("null", None) for i in range(40)]


def test_a_missing_value_in_a_not_null_float_is_still_refused_by_sqlite(tmp_path: Path) -> None:
    engine = create_db_engine(sa.URL.create("sqlite", database=str(tmp_path / "p.db")), 2000)
    frame = tier_frame(20, D1, "run-1")
    frame.loc[5, "sla_target_share"] = np.nan
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publisher, "check_contract", lambda frame, name: None)  # the database alone
        with pytest.raises(sqlite3.IntegrityError, match=r"NOT NULL constraint failed: .*sla_target_share"):
            publish(engine, publish_settings(), frame, retention_frame(frame))
    engine.dispose()
