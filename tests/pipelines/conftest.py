"""Publish targets shared by the publisher tests: SQLite always, the local PostgreSQL when marked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipelines.publish_db import Target, postgres_target, reset_postgres, sqlite_target


@pytest.fixture(scope="module")
def postgres() -> Iterator[Target]:
    """One throw-away PostgreSQL database for the module, emptied before each test."""
    with postgres_target() as made:
        yield made


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A publish target: a SQLite file under tmp_path, or the module's PostgreSQL database, emptied."""
    if request.param == "postgres":
        yield reset_postgres(request.getfixturevalue("postgres"))
        return
    with sqlite_target(tmp_path) as made:
        yield made
