"""The nightly's floors do the same work as the stage they stand beside, on tiny data."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from benchmarks.bench_features import random_tables, read_inputs
from benchmarks.nightly_floors import (
    fastest_binds,
    feature_matrix,
    features_floor,
    postgres_floor,
    predict_floor,
    published_rows,
    read_floor,
    sqlite_floor,
)
from features.build import feature_table
from models.churn import ChurnModel
from pipelines.score import published_score
from tiercast.settings import load_settings
from tiercast.settings.features import FeaturesSettings

AS_OF = date(2025, 12, 31)
TABLES = ("subscribers", "bills", "payments", "contacts")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Given 300 quick random subscribers x 6 months as Parquet, with a column no contract names."""
    folder = tmp_path_factory.mktemp("inputs")
    for name, frame in random_tables(300, 6).items():
        frame = frame.assign(extract_batch=1) if name == "subscribers" else frame
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def feature_settings() -> FeaturesSettings:
    return load_settings(environ={}).features


@pytest.fixture(scope="module")
def features(inputs: Path, feature_settings: FeaturesSettings) -> pd.DataFrame:
    tables = {name: pd.read_parquet(inputs / f"{name}.parquet") for name in TABLES}
    subscribers, bills, payments, contacts = (tables[name] for name in TABLES)
    return feature_table(subscribers, bills, payments, contacts, AS_OF, feature_settings)


def test_the_read_floor_reads_every_row_of_the_tables(inputs: Path) -> None:
    floor = read_floor(inputs, TABLES)
    assert floor.rows == sum(len(pd.read_parquet(inputs / f"{name}.parquet")) for name in TABLES)
    assert floor.seconds > 0


def test_the_duckdb_floor_lists_the_subscribers_the_feature_table_does(
    inputs: Path, features: pd.DataFrame, feature_settings: FeaturesSettings
) -> None:
    floor, table = features_floor(read_inputs(inputs), AS_OF, feature_settings, threads=1)
    assert floor.rows == len(features) > 0
    assert table["subscriber_id"].tolist() == features["subscriber_id"].tolist()


def test_the_predict_floor_gives_the_pipelines_scores(features: pd.DataFrame) -> None:
    """Given a tiny model and rows with an unseen plan and a missing gender, when predicted from the bare
    matrix, then the scores are the ones the nightly publishes (score_features' expression)."""
    x = features.drop(columns=["subscriber_id", "as_of"])
    y = np.random.default_rng(3).random(len(x)) < 0.3
    model = ChurnModel(n_estimators=20, early_stopping_rounds=0, calibration_folds=3, n_jobs=1).fit(x, y)
    rows = features.assign(plan=features["plan"].astype("object"), gender=features["gender"].astype("object"))
    rows.loc[0, "plan"], rows.loc[1, "gender"] = "unseen_plan", None
    floor, scores = predict_floor(model, feature_matrix(model, rows), decimals=6)
    expected = published_score(np.asarray(model.predict_proba(rows))[:, 1], 6)
    assert floor.rows == len(rows)
    np.testing.assert_array_equal(scores, expected)


ROWS = [("k1", "high", 0.25, "2025-12-31 00:00:00.000000"), ("k2", "low", None, "2025-12-31 00:00:00.000000")]
COLUMNS = ["subscriber_key", "tier", "churn_score", "as_of"]


def test_the_sqlite_floor_inserts_the_rows_into_a_fresh_table(tmp_path: Path) -> None:
    path = tmp_path / "floor.db"
    path.write_text("left over")  # not a database: a fresh one replaces it
    assert sqlite_floor(COLUMNS, ROWS, path).rows == 2
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT * FROM floor ORDER BY subscriber_key").fetchall() == ROWS


def test_the_floor_binds_a_missing_float_as_nan_and_leaves_other_columns_alone() -> None:
    rows = fastest_binds([("k1", 0.5, None, 1), ("k2", None, None, None)])
    assert rows[0][:3] == ("k1", 0.5, None) and rows[1][0] == "k2" and rows[1][2:] == (None, None)
    assert math.isnan(rows[1][1])


def test_published_rows_are_the_views_columns_and_rows(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'published.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE tier_table_v1 (subscriber_key TEXT, tier TEXT)")
        connection.exec_driver_sql("INSERT INTO tier_table_v1 VALUES ('k1', 'high'), ('k2', 'low')")
        connection.exec_driver_sql("CREATE VIEW tier_table AS SELECT * FROM tier_table_v1")
    assert published_rows(engine, "tier_table") == (["subscriber_key", "tier"], [("k1", "high"), ("k2", "low")])
    engine.dispose()


@pytest.fixture
def postgres_db() -> Iterator[str]:
    from tests.pipelines.publish_db import postgres_target

    with postgres_target() as target:
        with target.engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE tier_table (subscriber_key text, tier text, churn_score double precision, as_of text)"
            )
        yield target.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres
def test_the_postgres_floor_copies_every_row(postgres_db: str) -> None:
    assert postgres_floor(postgres_db, "tier_table", COLUMNS, ROWS).rows == 2
