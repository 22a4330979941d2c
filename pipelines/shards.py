"""Sharding by subscriber: a stable hash of subscriber_id picks the shard of every row.

The hash is the splitmix64 finaliser on the id as an unsigned 64-bit integer, computed with numpy:
the same on every process, machine and Python version (unlike Python's salted `hash()`), so a
subscriber always lands in the same shard. Text ids become that integer through `id_numbers`
(an integer written as text is that integer; other text goes through pandas' fixed-key SipHash).
Every feature depends on one subscriber's rows only, so shards can be processed independently and
their results concatenated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.coerce import INTEGER_ID

# splitmix64 constants (Steele, Lea & Flood 2014; the finaliser of java.util.SplittableRandom).
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


class ShardTables(NamedTuple):
    """The four input tables restricted to one shard's subscribers."""

    subscribers: pd.DataFrame
    bills: pd.DataFrame
    payments: pd.DataFrame
    contacts: pd.DataFrame


def id_numbers(subscriber_ids: np.ndarray | pd.Series | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return each subscriber id as a uint64: an integer id (or its text, "123") itself, other text a SipHash of it.

    Nulls count as 0 (the validator quarantines them).
    """
    if isinstance(subscriber_ids, pa.ChunkedArray | pa.Array):
        values = subscriber_ids
    else:
        series = pd.Series(subscriber_ids) if not isinstance(subscriber_ids, pd.Series) else subscriber_ids
        if series.dtype.kind in "iuf":
            return series.to_numpy(dtype=np.int64, na_value=0).view(np.uint64)
        values = pa.array(series.astype("object"), type=pa.string(), from_pandas=True)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy().astype(np.int64).view(np.uint64)
    values = pc.utf8_trim_whitespace(values)  # as the validator reads them: " U1" is U1
    integer = pc.fill_null(pc.match_substring_regex(values, INTEGER_ID), False)
    out = pd.util.hash_array(np.asarray(values.to_numpy(zero_copy_only=False), dtype=object), categorize=False)
    out = np.where(pc.is_null(values).to_numpy(zero_copy_only=False), np.uint64(0), out)
    if pc.any(integer).as_py():
        numbers = pc.fill_null(pc.cast(pc.if_else(integer, values, "0"), pa.int64()), 0).to_numpy()
        out = np.where(integer.to_numpy(zero_copy_only=False), numbers.astype(np.int64).view(np.uint64), out)
    return out.astype(np.uint64, copy=False)


def subscriber_hash(subscriber_ids: np.ndarray | pd.Series) -> np.ndarray:
    """Return the splitmix64 hash (uint64) of each subscriber id (int64 or text, see `id_numbers`)."""
    z = id_numbers(subscriber_ids) + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def shard_of(subscriber_ids: np.ndarray | pd.Series, n_shards: int) -> np.ndarray:
    """Return the shard number (0..n_shards-1, int64) of each subscriber id."""
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, got {n_shards}")
    return (subscriber_hash(subscriber_ids) % np.uint64(n_shards)).astype(np.int64)


def split_by_shard(table: pd.DataFrame, n_shards: int) -> list[pd.DataFrame]:
    """Return `table` cut into n_shards frames by the shard of its subscriber_id (row order kept within a shard)."""
    shard = shard_of(table["subscriber_id"], n_shards)
    order = np.argsort(shard, kind="stable")
    bounds = np.searchsorted(shard[order], np.arange(n_shards + 1))
    return [table.take(order[bounds[i] : bounds[i + 1]]).reset_index(drop=True) for i in range(n_shards)]


def split_tables(
    subscribers: pd.DataFrame, bills: pd.DataFrame, payments: pd.DataFrame, contacts: pd.DataFrame, n_shards: int
) -> list[ShardTables]:
    """Return the four input tables split into n_shards shards by a stable hash of subscriber_id."""
    parts = [split_by_shard(table, n_shards) for table in (subscribers, bills, payments, contacts)]
    return [ShardTables(*tables) for tables in zip(*parts, strict=True)]


def shard_tables(
    subscribers: pd.DataFrame,
    bills: pd.DataFrame,
    payments: pd.DataFrame,
    contacts: pd.DataFrame,
    shard: int,
    n_shards: int,
) -> ShardTables:
    """Return the rows of the four input tables that belong to one shard (for a task that handles one shard)."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard must be in 0..{n_shards - 1}, got {shard}")
    tables = (subscribers, bills, payments, contacts)
    return ShardTables(
        *(table[shard_of(table["subscriber_id"], n_shards) == shard].reset_index(drop=True) for table in tables)
    )
