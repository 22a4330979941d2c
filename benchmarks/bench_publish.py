"""Benchmark (issue 15): the publisher beside its floor, on the same rows.

    .venv/bin/python -m benchmarks.bench_publish --rows 1000000 --parts 5 --repeats 5
    .venv/bin/python -m benchmarks.bench_publish --from /tmp/pub1m --repeats 5   # a real run's parts
    .venv/bin/python -m benchmarks.bench_publish --rows 20000 --repeats 2 --workdir /tmp/bench_publish_small
    .venv/bin/python -m benchmarks.bench_publish --rows 1000000 --parts 6 --repeats 5 \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/tiercast_bench   # PostgreSQL, against a bare COPY

The tier table is written once as `--parts` Parquet files, as the nightly's shards leave it (contract-checked
rows sorted by subscriber_key; generated, or `--from DIR` holding `part*.parquet`, `retention.parquet` and
optionally `callbacks.parquet`). A SQLite database (or the `--url` database) is first given
`keep_versions` publications of it (untimed), so each timed publication finds what a nightly finds: a live
version to hold its guardrails against and an old one to prune. Each repeat then runs, each in a fresh Python process:

- publish: `pipelines.publish.publish` of the parts, the retention list and the call-back list, timed
  around the call (`time.perf_counter`), with the process's peak RSS (getrusage). The parts go as the
  nightly passes them (`CheckedParts`: validated by the shards that wrote them); `--unchecked` passes
  plain paths, whose every value the publisher checks against the contract;
- floor: `benchmarks.nightly_floors.sqlite_floor` of the same rows (one `executemany` transaction), or with
  a PostgreSQL `--url` `postgres_floor` (a bare `COPY` of them), read back from the view as Python tuples
  beforehand (untimed), as `benchmarks.bench_nightly` measures the publish floor.

It prints each repeat, the medians, the ratio of the medians (issue 15's goal: at most 2.0) and the
peak RSS, and the same as one JSON line at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

AS_OF = date(2026, 10, 31)
RUN_ID = "20261031-m1-bench"
GOAL = 2.0
# Reasons as the routing writes them, with their shares in a generated 1M night: few distinct texts.
REASONS = {
    "low tier: standard queue": 0.44,
    "mid tier: ahead of the standard queue, call-back within 24 h": 0.25,
    "high tier: green channel, front of the queue": 0.17,
    "low tier in warning stage: standard queue, ahead of other low-tier calls": 0.06,
    "mid tier in warning stage: retention desk": 0.045,
    "high tier in warning stage: green channel to the retention desk": 0.025,
    "red list: green channel, front of the queue": 0.01,
}


def tier_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """Return a contract-valid tier table of `rows` subscribers shaped like a nightly's, sorted by subscriber_key."""
    from pipelines.database import contract_columns

    rng = np.random.default_rng(seed)
    keys = [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(rows)]
    tier = rng.choice(["high", "mid", "low"], rows, p=[0.2, 0.3, 0.5])
    frame = pd.DataFrame(
        {
            "subscriber_key": pd.Series(keys, dtype="str"),
            "tier": pd.Series(tier, dtype="str"),
            "is_red_list": rng.random(rows) < 0.006,
            "is_black_list": rng.random(rows) < 0.002,
            "flea_flag": rng.random(rows) < 0.01,
            "lifecycle_stage": pd.Series(
                rng.choice(["identification", "growth", "stable", "warning"], rows, p=[0.1, 0.2, 0.57, 0.13]),
                dtype="str",
            ),
            "churn_score": rng.beta(1, 12, rows).round(6),
            "risk_band": pd.Series(rng.choice(["low", "medium", "high"], rows, p=[0.9, 0.08, 0.02]), dtype="str"),
            "priority": rng.integers(1, 7, rows).astype("int64"),
            "queue": pd.Series(rng.choice(["vip", "retention", "standard"], rows, p=[0.2, 0.1, 0.7]), dtype="str"),
            "sla_target_share": np.where(tier == "high", 0.9, 0.85),
            "sla_target_seconds": np.full(rows, 20, dtype="int64"),
            "callback_hours": np.where(tier == "mid", 24.0, np.nan),
            "reason": pd.Series(rng.choice(list(REASONS), rows, p=_shares(REASONS)), dtype="str"),
            "as_of": pd.Series(pd.Timestamp(AS_OF), index=range(rows)).astype("datetime64[us]"),
            "run_id": pd.Series(RUN_ID, index=range(rows), dtype="str"),
            "model_version": pd.Series("1", index=range(rows), dtype="str"),
        }
    )
    return frame.loc[:, contract_columns("tier_table")].sort_values("subscriber_key").reset_index(drop=True)


def _shares(weights: dict[str, float]) -> list[float]:
    total = sum(weights.values())
    return [w / total for w in weights.values()]


