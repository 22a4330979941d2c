from datetime import date

import numpy as np
import pandas as pd
import pytest

from benchmarks.bench_features import random_tables
from features.build import feature_table
from pipelines.shards import shard_of, shard_tables, split_tables, subscriber_hash

MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """Pure-Python splitmix64 finaliser: the reference the numpy version must match bit for bit."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def test_hash_is_splitmix64_of_the_id() -> None:
    ids = [0, 1, 2, 12345, 2**31, 2**62, 2**63 - 1]
    assert subscriber_hash(np.array(ids)).tolist() == [splitmix64(i) for i in ids]
    assert subscriber_hash(np.array([0]))[0] == 0xE220A8397B1DCDAF  # splitmix64's published first output


def test_shards_are_fixed_for_all_time() -> None:
    # changing the hash would move subscribers between shards of stored outputs: pinned values
    assert shard_of(np.arange(1, 13), 4).tolist() == [1, 2, 1, 2, 2, 0, 3, 2, 0, 2, 1, 3]
    assert shard_of(pd.Series([7, 7, 7]), 16).tolist() == [int(splitmix64(7) % 16)] * 3


def test_shards_are_balanced_on_consecutive_ids() -> None:
    counts = np.bincount(shard_of(np.arange(1, 100_001), 8), minlength=8)
    assert counts.min() > 0.95 * 100_000 / 8
    assert counts.max() < 1.05 * 100_000 / 8


def test_zero_shards_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard_of(np.array([1]), 0)


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return random_tables(600, 12, end_month="2025-12", seed=5)


def test_split_tables_puts_every_row_in_exactly_its_subscribers_shard(tables: dict[str, pd.DataFrame]) -> None:
    shards = split_tables(tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"], 3)
    assert len(shards) == 3
    for name in ("subscribers", "bills", "payments", "contacts"):
        parts = [getattr(shard, name) for shard in shards]
        assert sum(len(part) for part in parts) == len(tables[name])
        for number, part in enumerate(parts):
            assert (shard_of(part["subscriber_id"], 3) == number).all()
        together = pd.concat(parts).sort_values(list(parts[0].columns)).reset_index(drop=True)
        pd.testing.assert_frame_equal(together, tables[name].sort_values(list(parts[0].columns)).reset_index(drop=True))


def test_one_shard_equals_the_same_shard_of_the_split(tables: dict[str, pd.DataFrame]) -> None:
    inputs = (tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"])
    whole = split_tables(*inputs, 4)[2]
    single = shard_tables(*inputs, shard=2, n_shards=4)
    for name in whole._fields:
        pd.testing.assert_frame_equal(getattr(single, name), getattr(whole, name))
    with pytest.raises(ValueError, match="shard must be"):
        shard_tables(*inputs, shard=4, n_shards=4)


@pytest.mark.parametrize("as_of", [date(2025, 12, 31), date(2025, 8, 17)])
def test_features_of_the_shards_concatenated_equal_the_whole_exactly(
    tables: dict[str, pd.DataFrame], settings, as_of: date
) -> None:
    inputs = (tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"])
    whole = feature_table(*inputs, as_of, settings.features)
    parts = [feature_table(*shard, as_of, settings.features) for shard in split_tables(*inputs, 5)]
    joined = pd.concat(parts, ignore_index=True).sort_values("subscriber_id", ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole, check_exact=True)
