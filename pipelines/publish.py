"""The one publisher: every database write of tiercast goes through here.

A publication writes the tier table as a new versioned table (`<tier_view>_v<N>`), checks it
(contract, row count, tier mix, scores) and then, in one short transaction, replaces that as_of's
retention rows (and call-back rows, when given; their table is created on first use), points
the `tier_view` view at the new table and updates the registry. Readers therefore see the
previous complete table or the new one, never a mix or an empty one. On any failure before the
switch the new table is dropped and the previous one stays live.

Every part of the tier table is checked against its contract before it is written: in full (values,
nullability, uniqueness, row rules), or only its columns and dtypes when the parts come as `CheckedParts`,
files whose writer ran the full contract on them right before writing (the nightly's shards). Either
way the database refuses nulls where the contract does (NOT NULL) and a subscriber_key twice (the
unique index); the guardrails count the rows sent (tiers, invalid scores) and the rows the database holds.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from queue import Full, Queue
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from data_contracts.loader import ColumnSpec, load_contract
from models.distinct import per_distinct
from pipelines.database import (
    callback_table,
    contract_columns,
    contract_table,
    display_url,
    grant_view,
    init_schema,
    publications_table,
    retention_table,
    write_transaction,
)
from pipelines.publish_checks import (
    GuardrailError,
    SentRows,
    check_contract,
    check_guardrails,
    check_schema,
    written_rows,
)
from tiercast.errors import PublicationError
from tiercast.settings.publish import PublishSettings

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class CheckedParts:
    """Parquet files of the tier table that their writer validated against the tier_table contract (in full,
    `data_contracts.loader.validate_output`) right before writing them, as the nightly's shards do
    (`pipelines.score.tier_table`). The publisher then checks their columns and dtypes only."""

    paths: tuple[Path, ...]


# the whole table, its parts as Parquet files, or parts already contract-checked by their writer
TierTable = pd.DataFrame | Sequence[Path] | CheckedParts

LIVE, RETAINED, ROLLED_BACK = "live", "retained", "rolled_back"
BUILDING, REJECTED, FAILED, DROPPED = "building", "rejected", "failed", "dropped"
HAS_TABLE = (LIVE, RETAINED, ROLLED_BACK)


class PublishError(PublicationError, RuntimeError):
    """A publication or rollback that did not happen; the previous tier table is still live."""


@dataclass(frozen=True)
class Publication:
    """One row of the publications registry."""

    version: int
    table_name: str
    as_of: date
    run_id: str
    model_version: str
    rows: int
    retention_rows: int
    tier_mix: dict[str, float]
    status: str


def version_table(settings: PublishSettings, version: int) -> str:
    """Return the name of version `version` of the tier table."""
    return f"{settings.tier_view}_v{version:06d}"


def _registry(settings: PublishSettings) -> sa.Table:
    return publications_table(settings, sa.MetaData())


def _publication(row: Any) -> Publication:
    return Publication(
        version=row.version,
        table_name=row.table_name,
        as_of=row.as_of,
        run_id=row.run_id,
        model_version=row.model_version,
        rows=row.rows or 0,
        retention_rows=row.retention_rows or 0,
        tier_mix=json.loads(row.tier_mix) if row.tier_mix else {},
        status=row.status,
    )


def publications(engine: Engine, settings: PublishSettings) -> list[Publication]:
    """Return every registered publication, newest first."""
    init_schema(engine, settings)
    registry = _registry(settings)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(registry).order_by(registry.c.version.desc())).all()
    return [_publication(row) for row in rows]


def live_publication(engine: Engine, settings: PublishSettings) -> Publication | None:
    """Return the publication the view currently points at, or None before the first one."""
    return next((p for p in publications(engine, settings) if p.status == LIVE), None)


def _single(frame: pd.DataFrame, column: str) -> Any:
    values = frame[column].dropna().unique()
    if len(values) != 1:
        raise GuardrailError(f"tier table must carry exactly one {column}; found {len(values)}")
    return values[0]


def _python_values(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """Return a column as an object array of the plain Python values sqlite3 binds fastest: dates and times as text,
    flags as 0/1, missing floats as NaN and other missing values as None."""
    if spec.type == "datetime":
        # the text SQLAlchemy's DateTime reads back (Python 3.12 deprecates sqlite3's own adapter)
        return per_distinct(pd.to_datetime(series), lambda s: s.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist())
    if spec.type == "date":
        return per_distinct(pd.to_datetime(series), lambda s: s.dt.strftime("%Y-%m-%d").tolist())
    if spec.type in ("string", "category") and not spec.unique:
        return per_distinct(series, lambda s: s.tolist())
    # sqlite3 binds an exact int, float or str directly, but looks a bool or None up among its adapters first (two
    # failed attribute look-ups each): ~5x the cost of the bind, 2 s of a 1M-row tier table's 3 flags and callback
    # hours. So flags go as 0/1, which is what SQLite stores for a bool anyway, and a missing float as NaN, which
    # SQLite stores as NULL (sqlite3_bind_double); NOT NULL still refuses it.
    if spec.type == "bool":
        missing = series.isna().to_numpy()
        values = series.to_numpy(dtype=bool, na_value=False).astype(np.int64).astype(object)
        values[missing] = None
        return values
    if spec.type == "float64":
        return series.to_numpy(dtype=np.float64, na_value=np.nan).astype(object)
    values = series.to_numpy(dtype=object, copy=True)  # numpy and Arrow scalars become int, float, str
    values[series.isna().to_numpy()] = None
    return values


def _python_rows(frame: pd.DataFrame, contract_name: str) -> np.ndarray:
    """Return the frame's contract columns as a (rows x columns) object array of values for SQLite's INSERT."""
    specs = load_contract(contract_name).columns
    rows = np.empty((len(frame), len(specs)), dtype=object)
    for i, (column, spec) in enumerate(specs.items()):
        rows[:, i] = _python_values(frame[column], spec)
    return rows


ARROW_TYPES = {"int64": pa.int64(), "bool": pa.bool_()}


def _arrow_values(series: pd.Series, spec: ColumnSpec) -> pa.Array:
    """Return a column as an Arrow array for PostgreSQL's CSV COPY, missing values (None, NaN, NaT) as nulls."""
    if spec.type == "datetime":
        stamps = pd.to_datetime(series)
        if stamps.dt.tz is not None:  # `timestamp` (without time zone) holds the UTC wall time, as a UTC session stores
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return pa.array(stamps, from_pandas=True).cast(pa.timestamp("us"), safe=False)  # PostgreSQL keeps microseconds
    if spec.type == "date":
        return pa.array(pd.to_datetime(series), from_pandas=True).cast(pa.date32(), safe=False)
    if spec.type == "float64":
        return pa.array(series.to_numpy(dtype=np.float64, na_value=np.nan), from_pandas=True)
    if spec.type in ("string", "category"):
        values = pa.array(series, from_pandas=True)
        return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values
    return pa.array(series, from_pandas=True, type=ARROW_TYPES[spec.type])


