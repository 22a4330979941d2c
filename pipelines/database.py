"""Database plumbing for the publisher: engines, table definitions from the contracts, schema and read-only role.

Identifiers (table, view, role names) are always quoted by SQLAlchemy's identifier preparer and
values always travel as bound parameters; nothing is formatted into SQL text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from data_contracts.loader import load_contract
from tiercast.settings import Settings
from tiercast.settings.publish import PublishSettings

log = logging.getLogger(__name__)

WRITE_OPTION = "tiercast_write"

SQL_TYPES: dict[str, Any] = {
    "string": sa.Text,
    "int64": sa.BigInteger,
    "float64": sa.Double,
    "bool": sa.Boolean,
    "date": sa.Date,
    "datetime": sa.DateTime,
    "category": sa.Text,
}


def contract_columns(name: str) -> list[str]:
    """Return the column names of a contract, in contract order."""
    return load_contract(name).column_names


def contract_table(name: str, table_name: str, metadata: sa.MetaData) -> sa.Table:
    """Return a SQLAlchemy table named `table_name` with the columns, types and nullability of contract `name`."""
    columns = [
        sa.Column(column, SQL_TYPES[spec.type], nullable=spec.nullable)
        for column, spec in load_contract(name).columns.items()
    ]
    return sa.Table(table_name, metadata, *columns, quote=True)


def publications_table(settings: PublishSettings, metadata: sa.MetaData) -> sa.Table:
    """Return the publications registry: one row per attempted publication."""
    return sa.Table(
        settings.publications_table,
        metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("table_name", sa.Text, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("rows", sa.BigInteger),
        sa.Column("retention_rows", sa.BigInteger),
        sa.Column("tier_mix", sa.Text),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("message", sa.Text),
        quote=True,
    )


def retention_table(settings: PublishSettings, metadata: sa.MetaData) -> sa.Table:
    """Return the retention list table (all as_of dates), indexed by (as_of, desk, rank)."""
    table = contract_table("retention_list", settings.retention_table, metadata)
    sa.Index(f"ix_{settings.retention_table}_as_of_desk_rank", table.c.as_of, table.c.desk, table.c.rank, unique=True)
    return table


def callback_table(metadata: sa.MetaData) -> sa.Table:
    """Return the call-back list table (all as_of dates; its name from the contract), indexed by (as_of, rank)."""
    name = load_contract("callback_list").table
    table = contract_table("callback_list", name, metadata)
    sa.Index(f"ix_{name}_as_of_rank", table.c.as_of, table.c.rank, unique=True)
    return table


def database_url(settings: Settings) -> URL:
    """Return the publish database URL: settings.publish.url, or the SQLite file under paths.published."""
    if settings.publish.url:
        url = make_url(settings.publish.url)
        return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url
    path = settings.paths.resolve(settings.paths.published) / settings.publish.sqlite_file
    return URL.create("sqlite", database=str(path))


# SQLite: page size of a new publish database. A version of the tier table is ~250 MB of ~200-byte rows; in
# 16 KB pages instead of 4 KB its key index builds in ~0.5 s instead of ~0.7-1.0 s and the WAL carries a quarter
# of the frames (1M rows, `python -m benchmarks.bench_publish`). Fixed when the file is created.
SQLITE_PAGE_SIZE = 16384


def create_db_engine(url: URL | str, lock_timeout_ms: int, read_only: bool = False) -> Engine:
    """Return an engine; SQLite gets WAL mode, a busy timeout and real transactions (BEGIN IMMEDIATE for writers)."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:" and not read_only:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    if read_only and url.database:
        url = url.set(database=f"file:{url.database}?mode=ro", query={"uri": "true"})
    engine = sa.create_engine(url, connect_args={"timeout": lock_timeout_ms / 1000.0})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite would otherwise run DDL outside any transaction; take control of BEGIN ourselves.
        dbapi_connection.isolation_level = None
        if not read_only:
            # a new database's page size (an existing one keeps its own): see SQLITE_PAGE_SIZE
            dbapi_connection.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Writers take the write lock up front (no deadlock on upgrade); reads never block each other.
        writing = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Yield a connection inside one write transaction (SQLite: BEGIN IMMEDIATE), committed on success."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