def split_parts(table: pd.DataFrame, parts: int, folder: Path) -> list[Path]:
    """Write `table` as `parts` Parquet files (every parts-th row, each still sorted by key); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(parts):
        path = folder / f"part{i}.parquet"
        table.iloc[i::parts].reset_index(drop=True).to_parquet(path, index=False)
        paths.append(path)
    return paths


def lists_for(table: pd.DataFrame, retention_rows: int = 2420, callback_rows: int = 15) -> tuple[pd.DataFrame, ...]:
    """Return a contract-valid retention list and call-back list of the tier table's first subscribers."""
    head = table.head(retention_rows)
    n = len(head)
    retention = pd.DataFrame(
        {
            "run_date": head["as_of"] + pd.Timedelta(days=1),
            "desk": pd.Series(np.array(["tariff", "network", "billing"])[np.arange(n) % 3], dtype="str"),
            "rank": (np.arange(n) // 3 + 1).astype("int64"),
            "subscriber_key": head["subscriber_key"],
            "group": pd.Series("treated", index=head.index, dtype="str"),
            "value_at_risk": np.linspace(500.0, 10.0, n),
            "churn_score": head["churn_score"],
            "tier": head["tier"],
            "lifecycle_stage": head["lifecycle_stage"],
            "reasons": pd.Series("falling usage; 2 complaints", index=head.index, dtype="str"),
            "suggested_action": pd.Series("cheaper plan matched to actual usage", index=head.index, dtype="str"),
            "ranking": pd.Series("churn_value", index=head.index, dtype="str"),
            "incremental_value": np.nan,
            "as_of": head["as_of"],
            "run_id": head["run_id"],
        }
    )
    called = table.iloc[retention_rows : retention_rows + callback_rows]
    missed = pd.Timestamp(AS_OF) + pd.to_timedelta(np.arange(len(called)) * 600 + 9 * 3600, unit="s")
    callbacks = pd.DataFrame(
        {
            "run_date": called["as_of"] + pd.Timedelta(days=1),
            "desk": pd.Series("callback", index=called.index, dtype="str"),
            "rank": np.arange(1, len(called) + 1, dtype="int64"),
            "subscriber_key": called["subscriber_key"],
            "tier": called["tier"],
            "missed_at": np.asarray(missed, dtype="datetime64[us]"),
            "due_by": np.asarray(missed + pd.Timedelta(hours=24), dtype="datetime64[us]"),
            "wait_seconds": np.linspace(5.0, 60.0, len(called)),
            "as_of": called["as_of"],
            "run_id": called["run_id"],
        }
    )
    return retention.reset_index(drop=True), callbacks.reset_index(drop=True)


def prepare(workdir: Path, rows: int, parts: int, source: Path | None) -> Path:
    """Write (or copy the paths of) the parts and lists under `workdir`; return the folder holding them."""
    if source is not None:
        return source
    folder = workdir / f"data_{rows}x{parts}"
    if not (folder / "retention.parquet").exists():
        table = tier_rows(rows)
        split_parts(table, parts, folder)
        retention, callbacks = lists_for(table)
        callbacks.to_parquet(folder / "callbacks.parquet", index=False)
        retention.to_parquet(folder / "retention.parquet", index=False)
    return folder


def _inputs(data: Path) -> tuple[list[Path], pd.DataFrame, pd.DataFrame | None]:
    called = data / "callbacks.parquet"
    callbacks = pd.read_parquet(called) if called.exists() else None
    return sorted(data.glob("part*.parquet")), pd.read_parquet(data / "retention.parquet"), callbacks


def _engine(target: str) -> Any:
    """An engine on `target`: a SQLAlchemy URL (PostgreSQL) or the path of a SQLite database."""
    from pipelines.database import create_db_engine

    return create_db_engine(target if "://" in target else f"sqlite:///{target}", 2000)


def reset(target: str) -> None:
    """Empty `target` of what the publisher made (its view, versions, registry and lists); nothing else is touched."""
    import re

    import sqlalchemy as sa

    from data_contracts.loader import load_contract

    if "://" not in target:
        for leftover in Path(target).parent.glob(Path(target).name + "*"):
            leftover.unlink()
        return
    settings = _settings()
    engine = _engine(target)
    try:
        names = sa.inspect(engine).get_table_names()
        ours = {settings.publications_table, settings.retention_table, load_contract("callback_list").table}
        versions = re.compile(re.escape(settings.tier_view) + r"_v\d+")
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP VIEW IF EXISTS "{settings.tier_view}"'))
            for name in names:
                if name in ours or versions.fullmatch(name):
                    conn.execute(sa.text(f'DROP TABLE "{name}"'))
    finally:
        engine.dispose()


def _settings() -> Any:
    from tiercast.settings import load_settings

    return load_settings(environ={}).publish


def publish_once(data: Path, db: str, checked: bool = True) -> dict[str, Any]:
    """Publish the parts into `db` (a SQLite path or a URL) in this process (as `CheckedParts` unless `checked` is
    False); return seconds of the call, rows and peak RSS (MB)."""
    from pipelines import publish as publisher

    paths, retention, callbacks = _inputs(data)
    marked = getattr(publisher, "CheckedParts", None)  # None on revisions before it (before/after comparisons)
    parts = marked(tuple(paths)) if checked and marked is not None else paths
    engine, settings = _engine(db), _settings()  # settings read before the clock starts, as the nightly has them
    try:
        start = time.perf_counter()
        publication = publisher.publish(engine, settings, parts, retention, callbacks)
        seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    return {"seconds": seconds, "rows": publication.rows, "peak_rss_mb": _peak_rss_mb()}


def floor_once(db: str, floor_db: Path) -> dict[str, Any]:
    """Return the seconds of the floor on the live view's rows (read untimed as tuples), rows and peak RSS: one
    `executemany` transaction into a new SQLite database (`sqlite_floor`), or, when `db` is a PostgreSQL URL, a
    bare `COPY` into a temporary table there (`postgres_floor`), as `benchmarks.bench_nightly` measures them."""
    from benchmarks.nightly_floors import postgres_floor, published_rows, sqlite_floor

    engine = _engine(db)
    try:
        columns, rows = published_rows(engine, _settings().tier_view)
        postgres = engine.dialect.name == "postgresql"
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        engine.dispose()
    if postgres:
        floor = postgres_floor(url, _settings().tier_view, columns, rows)
    else:
        floor = sqlite_floor(columns, rows, floor_db)
        floor_db.unlink(missing_ok=True)
    return {"seconds": floor.seconds, "rows": floor.rows, "peak_rss_mb": _peak_rss_mb()}


def _run_child(kind: str, *args: str) -> dict[str, Any]:
    if kind == "prepare":
        workdir, rows, parts, source = args
        return {"data": str(prepare(Path(workdir), int(rows), int(parts), Path(source) if source else None))}
    if kind.startswith("publish"):
        return publish_once(Path(args[0]), args[1], checked=kind == "publish")
    return floor_once(args[0], Path(args[1]))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_publish", "--child", *args]
    output = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def summary(publishes: list[dict[str, Any]], floors: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the medians of publish and floor seconds, their ratio and the largest peak RSS of each."""
    publish_s = statistics.median(r["seconds"] for r in publishes)
    floor_s = statistics.median(r["seconds"] for r in floors)
    return {
        "rows": publishes[0]["rows"],
        "repeats": len(publishes),
        "publish_s": round(publish_s, 3),
        "floor_s": round(floor_s, 3),
        "ratio": round(publish_s / floor_s, 2),
        "goal": GOAL,
        "publish_peak_rss_mb": round(max(r["peak_rss_mb"] for r in publishes)),
        "floor_peak_rss_mb": round(max(r["peak_rss_mb"] for r in floors)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--from", dest="source", type=Path, default=None, help="folder with part*.parquet etc.")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_publish"))
    parser.add_argument("--unchecked", action="store_true", help="publish plain paths (full contract per part)")
    parser.add_argument(
        "--url",
        default=None,
        help="publish into this database instead of a SQLite file under --workdir, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/tiercast_bench (floor: a bare COPY there); the publisher's "
        "view, versions, registry and lists in it are dropped first",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_run_child(*args.child)))
        return
    # every step in a fresh process: getrusage's peak survives exec, so a parent holding the rows would show
    data = Path(_child("prepare", str(args.workdir), str(args.rows), str(args.parts), str(args.source or ""))["data"])
    db = args.url or str(args.workdir / "published" / "tiercast.db")
    reset(db)
    kind = "publish-unchecked" if args.unchecked else "publish"
    for _ in range(_settings().keep_versions):  # what a nightly's database holds before it publishes
        _child(kind, str(data), str(db))
    publishes, floors = [], []
    for k in range(args.repeats):
        publishes.append(_child(kind, str(data), str(db)))
        floors.append(_child("floor", str(db), str(args.workdir / "floor.db")))
        seconds = publishes[-1]["seconds"], floors[-1]["seconds"]
        print(f"repeat {k + 1}: publish {seconds[0]:.2f} s, floor {seconds[1]:.2f} s", flush=True)
    result = summary(publishes, floors)
    print(
        f"{result['rows']:,} rows, medians of {result['repeats']}: publish {result['publish_s']:.2f} s, "
        f"floor {result['floor_s']:.2f} s, ratio {result['ratio']:.2f} (goal {GOAL}); peak RSS publish "
        f"{result['publish_peak_rss_mb']} MB, floor {result['floor_peak_rss_mb']} MB"
        + (" (unchecked parts: full contract)" if args.unchecked else "")
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
