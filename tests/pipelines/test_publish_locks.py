"""The view switch under lock contention: lock timeout, retry with back-off, clean refusal when the lock never comes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

import pipelines.publish as publisher
from pipelines.publish import PublishError, live_publication, publications, publish
from tests.pipelines.publish_db import (
    Target,
    postgres_target,
    publish_settings,
    read_view,
    retention_frame,
    sqlite_target,
    table_names,
    tier_frame,
)

SETTINGS = {"lock_timeout_ms": 200, "switch_attempts": 3, "retry_backoff_seconds": 0.01}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with sqlite_target(tmp_path) if request.param == "sqlite" else postgres_target() as made:
        yield made


def blocker(target: Target) -> tuple[sa.Connection, Callable[[], None]]:
    """Open a connection that holds what the switch needs: the write lock (SQLite) or a read lock on the view."""
    if target.kind == "sqlite":
        engine = sa.create_engine(target.url, connect_args={"timeout": 0.1, "isolation_level": None})
        conn = engine.connect()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = sa.create_engine(target.url)
        conn = engine.connect()
        conn.execute(sa.text("SELECT count(*) FROM tier_table")).one()  # the transaction keeps AccessShareLock

    def release() -> None:
        if not conn.closed:
            conn.exec_driver_sql("COMMIT") if target.kind == "sqlite" else conn.commit()
            conn.close()
            engine.dispose()

    return conn, release


def publish_day(target: Target, day: int) -> None:
    frame = tier_frame(100, date(2025, 6, day), f"run-{day}")
    publish(target.engine, publish_settings(**SETTINGS), frame, retention_frame(frame))


def hold_during_switch(monkeypatch: pytest.MonkeyPatch, target: Target) -> list[Callable[[], None]]:
    """Take the lock once the new version is built and checked, just before the switch."""
    releases: list[Callable[[], None]] = []
    checked = publisher.check_guardrails

    def check_then_block(*args: object) -> None:
        checked(*args)  # type: ignore[arg-type]
        releases.append(blocker(target)[1])

    monkeypatch.setattr(publisher, "check_guardrails", check_then_block)
    return releases


def test_switch_retries_until_the_lock_is_granted(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    publish_day(target, 1)
    releases = hold_during_switch(monkeypatch, target)
    waits: list[float] = []

    def wait_then_release(seconds: float) -> None:
        waits.append(seconds)
        releases[0]()  # the long reader / other writer finishes while we back off

    monkeypatch.setattr(publisher.time, "sleep", wait_then_release)
    publish_day(target, 2)
    assert waits == [0.01]
    assert set(read_view(target.engine)["run_id"]) == {"run-2"}


@pytest.mark.postgres
def test_switch_gives_up_cleanly_when_the_lock_never_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    with postgres_target() as target:
        publish_day(target, 1)
        releases = hold_during_switch(monkeypatch, target)
        try:
            with pytest.raises(PublishError, match="could not get the lock after 3 attempts"):
                publish_day(target, 2)
            live = live_publication(target.engine, publish_settings())
            assert live is not None and live.version == 1
            assert [p.status for p in publications(target.engine, publish_settings())] == ["failed", "live"]
            assert [t for t in table_names(target.engine) if t.startswith("tier_table_v")] == ["tier_table_v000001"]
        finally:
            for release in releases:
                release()
        assert set(read_view(target.engine)["run_id"]) == {"run-1"}