# Arrow's CSV writer: rows a chunk it formats at once (its default, 1,024, costs ~10% more on a 1M-row table)
CSV_WRITE_ROWS = 65536


def _csv_rows(frame: pd.DataFrame, contract_name: str) -> pa.Buffer:
    """Return the frame's contract columns as the body of a `COPY ... (FORMAT csv)`, formatted by Arrow.

    What PostgreSQL's CSV input reads back exactly: a null is an unquoted empty field and every string is quoted
    (so an empty string stays one; quotes doubled, commas and line breaks kept inside the quotes); floats are
    written in their shortest round-trip form ("0.1", "5e-324", "inf"), which float8's input parses to the
    same double; flags as true / false, dates as YYYY-MM-DD, times as YYYY-MM-DD HH:MM:SS.ffffff."""
    specs = load_contract(contract_name).columns
    table = pa.Table.from_arrays([_arrow_values(frame[c], spec) for c, spec in specs.items()], names=list(specs))
    sink = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(include_header=False, batch_size=CSV_WRITE_ROWS, quoting_style="needed")
    pa_csv.write_csv(table, sink, options)
    return sink.getvalue()


# a batch for `write_rows`: rows of Python values (SQLite) or CSV text (PostgreSQL)
Batch: TypeAlias = "np.ndarray | pa.Buffer"


