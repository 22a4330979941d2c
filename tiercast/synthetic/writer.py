"""Parquet output: Arrow schemas taken from data_contracts/*.yaml, tables written month by month.

Each table is written to `<name>.parquet.tmp` and renamed when complete, so a reader never sees a
half-written file. Dates are date32, contact_time a naive timestamp in milliseconds.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

ARROW_TYPES = {
    "id": pa.int64(),  # the generator writes integer subscriber ids
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms"),
}
TRUTH_SCHEMAS = {
    "churn_probability": pa.schema(
        [
            pa.field("subscriber_id", pa.int64(), nullable=False),
            pa.field("as_of", pa.date32(), nullable=False),
            pa.field("p_churn_next_month", pa.float64(), nullable=False),
            pa.field("p_churn_60d", pa.float64(), nullable=False),
            pa.field("p_voluntary", pa.float64(), nullable=False),
            pa.field("p_non_payment", pa.float64(), nullable=False),
        ]
    ),
    "subscriber_types": pa.schema(
        [
            pa.field("subscriber_id", pa.int64(), nullable=False),
            pa.field("true_type", pa.string(), nullable=False),
            pa.field("is_flea", pa.bool_(), nullable=False),
            pa.field("payer_type", pa.string(), nullable=False),
        ]
    ),
}
INPUT_TABLES = ("subscribers", "bills", "payments", "contacts")
TRUTH_DOCUMENTS = ("scenarios",)  # _truth/<name>.json, written only when there is something to say


def _contract_columns(table: str) -> dict[str, Any]:
    text = (resources.files("data_contracts") / f"{table}.yaml").read_text()
    columns: dict[str, Any] = yaml.safe_load(text)["columns"]
    return columns


def allowed_values(table: str, column: str) -> list[str] | None:
    """Return the values a contract allows in a column (its `isin` check), None when it does not restrict them."""
    values = _contract_columns(table)[column].get("checks", {}).get("isin")
    return None if values is None else list(values)


def contract_schema(table: str) -> pa.Schema:
    """Return the Arrow schema of an input table from its contract (data_contracts/<table>.yaml)."""
    columns = _contract_columns(table)
    return pa.schema(
        [
            pa.field(name, ARROW_TYPES[spec["type"]], nullable=bool(spec.get("nullable", False)))
            for name, spec in columns.items()
        ]
    )


def dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Return day numbers (days since 1970-01-01) as a date32 array, null where `missing`."""
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=missing).cast(pa.date32())


def labels(codes: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    """Return integer codes into `names` as a string array (negative codes are null)."""
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pc.take(pa.array(names, type=pa.string()), indices)


def numbers_as_text(numbers: np.ndarray) -> pa.Array:
    """Return int64 numbers as a string array."""
    return pa.array(numbers, type=pa.int64()).cast(pa.string())


def nullable_ints(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    """Return int64 values, null where `missing`."""
    return pa.array(values, type=pa.int64(), mask=missing)


def _arrow(values: Any, kind: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == kind else values.cast(kind)
    return pa.array(values, type=kind)


class TableWriter:
    """Writes one Parquet table in row groups; the file appears under its final name on close.

    Row groups are encoded and compressed on the `Output`'s single background thread (in call
    order, so the bytes do not depend on timing) while the simulation goes on.
    """

    def __init__(self, path: Path, schema: pa.Schema, metadata: Mapping[str, Any], output: Output) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.schema = schema.with_metadata({"tiercast.generator": json.dumps(dict(metadata), sort_keys=True)})
        self.rows = 0
        self._output = output
        # Dictionary encoding only where values repeat (codes, dates, fees): random amounts gain nothing.
        repeated = [f.name for f in schema if not pa.types.is_floating(f.type) or f.name == "base_fee"]
        self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd", use_dictionary=repeated)

    def write(self, columns: Mapping[str, Any]) -> None:
        """Append a row group; `columns` must name exactly the schema's columns (arrays are not copied:
        do not change them afterwards)."""
        if set(columns) != set(self.schema.names):
            raise ValueError(f"{self.path.name}: columns {sorted(columns)} != schema {sorted(self.schema.names)}")
        arrays = [_arrow(columns[field.name], field.type) for field in self.schema]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self._output.submit(self._writer.write_table, table)
        self.rows += table.num_rows

    def close(self) -> None:
        """Finish the file and move it to its final name."""
        self._writer.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        """Close and delete the unfinished file."""
        self._writer.close()
        self.tmp.unlink(missing_ok=True)


class Output:
    """The writers of one `generate` run: the four input tables and the truth under `_truth/`."""

    MAX_PENDING = 6  # row groups waiting for the writer thread (bounds memory)

    def __init__(self, out_dir: Path, metadata: Mapping[str, Any]) -> None:
        truth = out_dir / "_truth"
        truth.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiercast-writer")
        self._pending: deque[Future[None]] = deque()
        self.writers = {
            name: TableWriter(out_dir / f"{name}.parquet", contract_schema(name), metadata, self)
            for name in INPUT_TABLES
        }
        for name, schema in TRUTH_SCHEMAS.items():
            self.writers[name] = TableWriter(truth / f"{name}.parquet", schema, metadata, self)
        self.truth = truth
        self.documents: dict[str, Any] = {}

    def submit(self, write: Callable[[pa.Table], None], table: pa.Table) -> None:
        """Queue a row group for the writer thread; wait while too many are queued."""
        self._pending.append(self._pool.submit(write, table))
        while len(self._pending) > self.MAX_PENDING:
            self._pending.popleft().result()

    def document(self, name: str, content: Any) -> None:
        """Write `content` as `_truth/<name>.json` (a TRUTH_DOCUMENTS name) when the output closes without error."""
        if name not in TRUTH_DOCUMENTS:
            raise ValueError(f"unknown truth document {name!r}; known: {TRUTH_DOCUMENTS}")
        self.documents[name] = content

    def __getitem__(self, name: str) -> TableWriter:
        return self.writers[name]

    def __enter__(self) -> Output:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            while self._pending:
                future = self._pending.popleft()
                if kind is None:
                    future.result()
                else:
                    future.cancel()
        finally:
            self._pool.shutdown(wait=True)
            for writer in self.writers.values():
                if kind is None:
                    writer.close()
                else:
                    writer.abort()
            if kind is None:
                self._write_documents()

    def _write_documents(self) -> None:
        """Write the truth documents, and remove those an earlier run left that this one does not write."""
        for name in TRUTH_DOCUMENTS:
            path = self.truth / f"{name}.json"
            if name not in self.documents:
                path.unlink(missing_ok=True)
                continue
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(self.documents[name], indent=2) + "\n", encoding="utf-8")
            tmp.replace(path)

    @property
    def paths(self) -> dict[str, Path]:
        """Return the final path of every table and truth document."""
        paths = {name: writer.path for name, writer in self.writers.items()}
        return paths | {name: self.truth / f"{name}.json" for name in self.documents}
