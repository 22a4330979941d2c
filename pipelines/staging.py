"""Split the input files into per-shard folders, streaming, so later steps hold one shard at a time.

Every input table carries `subscriber_id`, and every feature, tier and score depends on one
subscriber's rows only, so a shard (subscribers with the same hash of their id) is self-contained:
references (bills -> subscribers, payments -> bills, contacts -> subscribers) stay inside it.
Files are read in batches of `batch_rows` and appended to `<out>/shard-NNNNN/<table>.parquet`, so
peak memory is one batch plus the writers' buffers, whatever the size of the base. Row order
within a shard is the input order. A shard with no rows for a table gets an empty file with
the same columns, so every shard folder holds every table.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data_contracts.loader import ContractError
from pipelines.ingest import CSV_NULLS, table_path
from pipelines.shards import shard_of

log = logging.getLogger(__name__)

KEY = "subscriber_id"


@dataclass(frozen=True)
class StagedShards:
    """Per-shard input folders and how many rows of each table went where."""

    folders: tuple[Path, ...]
    rows: dict[str, tuple[int, ...]]


def shard_folder(out_dir: Path, shard: int) -> Path:
    """Return the folder holding shard `shard`'s input tables."""
    return out_dir / f"shard-{shard:05d}"


def _csv_schema(path: Path) -> pa.Schema:
    """Return the CSV file's columns, all as text (the reader converts them to the contract types)."""
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8").rstrip("\r\n").split(",")
    return pa.schema([(name, pa.string()) for name in header])


def _batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Yield the file's rows in batches; CSV columns stay text (the reader converts and checks them)."""
    if path.suffix == ".parquet":
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
        return
    convert = pa_csv.ConvertOptions(column_types=_csv_schema(path), null_values=CSV_NULLS, strings_can_be_null=True)
    reader = pa_csv.open_csv(path, convert_options=convert, read_options=pa_csv.ReadOptions(block_size=64 << 20))
    yield from reader


def _shards_of(table: str, batch: pa.RecordBatch, n_shards: int) -> np.ndarray:
    """Return each row's shard; a null or unreadable subscriber_id counts as 0 (the validator quarantines it)."""
    if KEY not in batch.schema.names:
        raise ContractError(table, f"missing column(s) ['{KEY}']; found {batch.schema.names}", KEY, "exists")
    column = batch.column(KEY)
    if pa.types.is_floating(column.type):
        column = pc.cast(column, pa.int64(), safe=False)
    elif not pa.types.is_integer(column.type):
        text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
        column = pc.cast(pc.if_else(pc.fill_null(pc.utf8_is_digit(text), False), text, "0"), pa.int64())
    ids = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy()
    return shard_of(ids, n_shards)


def stage_shards(data_dir: Path, out_dir: Path, tables: list[str], n_shards: int, batch_rows: int) -> StagedShards:
    """Write every table of `data_dir` into `n_shards` folders under `out_dir` (replacing what was there)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    folders = tuple(shard_folder(out_dir, shard) for shard in range(n_shards))
    for folder in folders:
        folder.mkdir(parents=True)
    rows: dict[str, tuple[int, ...]] = {}
    for table in tables:
        rows[table] = _stage_table(table, table_path(data_dir, table), folders, batch_rows)
        log.info("staged %s into %d shards (%d rows)", table, n_shards, sum(rows[table]))
    return StagedShards(folders, rows)


def _stage_table(table: str, path: Path, folders: tuple[Path, ...], batch_rows: int) -> tuple[int, ...]:
    counts = np.zeros(len(folders), dtype=np.int64)
    writers: dict[int, pq.ParquetWriter] = {}
    schema: pa.Schema | None = None
    try:
        for batch in _batches(path, batch_rows):
            schema = batch.schema
            shards = _shards_of(table, batch, len(folders))
            order = np.argsort(shards, kind="stable")
            bounds = np.searchsorted(shards[order], np.arange(len(folders) + 1))
            sorted_batch = batch.take(pa.array(order))
            for shard in (int(i) for i in np.flatnonzero(np.diff(bounds))):
                part = sorted_batch.slice(bounds[shard], bounds[shard + 1] - bounds[shard])
                if shard not in writers:
                    writers[shard] = pq.ParquetWriter(folders[shard] / f"{table}.parquet", batch.schema)
                writers[shard].write_batch(part)
                counts[shard] += part.num_rows
        if schema is None:
            schema = pq.read_schema(path) if path.suffix == ".parquet" else _csv_schema(path)
        for index, folder in enumerate(folders):
            if index not in writers:
                pq.write_table(schema.empty_table(), folder / f"{table}.parquet")
    finally:
        for writer in writers.values():
            writer.close()
    return tuple(int(c) for c in counts)
