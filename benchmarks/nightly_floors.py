"""Floors for the nightly's stages: the least the same work costs done bare, on the same data.

validate  vs `pyarrow.parquet.read_table` of the columns validation reads, from the same input files;
features  vs the DuckDB query of `benchmarks.bench_features` on the same tables, preloaded in memory;
scoring   vs `Booster.predict` of the champion's booster on the same rows, preloaded as a numpy matrix;
publish   vs one `executemany` transaction of the tier table's rows into a fresh SQLite table (and,
          when the publish database is PostgreSQL, a bare COPY of them into a temporary table).

Each function returns its seconds (`time.perf_counter`, the bare work only) and what it produced, so a
test can check it did the same work as the stage it is the floor of.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from benchmarks.bench_features import duckdb_features
from data_contracts.loader import load_contract
from pipelines.score import published_score
from tiercast.settings.features import FeaturesSettings


@dataclass(frozen=True)
class Floor:
    """Seconds of one floor measurement and the rows it handled."""

    seconds: float
    rows: int


def read_floor(data_dir: Path, tables: Sequence[str]) -> Floor:
    """Return the seconds and rows of reading each table's contract columns from `<data_dir>/<table>.parquet`."""
    rows = 0
    start = time.perf_counter()
    for table in tables:
        path = data_dir / f"{table}.parquet"
        present = set(pq.read_schema(path).names)
        columns = [name for name in load_contract(table).column_names if name in present]
        rows += pq.read_table(path, columns=columns).num_rows
    return Floor(time.perf_counter() - start, rows)


def features_floor(
    tables: Mapping[str, Any], as_of: date, settings: FeaturesSettings, threads: int = 2
) -> tuple[Floor, pd.DataFrame]:
    """Return the seconds of the DuckDB feature query over the four input tables, preloaded (`bench_features.
    read_inputs`) as the feature step gets them validated in memory, and the feature table it gives."""
    start = time.perf_counter()
    table = duckdb_features(dict(tables), as_of, settings, threads)
    return Floor(time.perf_counter() - start, len(table)), table


def feature_matrix(model: Any, features: pd.DataFrame) -> np.ndarray:
    """Return the rows as the booster takes them: trained columns in order, categories as codes (NaN missing)."""
    prepared = model.prepare(features)
    return np.column_stack([_numbers(prepared[name]) for name in prepared.columns])


def _numbers(series: pd.Series) -> np.ndarray:
    """Return a prepared column as float64: a category's code as LightGBM takes it from pandas (-1 -> NaN)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        return np.where(codes < 0, np.nan, codes.astype("float64"))
    return series.to_numpy(dtype="float64")


def predict_floor(model: Any, matrix: np.ndarray, decimals: int) -> tuple[Floor, np.ndarray]:
    """Return the seconds of `Booster.predict` on the preloaded matrix and the churn scores it gives (calibrated
    and rounded to `decimals` afterwards, untimed: the published scores)."""
    start = time.perf_counter()
    margin = model.booster_.predict(matrix, raw_score=True, num_iteration=model.best_iteration_)
    seconds = time.perf_counter() - start
    return Floor(seconds, len(matrix)), published_score(model.calibrator_.predict(np.asarray(margin)), decimals)


def fastest_binds(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Return `rows` with None as NaN in the columns that hold floats: SQLite stores a NaN as NULL, and sqlite3 binds a
    float directly but None after an adapter look-up (~5x slower), as the publisher does (`pipelines.publish`)."""
    if not rows:
        return list(rows)
    floats = [i for i in range(len(rows[0])) if any(isinstance(row[i], float) for row in rows)]
    if not floats:
        return list(rows)
    nan = float("nan")

    def fast(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in floats:
            if values[i] is None:
                values[i] = nan
        return tuple(values)

    return [fast(row) for row in rows]


def sqlite_floor(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], path: Path) -> Floor:
    """Return the seconds of creating a table in a fresh SQLite file and inserting `rows` in one transaction (each
    value bound as fast as sqlite3 can: `fastest_binds`, prepared before the clock starts)."""
    path.unlink(missing_ok=True)
    rows = fastest_binds(rows)
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    start = time.perf_counter()
    connection = sqlite3.connect(path)
    try:
        with connection:  # one transaction
            connection.execute(f"CREATE TABLE floor ({names})")
            connection.executemany(f"INSERT INTO floor ({names}) VALUES ({marks})", rows)
    finally:
        connection.close()
    return Floor(time.perf_counter() - start, len(rows))


def postgres_floor(conninfo: str, source: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> Floor:
    """Return the seconds of a bare COPY of `rows` into a temporary table shaped like `source`, in one transaction."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo) as connection:
        start = time.perf_counter()
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE TEMP TABLE floor ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                    sql.SQL(", ").join(sql.Identifier(name) for name in columns), sql.Identifier(source)
                )
            )
            names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
            with cursor.copy(sql.SQL("COPY floor ({}) FROM STDIN").format(names)) as copy:
                for row in rows:
                    copy.write_row(row)
        return Floor(time.perf_counter() - start, len(rows))


def published_rows(engine: Any, view: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Return the column names and rows of the live tier table (the view the publisher switched)."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        result = connection.execute(sa.text(f'SELECT * FROM "{view}"'))
        return list(result.keys()), [tuple(row) for row in result]