def _batches(frame: pd.DataFrame, contract_name: str, size: int, sqlite: bool) -> Iterator[Batch]:
    for start in range(0, len(frame), size):
        piece = frame.iloc[start : start + size]
        yield _python_rows(piece, contract_name) if sqlite else _csv_rows(piece, contract_name)


# SQLite: rows per INSERT statement. One statement of 100 rows binds the same values as 100 one-row statements
# but steps the engine once: the insert of a 1M-row tier table takes ~25% less time.
ROWS_PER_STATEMENT = 100


def insert_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame, contract_name: str, batch: int) -> None:
    """Insert `frame` into `table` (SQLite: bound parameters; PostgreSQL: COPY of CSV; identifiers quoted in both)."""
    write_rows(conn, table, _batches(frame, contract_name, batch, sqlite=conn.dialect.name != "postgresql"))


def write_rows(conn: Connection, table: sa.Table, batches: Iterable[Batch]) -> None:
    """Write `_batches` of the table's contract into `table`: CSV text (PostgreSQL) or rows (SQLite)."""
    names = [column.name for column in table.columns]
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        from psycopg import sql

        # CSV formatted by Arrow (C++, off the GIL) instead of psycopg's write_row, which formats each value in
        # Python: 3.5x the bare COPY of a 1M-row tier table's values, against ~1.5x
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(n) for n in names)
        )
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for text in batches:
                if not isinstance(text, pa.Buffer):
                    raise PublishError(f"COPY into {table.name} takes CSV text, not {type(text).__name__}")
                copy.write(memoryview(text))
        return
    # SQLite: the DB-API cursor directly (SQLAlchemy's per-row bind processing costs 3x the insert itself);
    # the statement is compiled by SQLAlchemy, identifiers quoted, values as ? parameters; its row of
    # parameters is repeated for many rows a statement (within SQLite's limit of parameters a statement).
    insert = str(table.insert().compile(dialect=conn.dialect))
    one_row = "(" + ", ".join("?" for _ in names) + ")"
    if not insert.endswith(f"VALUES {one_row}"):
        raise PublishError(f"unexpected INSERT statement compiled for {table.name}: {insert}")
    per_statement = max(1, min(ROWS_PER_STATEMENT, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(names)))
    wide = insert + f", {one_row}" * (per_statement - 1)
    cursor = driver.cursor()
    try:
        for rows in batches:
            if not isinstance(rows, np.ndarray):
                raise PublishError(f"INSERT into {table.name} takes rows of values, not {type(rows).__name__}")
            whole = len(rows) // per_statement * per_statement
            if whole:
                cursor.executemany(wide, rows[:whole].reshape(-1, per_statement * len(names)).tolist())
            if whole < len(rows):
                cursor.executemany(insert, rows[whole:].tolist())
    finally:
        cursor.close()


# batches of converted rows the reading thread may hold ready while the database writes (memory: a few batches)
PREFETCH_BATCHES = 2


