"""Benchmark: reading callers' tiers from a published tier table by keyed lookups against streaming the table.

    .venv/bin/python -m benchmarks.bench_tier_lookup --rows 3000000 --keys 200000 500000 --repeats 3 [--no-postgres]

The service-level report and the nightly's service step read, from each tier table version that served the
day, only its callers' tiers (`pipelines.service_tiers.read_tiers`): `IN (...)` lookups of 5,000 keys on the
table's unique subscriber_key index, or one streamed read of the whole table when the keys are over
`STREAM_SHARE` of its rows. For each backend (SQLite file; PostgreSQL on a throw-away database on
127.0.0.1:5432, dropped afterwards) it builds a table of --rows rows with that index, then times read_tiers
for each --keys count both ways (median seconds over --repeats), checks both give the same tiers, and prints
the lookup / stream ratio, the path `streamed` chooses and the peak memory (RSS) above the start.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

import pipelines.service_tiers as service_tiers
from benchmarks.bench_route import PeakRss
from tests.pipelines.publish_db import Target, postgres_target, sqlite_target

TIERS = np.array(["high", "mid", "low"])


def build(engine: sa.Engine, keys: pd.Index) -> None:
    """Create table `t` (subscriber_key, tier) of one row per key, with the unique index a publication has."""
    tiers = TIERS[np.arange(len(keys)) % 3]
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS t")
        conn.exec_driver_sql("CREATE TABLE t (subscriber_key TEXT NOT NULL, tier TEXT NOT NULL)")
        raw = conn.connection.driver_connection
        assert raw is not None
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor, cursor.copy("COPY t (subscriber_key, tier) FROM STDIN") as copy:
                for row in zip(keys, tiers, strict=True):
                    copy.write_row(row)
        else:
            raw.executemany("INSERT INTO t VALUES (?, ?)", zip(keys, tiers, strict=True))
        conn.exec_driver_sql("CREATE UNIQUE INDEX t_key ON t (subscriber_key)")


def timed(engine: sa.Engine, keys: pd.Index, rows: int | None, repeats: int) -> tuple[float, pd.Series]:
    """Return the median seconds of read_tiers(keys) with the table's rows given as `rows`, and its tiers."""
    seconds, read = [], pd.Series(dtype="category")
    for _ in range(repeats):
        with engine.connect() as conn:
            start = time.perf_counter()
            read = service_tiers.read_tiers(conn, "t", keys, rows)
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), read


def run(name: str, engine: sa.Engine, rows: int, key_counts: list[int], repeats: int) -> None:
    keys = pd.Index([f"{i:064x}" for i in range(rows)])  # 64 hex characters, as subscriber_key
    started = time.perf_counter()
    build(engine, keys)
    print(f"{name}: {rows:,}-row table built in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(1)
    for count in key_counts:
        wanted = keys[np.sort(rng.choice(rows, count, replace=False))]
        with PeakRss() as lookup_memory:
            lookup, looked_up = timed(engine, wanted, 10 * count, repeats)  # rows given large: lookups
        with PeakRss() as stream_memory:
            stream, streamed = timed(engine, wanted, 0, repeats)  # rows given 0: streamed
        assert looked_up.astype("str").equals(streamed.astype("str")), "lookup and stream disagree"
        chosen = "stream" if service_tiers.streamed(count, rows) else "lookup"
        print(
            f"  {count:>9,} keys: lookup {lookup:6.2f} s (+{lookup_memory.above_start_mb:.0f} MB), "
            f"stream {stream:6.2f} s (+{stream_memory.above_start_mb:.0f} MB), lookup/stream "
            f"{lookup / stream:.2f}x; read_tiers chooses {chosen}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, nargs="+", default=[50_000, 200_000, 500_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        targets: list[tuple[str, contextlib.AbstractContextManager[Target]]] = [("SQLite", sqlite_target(Path(folder)))]
        if not args.no_postgres:
            targets.append(("PostgreSQL", postgres_target()))
        for name, target in targets:
            with target as t:
                run(name, t.engine, args.rows, args.keys, args.repeats)


if __name__ == "__main__":
    main()