def quote(connection: Connection, identifier: str) -> str:
    """Return `identifier` quoted for this connection's dialect (always quoted, embedded quotes doubled)."""
    return connection.dialect.identifier_preparer.quote_identifier(identifier)


# Columns the retention list gained after databases were created with it, and the value the rows
# already there get: `group` (issue 14's control groups; every earlier row was a customer to call),
# `ranking` (every earlier list ranked by churn x value), `incremental_value` (null: no uplift ranking).
ADDED_RETENTION_COLUMNS: dict[str, str | None] = {
    "group": "treated",
    "ranking": "churn_value",
    "incremental_value": None,
}


def init_schema(engine: Engine, settings: PublishSettings) -> None:
    """Create the publications registry and the retention table (with its index) when missing, and add the
    retention columns a database created by an earlier version lacks (`ADDED_RETENTION_COLUMNS`)."""
    metadata = sa.MetaData()
    publications_table(settings, metadata)
    retention = retention_table(settings, metadata)
    metadata.create_all(engine)
    present = {column["name"] for column in sa.inspect(engine).get_columns(retention.name)}
    missing = [name for name in ADDED_RETENTION_COLUMNS if name in retention.c and name not in present]
    if not missing:
        return
    with write_transaction(engine) as conn:
        for name in missing:
            kind = retention.c[name].type.compile(dialect=engine.dialect)
            value = ADDED_RETENTION_COLUMNS[name]
            fill = "" if value is None else " NOT NULL DEFAULT '{}'".format(value.replace("'", "''"))
            table, column = quote(conn, retention.name), quote(conn, name)
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}{fill}")
            log.info("added column %s to %s (existing rows: %r)", name, retention.name, ADDED_RETENTION_COLUMNS[name])


def ensure_reader_role(engine: Engine, settings: PublishSettings) -> bool:
    """On PostgreSQL, create the read-only routing role if missing and lock it down; return True when done.

    The role may log in and read the published view only (granted at each publication): no rights on
    the versioned tables (the view's owner holds them), no CREATE anywhere, read-only transactions.
    """
    if engine.dialect.name != "postgresql":
        return False
    with write_transaction(engine) as conn:
        role = quote(conn, settings.reader_role)
        exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": settings.reader_role})
        if exists.first() is None:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT")
        database = quote(conn, conn.execute(sa.text("SELECT current_database()")).scalar_one())
        conn.exec_driver_sql(f"ALTER ROLE {role} IN DATABASE {database} SET default_transaction_read_only = on")
        conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        conn.exec_driver_sql(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC")
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        view = quote(conn, settings.tier_view)
        if conn.execute(sa.text("SELECT to_regclass(:v) IS NOT NULL"), {"v": view}).scalar_one():
            conn.exec_driver_sql(f"GRANT SELECT ON {view} TO {role}")
    return True


def grant_view(connection: Connection, settings: PublishSettings) -> None:
    """Grant SELECT on the published view to the reader role, when the role exists (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return
    found = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": settings.reader_role})
    if found.first() is not None:
        view, role = quote(connection, settings.tier_view), quote(connection, settings.reader_role)
        connection.exec_driver_sql(f"GRANT SELECT ON {view} TO {role}")


def engine_for(settings: Settings, url: str | None = None, read_only: bool = False) -> Engine:
    """Return an engine on `url`, or on the configured publish database (see `database_url`)."""
    target = make_url(url) if url else database_url(settings)
    if target.drivername == "postgresql":
        target = target.set(drivername="postgresql+psycopg")
    return create_db_engine(target, settings.publish.lock_timeout_ms, read_only=read_only)


def display_url(engine: Engine) -> str:
    """Return the engine's URL with any password hidden, for logs and messages (read-only SQLite: its file)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database.startswith("file:"):
        url = url.set(database=url.database.removeprefix("file:").split("?", 1)[0], query={})
    return url.render_as_string(hide_password=True)
