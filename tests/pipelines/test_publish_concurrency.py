"""Acceptance: a reader querying the published view in a loop while publications happen sees no error,
no empty table and never a mix of two runs, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pipelines.publish import publish
from tests.pipelines.publish_db import (
    Target,
    publish_settings,
    retention_frame,
    tier_frame,
)

MIN_QUERIES = 1000
PUBLICATIONS = 6
QUERY = sa.text("SELECT count(*), count(DISTINCT run_id), min(run_id) FROM tier_table")


def read_until(engine: Engine, done: threading.Event, results: list[tuple[int, int, str]], errors: list[str]) -> None:
    """Query the view until the publisher is done and at least MIN_QUERIES answers came back."""
    while not done.is_set() or len(results) + len(errors) < MIN_QUERIES:
        try:
            with engine.connect() as conn:  # one short read transaction per query, as a routing lookup would
                count, runs, run_id = conn.execute(QUERY).one()
            results.append((count, runs, run_id))
        except Exception as exc:  # every failure is recorded, the loop goes on
            errors.append(repr(exc))


def test_readers_see_one_complete_run_at_a_time(target: Target) -> None:
    settings = publish_settings()
    expected: dict[str, int] = {}
    first = tier_frame(2000, date(2025, 6, 1), "run-01")
    publish(target.engine, settings, first, retention_frame(first))
    expected["run-01"] = 2000
    reader = target.reader()
    results: list[tuple[int, int, str]] = []
    errors: list[str] = []
    done = threading.Event()
    thread = threading.Thread(target=read_until, args=(reader, done, results, errors))
    thread.start()
    try:
        for day in range(2, PUBLICATIONS + 2):
            rows = 2000 + 20 * day  # a different size per run, so a partial table cannot pass unnoticed
            frame = tier_frame(rows, date(2025, 6, day), f"run-{day:02d}", seed=day)
            publish(target.engine, settings, frame, retention_frame(frame))
            expected[f"run-{day:02d}"] = rows
    finally:
        done.set()
        thread.join(timeout=120)
        reader.dispose()
    assert errors == []
    assert len(results) >= MIN_QUERIES
    assert all(runs == 1 for _, runs, _ in results), "a result mixed two run_ids"
    assert all(count == expected[run_id] for count, _, run_id in results), "an empty or partial table was seen"
    seen = {run_id for _, _, run_id in results}
    assert len(seen) >= 2, f"the reader saw only {seen}: no switch happened while it was reading"
    assert results[-1][2] == f"run-{PUBLICATIONS + 1:02d}"