def prefetched(items: Iterator[T], depth: int = PREFETCH_BATCHES) -> Generator[T, None, None]:
    """Yield `items`, produced by a background thread up to `depth` items ahead; its errors are raised here.

    Reading and converting the tier table's parts (Arrow, pandas) runs beside the database's writes, which release
    the GIL (sqlite3 while SQLite steps, psycopg while COPY sends): on two cores the conversion is mostly hidden.
    Stopping early (an error, or the caller closing the generator) stops the thread at its next item.
    """
    queue: Queue[tuple[bool, Any]] = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            put((False, exc))

    thread = threading.Thread(target=produce, name="tiercast-publish-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = queue.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _with_lock_retry(engine: Engine, settings: PublishSettings, work: Callable[[Connection], T]) -> T:
    """Run `work` in one transaction with a lock timeout, retrying when the lock is not granted."""
    for attempt in range(1, settings.switch_attempts + 1):
        try:
            with write_transaction(engine) as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.set_config("lock_timeout", f"{settings.lock_timeout_ms}ms", True)))
                return work(conn)
        except sa.exc.OperationalError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate not in ("55P03", "40P01") and "database is locked" not in str(exc.orig):
                raise
            if attempt == settings.switch_attempts:
                raise PublishError(f"could not get the lock after {attempt} attempts: {exc.orig}") from exc
            wait = settings.retry_backoff_seconds * 2 ** (attempt - 1)
            log.warning("lock not granted (attempt %d/%d); retrying in %.1f s", attempt, settings.switch_attempts, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


# PostgreSQL: CREATE OR REPLACE VIEW cannot rename, reorder or drop a view's columns.
INVALID_TABLE_DEFINITION = "42P16"


def point_view(conn: Connection, settings: PublishSettings, table_name: str) -> None:
    """Point the published view at `table_name`, inside the caller's transaction (readers see old or new).

    PostgreSQL: CREATE OR REPLACE VIEW; when the view's columns changed (a release changed the tier
    table's contract), drop and create it instead, still in the same transaction. SQLite: drop and create.
    """
    source = contract_table("tier_table", table_name, sa.MetaData())
    select = sa.select(*source.columns)
    drop = sa.schema.DropView(sa.Table(settings.tier_view, sa.MetaData()), if_exists=True)
    if conn.dialect.name != "postgresql":
        conn.execute(drop)
        conn.execute(sa.schema.CreateView(select, settings.tier_view))
        return
    try:
        with conn.begin_nested():
            conn.execute(sa.schema.CreateView(select, settings.tier_view, or_replace=True))
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != INVALID_TABLE_DEFINITION:
            raise
        log.warning("view %s had other columns (%s); replacing it", settings.tier_view, exc.orig)
        conn.execute(drop)
        conn.execute(sa.schema.CreateView(select, settings.tier_view))
    grant_view(conn, settings)


SECURE_DELETE = {0: "OFF", 1: "ON", 2: "FAST"}  # SQLite's PRAGMA secure_delete values, as it reads them


@contextmanager
def _sqlite_pragma(
    conn: Connection, name: str, value: str | int, spelled: Callable[[int], str | int] = int
) -> Iterator[None]:
    """On SQLite, set `PRAGMA name` for the block, then the connection's own value back (`spelled` turns the value
    SQLite reads into one it takes, e.g. secure_delete's 2 into FAST); elsewhere nothing. The pooled connection
    keeps its own settings for everything else."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = spelled(int(conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()))
    conn.exec_driver_sql(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA {name} = {before}")


def _drop_table(engine: Engine, settings: PublishSettings, table_name: str) -> None:
    def work(conn: Connection) -> None:
        # SQLite built with SECURE_DELETE (Debian's) zeroes every freed page: for a 1M-row version that is
        # ~300 MB more written to the WAL and 2 s. FAST frees without that extra I/O; what the freed pages
        # held (a tier table older than the live one, no MSISDN) is overwritten when the next version reuses them.
        with _sqlite_pragma(conn, "secure_delete", "FAST", SECURE_DELETE.__getitem__):
            conn.execute(sa.schema.DropTable(sa.Table(table_name, sa.MetaData()), if_exists=True))

    _with_lock_retry(engine, settings, work)


def _set_status(engine: Engine, settings: PublishSettings, version: int, status: str, message: str) -> None:
    registry = _registry(settings)
    with write_transaction(engine) as conn:
        conn.execute(
            registry.update().where(registry.c.version == version).values(status=status, message=message[:2000])
        )


def drop_leftovers(engine: Engine, settings: PublishSettings) -> list[str]:
    """Drop versioned tables that no kept publication owns (e.g. after a crash mid-build); return their names."""
    pattern = re.compile(rf"^{re.escape(settings.tier_view)}_v\d{{6}}$")
    kept = {p.table_name for p in publications(engine, settings) if p.status in HAS_TABLE}
    orphans = [n for n in sa.inspect(engine).get_table_names() if pattern.match(n) and n not in kept]
    for name in orphans:
        _drop_table(engine, settings, name)
        log.warning("dropped left-over table %s", name)
    registry = _registry(settings)
    with write_transaction(engine) as conn:
        conn.execute(
            registry.update()
            .where(registry.c.status == BUILDING)
            .values(status=FAILED, message="interrupted while building; table dropped")
        )
    return orphans


def _allocate(engine: Engine, settings: PublishSettings, identity: dict[str, Any]) -> int:
    registry = _registry(settings)
    with write_transaction(engine) as conn:
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(registry.c.version), 0))).scalar_one()) + 1
        conn.execute(
            registry.insert().values(
                version=version,
                table_name=version_table(settings, version),
                published_at=datetime.now(UTC),
                status=BUILDING,
                **identity,
            )
        )
    return version


def _parts(tier_table: TierTable) -> Iterator[pd.DataFrame]:
    """Yield the tier table piece by piece, each checked against the contract (`CheckedParts`: columns and dtypes
    only): the frame itself, or one shard's Parquet file at a time."""
    if isinstance(tier_table, pd.DataFrame):
        check_contract(tier_table, "tier_table")
        yield tier_table
        return
    paths: Sequence[Path]
    if isinstance(tier_table, CheckedParts):
        paths, check = tier_table.paths, check_schema
    else:
        paths, check = tier_table, check_contract
    for path in paths:
        part = pd.read_parquet(path)
        check(part, "tier_table")
        yield part


def _first_then(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Yield the part already read, then the rest: each part is read once, and let go of once written."""
    held = [first]
    del first
    while held:
        yield held.pop()
    yield from rest


def _identity(part: pd.DataFrame) -> dict[str, Any]:
    return {
        "as_of": pd.Timestamp(_single(part, "as_of")).date(),
        "run_id": str(_single(part, "run_id")),
        "model_version": str(_single(part, "model_version")),
    }


def _converted(
    parts: Iterable[pd.DataFrame], identity: dict[str, Any], sent: SentRows, batch: int, sqlite: bool
) -> Iterator[Batch]:
    """Yield the parts' rows converted for the database, batch by batch, counting what is sent."""
    for part in parts:
        if len(part) and _identity(part) != identity:
            raise GuardrailError(f"a part of the tier table is not from run {identity['run_id']}")
        sent.add(part)
        yield from _batches(part, "tier_table", batch, sqlite)


# SQLite: the page cache (KiB) of the connection while it builds a version. The default 2 MB makes CREATE INDEX
# sort 1M keys (~75 MB) in many small runs on temporary files: 0.76 s; with 128 MB, 0.58 s (1M rows).
BUILD_CACHE_KIB = 131072


def _build(
    engine: Engine, settings: PublishSettings, table_name: str, parts: Iterable[pd.DataFrame], identity: dict[str, Any]
) -> SentRows:
    """Create the versioned table and load every (checked) part into it; return what was sent.

    The parts are read and converted in a background thread while the database writes (`prefetched`). SQLite (and
    PostgreSQL with `copy_connections` 1) creates, loads and indexes the table in one transaction; PostgreSQL
    otherwise commits the empty table, COPYs over several connections side by side (`_copy_side_by_side`) and then
    builds the index. Either way the view is not pointed at the table before the switch, and a failure drops it."""
    table = contract_table("tier_table", table_name, sa.MetaData())

    def index_keys(conn: Connection) -> None:
        # the routing service's point lookup by key; built after the load, which is faster than row by row
        sa.Index(f"ix_{table_name}_key", table.c.subscriber_key, unique=True).create(conn)

    sent = SentRows()
    sqlite = engine.dialect.name != "postgresql"
    batches = prefetched(_converted(parts, identity, sent, settings.batch_rows, sqlite))
    try:
        if sqlite or settings.copy_connections == 1:
            with write_transaction(engine) as conn, _sqlite_pragma(conn, "cache_size", -BUILD_CACHE_KIB):
                table.create(conn, checkfirst=False)
                write_rows(conn, table, batches)
                index_keys(conn)
            return sent
        with write_transaction(engine) as conn:
            table.create(conn, checkfirst=False)
        _copy_side_by_side(engine, table, batches, settings.copy_connections)
        with write_transaction(engine) as conn:
            index_keys(conn)
    finally:
        batches.close()
    return sent


def _copy_side_by_side(engine: Engine, table: sa.Table, batches: Iterator[Batch], connections: int) -> None:
    """COPY `batches` into `table` over `connections` connections at once, each taking the next batch when ready.

    PostgreSQL parses and stores a COPY in its connection's own server process, one core each: on two cores two
    connections load a 1M-row tier table in ~1.65 s against ~2.4 s for one. Each connection commits its own rows;
    the first error stops the others at their next batch and is raised (the caller drops the table)."""
    lock = threading.Lock()
    failed = threading.Event()

    def taken() -> Iterator[Batch]:
        while True:
            with lock:
                batch = None if failed.is_set() else next(batches, None)
            if batch is None:
                return
            yield batch

    def load() -> None:
        try:
            with write_transaction(engine) as conn:
                write_rows(conn, table, taken())
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(connections, thread_name_prefix="tiercast-publish-copy") as pool:
        loads = [pool.submit(load) for _ in range(connections)]
    for done in loads:
        done.result()


def _same_run(listed: pd.DataFrame, what: str, identity: dict[str, Any]) -> None:
    """Raise GuardrailError when a list's rows are not all from the tier table's run."""
    if len(listed) and (
        set(pd.to_datetime(listed["as_of"]).dt.date) != {identity["as_of"]}
        or set(listed["run_id"]) != {identity["run_id"]}
    ):
        raise GuardrailError(f"the {what} is not from the same run as the tier table ({identity['run_id']})")


def publish(
    engine: Engine,
    settings: PublishSettings,
    tier_table: TierTable,
    retention: pd.DataFrame,
    callbacks: pd.DataFrame | None = None,
) -> Publication:
    """Publish a tier table and that as_of's retention list (and call-back list) atomically; return the new
    live publication.

    `tier_table` is a frame, or Parquet files (e.g. one per shard) read once each, one at a time, so
    memory stays bounded by the largest part whatever the size of the base; as `CheckedParts` their
    values are not checked again (their writer did). `callbacks` None leaves the call-back table as it is.
    """
    init_schema(engine, settings)
    drop_leftovers(engine, settings)
    parts = _parts(tier_table)
    first = next(parts, None)
    if first is None:
        raise GuardrailError("no tier table parts to publish")
    check_contract(retention, "retention_list")
    if callbacks is not None:
        check_contract(callbacks, "callback_list")
    identity = _identity(first)
    as_of = identity["as_of"]
    parts = _first_then(first, parts)
    del first
    _same_run(retention, "retention list", identity)
    if callbacks is not None:
        _same_run(callbacks, "call-back list", identity)
    previous = live_publication(engine, settings)
    version = _allocate(engine, settings, identity)
    table_name = version_table(settings, version)
    try:
        sent = _build(engine, settings, table_name, parts, identity)
        with engine.connect() as conn:
            stats = sent.stats(written_rows(conn, contract_table("tier_table", table_name, sa.MetaData())))
        check_guardrails(stats, sent.rows, previous, settings.guardrails, as_of)
        _switch(engine, settings, version, as_of, (retention, callbacks), stats.tier_mix, stats.rows)
    except Exception as exc:
        _drop_table(engine, settings, table_name)
        _set_status(engine, settings, version, REJECTED if isinstance(exc, GuardrailError) else FAILED, str(exc))
        kept = f"v{previous.version} stays live" if previous else "nothing was published before"
        log.error("publication v%d not switched (%s); %s dropped, %s", version, exc, table_name, kept)
        raise
    prune(engine, settings)
    published = next(p for p in publications(engine, settings) if p.version == version)
    log.info(
        "published %s v%d: %d rows, %d retention rows, run %s, in %s",
        settings.tier_view, version, stats.rows, len(retention), identity["run_id"], display_url(engine),
    )  # fmt: skip
    return published


def _switch(
    engine: Engine,
    settings: PublishSettings,
    version: int,
    as_of: date,
    lists: tuple[pd.DataFrame, pd.DataFrame | None],
    tier_mix: dict[str, float],
    rows: int,
) -> None:
    registry = _registry(settings)
    listed = retention_table(settings, sa.MetaData())
    called = callback_table(sa.MetaData())
    retention, callbacks = lists

    def work(conn: Connection) -> None:
        conn.execute(listed.delete().where(listed.c.as_of == as_of))
        insert_frame(conn, listed, retention, "retention_list", settings.batch_rows)
        if callbacks is not None:
            called.create(conn, checkfirst=True)
            conn.execute(called.delete().where(called.c.as_of == as_of))
            insert_frame(conn, called, callbacks, "callback_list", settings.batch_rows)
        conn.execute(registry.update().where(registry.c.status == LIVE).values(status=RETAINED))
        conn.execute(
            registry.update()
            .where(registry.c.version == version)
            .values(
                status=LIVE,
                rows=rows,
                retention_rows=len(retention),
                tier_mix=json.dumps(tier_mix, sort_keys=True),
                published_at=datetime.now(UTC),
                message=None,
            )
        )
        point_view(conn, settings, version_table(settings, version))

    _with_lock_retry(engine, settings, work)


def prune(engine: Engine, settings: PublishSettings) -> list[int]:
    """Drop the tables of all but the newest `keep_versions` kept publications (never the live one)."""
    kept = [p for p in publications(engine, settings) if p.status in HAS_TABLE]
    doomed = [p for p in kept[settings.keep_versions :] if p.status != LIVE]
    for old in doomed:
        try:
            _drop_table(engine, settings, old.table_name)
        except PublishError as exc:  # a long reader holds it; the next publication tries again
            log.warning("could not drop %s yet: %s", old.table_name, exc)
            continue
        _set_status(engine, settings, old.version, DROPPED, f"older than the newest {settings.keep_versions}")
    return [p.version for p in doomed]


def record_monitoring(engine: Engine, settings: PublishSettings, rows: pd.DataFrame) -> int:
    """Write one night's monitoring rows to the monitoring table, replacing that night's earlier rows; return the count.

    Not part of a publication: a night refused by a guardrail records why, and a rerun replaces its rows.
    """
    check_contract(rows, "monitoring")
    table = contract_table("monitoring", settings.monitoring_table, sa.MetaData())
    nights = sorted({d.date() for d in pd.to_datetime(rows["recorded_on"])})
    with write_transaction(engine) as conn:
        table.create(conn, checkfirst=True)
        conn.execute(table.delete().where(table.c.recorded_on.in_(nights)))
        insert_frame(conn, table, rows, "monitoring", settings.batch_rows)
    return len(rows)


def rollback(engine: Engine, settings: PublishSettings, to_version: int | None = None) -> Publication:
    """Point the view back at `to_version` (default: the newest retained version older than the live one)."""
    history = publications(engine, settings)
    live = next((p for p in history if p.status == LIVE), None)
    if live is None:
        raise PublishError("nothing is published yet: no version to roll back from")
    candidates = [p for p in history if p.status in (RETAINED, ROLLED_BACK) and p.version != live.version]
    if to_version is None:
        target = next((p for p in candidates if p.version < live.version and p.status == RETAINED), None)
    else:
        target = next((p for p in candidates if p.version == to_version), None)
    if target is None:
        kept = ", ".join(f"v{p.version}" for p in candidates) or "none"
        raise PublishError(f"no kept version to roll back to (asked: {to_version or 'previous'}; kept: {kept})")
    kept_columns = [c["name"] for c in sa.inspect(engine).get_columns(target.table_name)]
    served_columns = contract_columns("tier_table")
    if kept_columns != served_columns:
        changed = sorted(set(kept_columns) ^ set(served_columns)) or "their order"
        raise PublishError(
            f"v{target.version} ({target.table_name}) was published by a release with other tier-table columns "
            f"(differing: {changed}); this release cannot serve it. v{live.version} stays live"
        )
    registry = _registry(settings)

    def work(conn: Connection) -> None:
        conn.execute(registry.update().where(registry.c.version == live.version).values(status=ROLLED_BACK))
        conn.execute(registry.update().where(registry.c.version == target.version).values(status=LIVE))
        point_view(conn, settings, target.table_name)

    _with_lock_retry(engine, settings, work)
    log.info("rolled %s back from v%d to v%d (as_of %s)", settings.tier_view, live.version, target.version,
             target.as_of)  # fmt: skip
    return next(p for p in publications(engine, settings) if p.version == target.version)
