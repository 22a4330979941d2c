"""Benchmark: the routing lookup (by subscriber_key, through the published view) and a publication, SQLite + PostgreSQL.

    .venv/bin/python -m benchmarks.bench_route --rows 200000 --lookups 2000 --repeats 5 [--no-postgres]

For each backend: publishes a tier table of --rows rows (median seconds over --repeats
publications, each a full version build + checks + switch), then times --lookups point lookups of
random keys, the way `tiercast route` does (one connection, one SELECT ... WHERE subscriber_key = ?
per call), through the view and, as the reference, straight on the versioned table. Prints median
microseconds per lookup, the view/table ratio and the peak memory (RSS) above the start.
PostgreSQL runs on a throw-away database on 127.0.0.1:5432 (user postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psutil
import sqlalchemy as sa

from pipelines.publish import live_publication, publish
from tests.pipelines.publish_db import postgres_target, publish_settings, retention_frame, sqlite_target, tier_frame


class PeakRss:
    """Track the process's peak resident memory above its level at start (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above_start_mb(self) -> float:
        """Peak RSS above the start, in MB."""
        return (self.peak - self.start) / 1e6


def lookup_micros(engine: sa.Engine, relation: str, keys: list[str]) -> float:
    """Return the mean microseconds of one point lookup by subscriber_key on `relation`."""
    table = sa.table(relation, sa.column("subscriber_key"), sa.column("priority"), sa.column("queue"))
    statement = sa.select(table.c.priority, table.c.queue).where(table.c.subscriber_key == sa.bindparam("k"))
    with engine.connect() as conn:
        started = time.perf_counter()
        for key in keys:
            conn.execute(statement, {"k": key}).one()
        return (time.perf_counter() - started) / len(keys) * 1e6


def bench(name: str, target_cm: contextlib.AbstractContextManager, args: argparse.Namespace) -> None:
    """Run the publication and lookup measurements on one backend and print them."""
    settings = publish_settings(keep_versions=2)
    with PeakRss() as memory, target_cm as target:
        seconds = []
        for repeat in range(args.repeats):
            day = date(2025, 6, 1) + timedelta(days=repeat)
            frame = tier_frame(args.rows, day, f"bench-{repeat}", seed=repeat)
            retention = retention_frame(frame, rows=min(2420, args.rows))
            started = time.perf_counter()
            publish(target.engine, settings, frame, retention)
            seconds.append(time.perf_counter() - started)
        live = live_publication(target.engine, settings)
        assert live is not None
        keys = random.Random(0).choices(frame["subscriber_key"].tolist(), k=args.lookups)
        via_view = [lookup_micros(target.engine, settings.tier_view, keys) for _ in range(args.repeats)]
        direct = [lookup_micros(target.engine, live.table_name, keys) for _ in range(args.repeats)]
    view_us, table_us = statistics.median(via_view), statistics.median(direct)
    print(
        f"{name:10s} publish {args.rows:,} rows: median {statistics.median(seconds):.2f} s "
        f"({args.rows / statistics.median(seconds):,.0f} rows/s) | lookup via view {view_us:.0f} us, "
        f"on the table {table_us:.0f} us, ratio {view_us / table_us:.2f} | peak RSS +{memory.above_start_mb:.0f} MB"
    )


@contextlib.contextmanager
def sqlite_in_temp() -> Iterator[object]:
    """Yield a SQLite target in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder, sqlite_target(Path(folder)) as target:
        yield target


def main() -> None:
    """Parse the arguments and run the benchmark on SQLite, then PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="subscribers in the published tier table")
    parser.add_argument("--lookups", type=int, default=2_000, help="point lookups per timing run")
    parser.add_argument("--repeats", type=int, default=5, help="publications and lookup runs (medians reported)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    bench("sqlite", sqlite_in_temp(), args)
    if not args.no_postgres:
        bench("postgresql", postgres_target(), args)


if __name__ == "__main__":
    main()
