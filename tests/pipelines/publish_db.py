"""Shared by the publisher tests: publish targets (SQLite file, throw-away PostgreSQL database) and frames."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from pipelines.database import contract_columns, create_db_engine
from pipelines.privacy import subscriber_key
from tiercast.settings.publish import PublishSettings

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
KEY = b"test-key-0123456789-0123456789-01"
# An 11-digit mobile number standing alone (not inside a longer hex, word or decimal token).
MSISDN_RE = re.compile(r"(?<![\w.])1[3-9]\d{9}(?![\w.])")


def publish_settings(**changes: Any) -> PublishSettings:
    """The packaged publish settings with `changes` applied (validated)."""
    text = (resources.files("tiercast") / "defaults" / "publish.yaml").read_text()
    data = yaml.safe_load(text)
    data.update({"retry_backoff_seconds": 0.01, **changes})
    return PublishSettings.model_validate(data)


@dataclass
class Target:
    """A database to publish to: writer engine, its URL, and how to open a reader."""

    url: sa.URL
    engine: Engine
    kind: str

    def reader(self, url: sa.URL | None = None) -> Engine:
        """Return a separate engine for reading (read-only on SQLite, autocommit on PostgreSQL)."""
        if self.kind == "sqlite":
            return create_db_engine(self.url, 2000, read_only=True)
        return sa.create_engine(url or self.url, isolation_level="AUTOCOMMIT")


@contextmanager
def sqlite_target(tmp_path: Path) -> Iterator[Target]:
    """Yield a SQLite file target under tmp_path."""
    url = sa.URL.create("sqlite", database=str(tmp_path / "published" / "tiercast.db"))
    engine = create_db_engine(url, 2000)
    yield Target(url, engine, "sqlite")
    engine.dispose()


@contextmanager
def postgres_target() -> Iterator[Target]:
    """Yield a throw-away database on the local PostgreSQL server, dropped afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tiercast_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"local PostgreSQL not reachable: {exc.orig}")
    url = sa.make_url(PG_ADMIN_URL).set(database=name)
    engine = create_db_engine(url, 2000)
    try:
        yield Target(url, engine, "postgres")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def reset_postgres(target: Target) -> Target:
    """Empty the throw-away database's public schema (cheaper than a new database per test); return it."""
    target.engine.dispose()
    with target.engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    return target


def msisdns(n: int, start: int = 0) -> pd.Series:
    """Return n distinct valid mobile numbers."""
    return pd.Series([f"138{i:08d}" for i in range(start, start + n)], dtype="str")


def tier_frame(
    n: int,
    as_of: date,
    run_id: str,
    mix: tuple[float, float, float] = (0.1, 0.3, 0.6),
    model_version: str = "m1",
    seed: int = 0,
) -> pd.DataFrame:
    """Return a contract-valid tier table of n subscribers with the given high/mid/low mix."""
    rng = np.random.default_rng(seed)
    n_high, n_mid = round(n * mix[0]), round(n * mix[1])
    tier = ["high"] * n_high + ["mid"] * n_mid + ["low"] * (n - n_high - n_mid)
    frame = pd.DataFrame(
        {
            "subscriber_key": subscriber_key(msisdns(n), KEY),
            "tier": pd.Series(tier, dtype="str"),
            "is_red_list": np.arange(n) % 50 == 0,
            "is_black_list": np.arange(n) % 97 == 1,
            "flea_flag": np.arange(n) % 31 == 2,
            "lifecycle_stage": pd.Series(rng.choice(["identification", "growth", "stable", "warning"], n), dtype="str"),
            "churn_score": rng.random(n).round(6),
            "risk_band": pd.Series(["low"] * n, dtype="str"),
            "priority": rng.integers(1, 10, n).astype("int64"),
            "queue": pd.Series(["standard"] * n, dtype="str"),
            "sla_target_share": np.full(n, 0.85),
            "sla_target_seconds": np.full(n, 20, dtype="int64"),
            "callback_hours": np.where(np.arange(n) % 2 == 0, 24.0, np.nan),
            "reason": pd.Series(["low tier: standard queue"] * n, dtype="str"),
            "as_of": pd.Timestamp(as_of),
            "run_id": run_id,
            "model_version": model_version,
        }
    )
    return frame.astype({"run_id": "str", "model_version": "str"}).loc[:, contract_columns("tier_table")]


def retention_frame(tier_table: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """Return a contract-valid retention list built from the first rows of a tier table."""
    head = tier_table.head(rows)
    frame = pd.DataFrame(
        {
            "run_date": head["as_of"] + pd.Timedelta(days=1),
            "desk": "tariff",
            "rank": np.arange(1, len(head) + 1, dtype="int64"),
            "subscriber_key": head["subscriber_key"],
            "group": "treated",
            "value_at_risk": np.linspace(100.0, 10.0, len(head)),
            "churn_score": head["churn_score"],
            "tier": head["tier"],
            "lifecycle_stage": head["lifecycle_stage"],
            "reasons": "falling usage; 2 complaints",
            "suggested_action": "cheaper plan matched to actual usage",
            "ranking": "churn_value",
            "incremental_value": np.nan,
            "as_of": head["as_of"],
            "run_id": head["run_id"],
        }
    )
    text = {"desk": "str", "group": "str", "reasons": "str", "suggested_action": "str", "ranking": "str"}
    return frame.astype(text).reset_index(drop=True)


def read_view(engine: Engine, view: str = "tier_table") -> pd.DataFrame:
    """Return the published view's rows ordered by subscriber_key."""
    table = sa.table(view, sa.column("subscriber_key"))
    with engine.connect() as conn:
        return pd.read_sql(sa.select(sa.text("*")).select_from(table).order_by(table.c.subscriber_key), conn)


def table_names(engine: Engine) -> list[str]:
    """Return the sorted table names of the database."""
    return sorted(sa.inspect(engine).get_table_names())


def msisdn_leaks(engine: Engine, folder: Path | None = None) -> list[str]:
    """Return every 11-digit mobile number found in any text column of any table or view, or file under folder."""
    found: list[str] = []
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for name in inspector.get_table_names() + inspector.get_view_names():
            columns = [c["name"] for c in inspector.get_columns(name) if isinstance(c["type"], sa.String)]
            table = sa.table(name, *(sa.column(c) for c in columns))
            for row in conn.execute(sa.select(*table.columns)) if columns else []:
                found += [m for value in row if value for m in MSISDN_RE.findall(str(value))]
    for path in sorted(folder.rglob("*")) if folder else []:
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype("str").to_csv(index=False)
        elif path.is_file():
            text = path.read_text(errors="replace")
        else:
            continue
        found += MSISDN_RE.findall(text)
    return found
