"""Split the input files into per-shard folders, streaming, so later steps hold one shard at a time.

Every input table carries `subscriber_id`, and every feature, tier and score depends on one
subscriber's rows only, so a shard (subscribers with the same hash of their id) is self-contained:
references (bills -> subscribers, payments -> bills, contacts -> subscribers) stay inside it.
Files are read through the source mapping (file names, encoding, column names) in batches of
`batch_rows` (a table of several files: one file after another, pipelines/sources.py) and appended to
`<out>/shard-NNNNN/<table>.<fmt>` under tiercast's column names
(columns the contract does not know are left out; CSV values stay text, converted by the
validator), so peak memory is one batch plus the writers' buffers, whatever the size of the base.
Row order within a shard is the input order. A shard with no rows for a table gets an empty file
with the same columns, so every shard folder holds every table. `<out>/export.json` records what
holds for the whole export: the kind of its subscriber ids (int64 or text) and the columns ignored.

`fmt` "arrow" (the default, `flows.stage_format`) writes Arrow IPC files: no encoding or compression,
so writing them and reading them back cost a fraction of Parquet's, for ~4x the scratch disk (figures
in the README).
"""

from __future__ import annotations

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from data_contracts.loader import ContractError, load_contract
from pipelines.coerce import id_kind_of, is_text, without_leading_zeros
from pipelines.mapping import SourceMapping
from pipelines.shards import shard_of
from pipelines.sources import Source, header, iter_batches, locate

log = logging.getLogger(__name__)

KEY = "subscriber_id"
EXPORT_FILE = "export.json"


@dataclass(frozen=True)
class StagedShards:
    """Per-shard input folders, how many rows of each table went where, and the export's id kind."""

    folders: tuple[Path, ...]
    rows: dict[str, tuple[int, ...]]
    id_kind: str = "int64"
    ignored: dict[str, tuple[str, ...]] | None = None


def shard_folder(out_dir: Path, shard: int) -> Path:
    """Return the folder holding shard `shard`'s input tables."""
    return out_dir / f"shard-{shard:05d}"


def read_export_facts(out_dir: Path) -> dict[str, object]:
    """Return what staging recorded of the whole export (`id_kind`, `ignored` columns per table)."""
    path = out_dir / EXPORT_FILE
    return json.loads(path.read_text()) if path.is_file() else {"id_kind": None, "ignored": {}}


def _renames(source: Source, table: str, mapping: SourceMapping) -> dict[str, str]:
    """Return export column -> tiercast column for the contract columns the file has."""
    names = mapping.table(table)
    present = set(header(source))
    wanted = {names.source_name(column): column for column in load_contract(table).columns}
    return {column: canonical for column, canonical in wanted.items() if column in present}


def _shards_of(table: str, batch: pa.RecordBatch, n_shards: int) -> np.ndarray:
    """Return each row's shard (a null subscriber_id counts as 0: the validator quarantines it)."""
    if KEY not in batch.schema.names:
        raise ContractError(table, f"missing column(s) ['{KEY}']; found {batch.schema.names}", KEY, "exists")
    return shard_of(batch.column(KEY), n_shards)


def stage_shards(
    data_dir: Path,
    out_dir: Path,
    tables: list[str],
    n_shards: int,
    batch_rows: int,
    mapping: SourceMapping | None = None,
    workers: int = 1,
    fmt: str = "arrow",
) -> StagedShards:
    """Write every table of `data_dir` into `n_shards` folders under `out_dir` (replacing what was there),
    `workers` tables at a time."""
    mapping = mapping or SourceMapping()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    folders = tuple(shard_folder(out_dir, shard) for shard in range(n_shards))
    for folder in folders:
        folder.mkdir(parents=True)
    ignored: dict[str, tuple[str, ...]] = {}
    kinds: set[str] = set()
    jobs = []
    for table in tables:
        source = locate(data_dir, table, mapping)
        renames = _renames(source, table, mapping)
        ignored[table] = tuple(c for c in header(source) if c not in renames)
        strip = mapping.table(table).leading_zeros == "strip"  # read as the validator reads them (coerce)
        jobs.append((table, source, renames, kinds if table == tables[0] else None, strip))
    # tables side by side: pyarrow releases the GIL while it reads, sorts and writes (figures in the README)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        staged = [
            pool.submit(_stage_table, table, source, renames, folders, batch_rows, kind, fmt, strip)
            for table, source, renames, kind, strip in jobs
        ]
        rows = {job[0]: future.result() for job, future in zip(jobs, staged, strict=True)}
    for table in tables:
        log.info("staged %s into %d shards (%d rows)", table, n_shards, sum(rows[table]))
    id_kind = "string" if "string" in kinds else "int64"
    (out_dir / EXPORT_FILE).write_text(json.dumps({"id_kind": id_kind, "ignored": ignored}))
    return StagedShards(folders, rows, id_kind, ignored)


def _stage_table(
    table: str,
    source: Source,
    renames: dict[str, str],
    folders: tuple[Path, ...],
    batch_rows: int,
    kinds: set[str] | None,
    fmt: str,
    strip_zeros: bool = False,
) -> tuple[int, ...]:
    counts = np.zeros(len(folders), dtype=np.int64)
    writers: dict[int, pq.ParquetWriter | ipc.RecordBatchFileWriter] = {}
    schema: pa.Schema | None = None
    try:
        for raw in iter_batches(source, list(renames), batch_rows):
            batch = raw.select(list(renames)).rename_columns(list(renames.values()))
            if strip_zeros and KEY in batch.schema.names and is_text(batch.schema.field(KEY).type):
                at = batch.schema.get_field_index(KEY)
                batch = batch.set_column(at, KEY, without_leading_zeros(batch.column(at)))
            schema = batch.schema
            shards = _shards_of(table, batch, len(folders))
            if kinds is not None:
                kinds.add(id_kind_of(pa.chunked_array([batch.column(KEY)])))
            order = np.argsort(shards, kind="stable")
            bounds = np.searchsorted(shards[order], np.arange(len(folders) + 1))
            sorted_batch = batch.take(pa.array(order))
            for shard in (int(i) for i in np.flatnonzero(np.diff(bounds))):
                part = sorted_batch.slice(bounds[shard], bounds[shard + 1] - bounds[shard])
                if shard not in writers:
                    writers[shard] = _writer(folders[shard] / f"{table}.{fmt}", batch.schema)
                writers[shard].write_batch(part)
                counts[shard] += part.num_rows
        if schema is None:
            schema = pa.schema([(name, pa.string()) for name in renames.values()])
        for index, folder in enumerate(folders):
            if index not in writers:
                _writer(folder / f"{table}.{fmt}", schema).close()
    finally:
        for writer in writers.values():
            writer.close()
    return tuple(int(c) for c in counts)


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter | ipc.RecordBatchFileWriter:
    """Open a shard file for appending batches: Arrow IPC for `.arrow`, else Parquet."""
    if path.suffix == ".arrow":
        return ipc.new_file(path, schema)
    if path.suffix != ".parquet":
        raise ValueError(f"shards are staged as .arrow or .parquet, not {path.name}")
    return pq.ParquetWriter(path, schema)
