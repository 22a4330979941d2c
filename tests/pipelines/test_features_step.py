"""The features step (pipelines/features.py) and `tiercast features`, on small generated data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from models.tiers import score_cutoffs, value_score
from pipelines.features import (
    build_feature_table,
    data_end_date,
    read_previous_stages,
    stage_counts,
    write_feature_table,
)
from tiercast import cli as root
from tiercast.cli import features as features_command
from tiercast.cli.exits import App
from tiercast.settings import load_settings
from tiercast.synthetic import generate

SMALL = (3000, 8, 11)  # subscribers, months, seed: data through generator.end_month (2026-10)
SAMPLE = (30000, 12, 7)
DECISIONS = [
    *("value_score", "tier", "is_red_list", "is_black_list", "flea_flag", "tier_reason"),
    *("lifecycle_stage", "lifecycle_reason"),
]
STAGES = {"identification", "growth", "stable", "warning"}


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("features-small")
    generate(folder, *SMALL, load_settings(environ={}).generator)
    return folder


@pytest.fixture(scope="module")
def small_table(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root_dir = tmp_path_factory.mktemp("features-root")
    return build_feature_table(load_settings(environ={"TIERCAST__PATHS__ROOT": str(root_dir)}), small_data)


def test_table_as_of_the_data_end_with_tiers_and_stages(small_table: pd.DataFrame) -> None:
    table = small_table
    assert (table["as_of"] == pd.Timestamp("2026-10-31")).all()
    assert table["subscriber_id"].is_unique
    assert list(table.columns[-len(DECISIONS) :]) == DECISIONS  # appended to the features contract
    shares = table["tier"].value_counts(normalize=True)
    forced = table["is_red_list"].mean()  # red-list subscribers are high whatever their score
    assert shares["high"] == pytest.approx(0.2, abs=forced + 0.002)
    assert shares["mid"] == pytest.approx(0.3, abs=forced + 0.002)
    assert set(table["lifecycle_stage"]) == STAGES
    assert (table["tier_reason"].str.len() > 0).all() and (table["lifecycle_reason"].str.len() > 0).all()


def test_a_subset_with_global_cutoffs_gets_the_same_tiers_as_the_whole(
    small_data: Path, small_table: pd.DataFrame, settings
) -> None:
    # shard by shard: cut-offs over the whole base, rows built on a subset
    cutoffs = score_cutoffs(value_score(small_table, settings.tiers.value_score), settings.tiers.cutoffs)
    ids = small_table["subscriber_id"].iloc[::7].tolist()
    part = build_feature_table(settings, small_data, subscriber_ids=ids, cutoffs=cutoffs)
    whole = small_table.set_index("subscriber_id").loc[ids].reset_index()
    pd.testing.assert_frame_equal(part, whole)


def test_previous_stages_are_held_within_the_margins(small_data: Path, small_table: pd.DataFrame, settings) -> None:
    same = build_feature_table(settings, small_data, previous_stages=small_table[["subscriber_id", "lifecycle_stage"]])
    assert same["lifecycle_stage"].tolist() == small_table["lifecycle_stage"].tolist()

    all_warning = small_table[["subscriber_id"]].assign(lifecycle_stage="warning")
    held = build_feature_table(settings, small_data, previous_stages=all_warning)
    changed = held["lifecycle_stage"] != small_table["lifecycle_stage"]
    assert changed.sum() > 0
    assert (held.loc[changed, "lifecycle_stage"] == "warning").all()
    assert held.loc[changed, "lifecycle_reason"].str.startswith("warning (held): ").all()


def test_write_is_atomic_and_previous_stages_read_back(small_table: pd.DataFrame, tmp_path: Path) -> None:
    path = write_feature_table(small_table, tmp_path / "out" / "features.parquet")
    assert sorted(p.name for p in path.parent.iterdir()) == ["features.parquet"]
    back = read_previous_stages(path)
    assert list(back.columns) == ["subscriber_id", "lifecycle_stage"]
    assert back["lifecycle_stage"].tolist() == small_table["lifecycle_stage"].tolist()


def test_data_end_date_is_the_last_day_of_the_latest_bill_month() -> None:
    bills = pd.DataFrame({"bill_month": pd.to_datetime(["2026-08-01", "2026-02-01", "2026-02-01"])})
    assert data_end_date(bills, 0.5) == date(2026, 8, 31)
    assert data_end_date(bills.iloc[1:], 0.5) == date(2026, 2, 28)
    with pytest.raises(ValueError, match="no bills"):
        data_end_date(bills.iloc[:0], 0.5)


def test_one_far_future_bill_does_not_move_the_data_end() -> None:
    """Given 3 months of 4 bills and one bill for 2031-01: the data ends with the last full month."""
    months = ["2026-08-01"] * 4 + ["2026-09-01"] * 4 + ["2026-10-01"] * 3 + ["2031-01-01"]
    bills = pd.DataFrame({"bill_month": pd.to_datetime(months)})

    assert data_end_date(bills, 0.5) == date(2026, 10, 31)  # 3 bills: at least half the median 3.5
    assert data_end_date(bills, 0.9) == date(2026, 9, 30)  # 3 < 0.9 x 3.5


def test_stage_counts_by_tier_and_stage_with_totals() -> None:
    table = pd.DataFrame(
        {
            "tier": ["high", "low", "low", "mid", "low"],
            "lifecycle_stage": ["stable", "warning", "warning", "growth", "stable"],
        }
    )
    counts = stage_counts(table)
    assert counts.index.tolist() == ["high", "mid", "low", "total"]
    assert counts.columns.tolist() == ["growth", "stable", "warning", "total"]
    assert counts.to_numpy().tolist() == [[0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 2, 3], [1, 2, 2, 5]]


def features_app() -> typer.Typer:
    app = App()
    app.callback()(root._root)
    features_command.register(app)
    return app


def invoke(tmp_path: Path, *args: str):
    env = {"TIERCAST__PATHS__ROOT": str(tmp_path), "COLUMNS": "200"}
    return CliRunner().invoke(features_app(), ["features", *args], env=env)


def test_cli_writes_parquet_and_prints_tier_by_stage(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    first = invoke(tmp_path, "--data", str(small_data), "--as-of", "2026-09-30", "--out", str(out))
    assert first.exit_code == 0, first.output
    assert "as of 2026-09-30" in first.output and "high" in first.output and "flea users flagged" in first.output
    assert str(out) in first.output.replace("\n", "")
    assert (pd.read_parquet(out, columns=["as_of"])["as_of"] == pd.Timestamp("2026-09-30")).all()

    second = invoke(tmp_path, "--data", str(small_data), "--previous", str(out))
    assert second.exit_code == 0, second.output
    assert (tmp_path / "data" / "features" / "features_2026-10-31.parquet").is_file()


def test_cli_on_a_folder_without_tables_exits_3(tmp_path: Path) -> None:
    result = invoke(tmp_path, "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "f.parquet"))
    assert result.exit_code == 3
    assert "missing table" in result.output


@pytest.mark.slow
def test_flea_flag_and_tiers_against_the_generators_truth(tmp_path: Path, settings) -> None:
    # the robust part of benchmarks/flea_quality.py (30k subscribers x 12 months, as of the last day)
    generate(tmp_path / "data", *SAMPLE, settings.generator)
    table = build_feature_table(settings, tmp_path / "data")
    truth = pd.read_parquet(tmp_path / "data" / "_truth" / "subscriber_types.parquet")
    joined = table.merge(truth, on="subscriber_id", how="left", validate="one_to_one")
    flagged, flea = joined["flea_flag"], joined["is_flea"].astype(bool)
    assert (flagged & flea).sum() / flagged.sum() >= 0.65  # precision (0.8 on 100k, see the benchmark)
    assert (flagged & flea).sum() / flea.sum() >= 0.65  # recall
    assert flagged[joined["true_type"] == "loyal_low"].sum() == 0
    revenue = joined.groupby("tier")["arpu_3m"].sum()
    assert revenue["high"] / revenue.sum() > 0.5  # domain.md 80/20: the top tier carries most revenue
