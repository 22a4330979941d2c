"""Nightly steps that combine shards: the merged retention list equals the list built over the whole base."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from models.retention import retention_list
from pipelines.nightly import ShardOutputs, balanced_shards
from pipelines.nightly_results import merge_retention
from tiercast.settings import Settings, load_settings

AS_OF = date(2026, 10, 31)
KEY = b"tiercast-test-key-32-bytes-long!"


def key(short: str) -> str:
    """A subscriber_key of the published shape (64 hex digits) that reads as `short`."""
    return short.ljust(64, "0")


def scored(keys: list[str], scores: list[float], tiers: list[str]) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame(
        {
            "subscriber_key": [key(k) for k in keys],
            "churn_score": scores,
            "arpu_3m": [100.0] * n,
            "tier": tiers,
            "lifecycle_stage": ["warning"] * n,
            "is_black_list": [False] * n,
            "flea_flag": [False] * n,
            "do_not_contact": [False] * n,
            "days_since_retention_call": [float("nan")] * n,
            "data_share": [0.1] * n,
            "data_mb_3m": [500.0] * n,
            "long_distance_share": [0.0] * n,
            "age": [40.0] * n,
            "churn_reasons": ["arrears 2 months"] * n,
        }
    )


def small_desks(tmp_path: Path) -> Settings:
    return load_settings(
        environ={
            "TIERCAST__PATHS__ROOT": str(tmp_path),
            "TIERCAST__RETENTION__DESKS": (
                "{account_manager: {tiers: [high], daily_capacity: 1}, product: {tiers: [mid], daily_capacity: 2},"
                " tariff: {tiers: [low], daily_capacity: 2}}"
            ),
        }
    )


def test_merged_shard_lists_equal_the_whole_base_list(tmp_path: Path) -> None:
    settings = small_desks(tmp_path)
    shard_a = scored(["a1", "a2", "a3"], [0.50, 0.20, 0.40], ["mid", "mid", "high"])
    shard_b = scored(["b1", "b2", "b3"], [0.30, 0.60, 0.45], ["mid", "high", "low"])
    parts = []
    for shard, frame in enumerate((shard_a, shard_b)):
        path = tmp_path / f"retention-{shard}.parquet"
        retention_list(frame, settings.retention, AS_OF, "run-1", KEY).to_parquet(path, index=False)
        parts.append(ShardOutputs(shard, path, path, path, len(frame), {}, []))
    merged = merge_retention(settings, parts)
    whole = retention_list(pd.concat([shard_a, shard_b], ignore_index=True), settings.retention, AS_OF, "run-1", KEY)
    whole.to_parquet(tmp_path / "whole.parquet", index=False)  # the shard lists went through Parquet too
    whole = pd.read_parquet(tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(merged.reset_index(drop=True), whole.reset_index(drop=True))
    short = merged.assign(subscriber_key=merged["subscriber_key"].str[:2])
    assert short.groupby("desk")["subscriber_key"].apply(list).to_dict() == {
        "account_manager": ["b2"],  # capacity 1: the larger value at risk of the two high-tier customers
        "product": ["a1", "b1"],  # capacity 2: 0.50 and 0.30 beat 0.20
        "tariff": ["b3"],
    }
    assert merged.groupby("desk")["rank"].apply(list).to_dict() == {
        "account_manager": [1],
        "product": [1, 2],
        "tariff": [1],
    }


@pytest.mark.parametrize(
    ("subscribers", "runner", "address", "expected"),
    [
        (1_000, "threads", None, 1),  # fewer shards than threads: as many as the size needs
        (500_000, "threads", None, 2),
        (1_000_000, "threads", None, 4),
        (1_000_001, "threads", None, 6),  # 5 needed, 2 at a time: 6 smaller shards, no idle thread in round 3
        (1_000_001, "dask", None, 6),  # a LocalCluster of flows.dask_workers (2)
        (1_000_001, "dask", "tcp://scheduler:8786", 5),  # an existing cluster's size is not known here
    ],
)
def test_shards_fill_every_round_of_the_runner(
    subscribers: int, runner: str, address: str | None, expected: int
) -> None:
    flows = load_settings(None, environ={}).flows.model_copy(
        update={
            "shard_size": 250_000,
            "task_runner": runner,
            "thread_workers": 2,
            "dask_workers": 2,
            "dask_address": address,
        }
    )
    assert balanced_shards(subscribers, flows) == expected
