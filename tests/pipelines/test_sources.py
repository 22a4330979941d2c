"""Reading an input table: Arrow IPC files (how the nightly stages shards) read like the Parquet they came from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts.loader import ContractError
from pipelines.sources import header, iter_batches, locate, read_columns, text_schema

FRAME = pd.DataFrame(
    {
        "subscriber_id": [3, 1, 2],
        "plan": ["gold", None, "gold"],
        "amount": [10.5, 20.0, None],
        "bill_month": pd.to_datetime(pd.Series(["2026-01-01", "2026-02-01", None])),
    }
)


def _both(tmp_path: Path) -> tuple[Path, Path]:
    table = pa.Table.from_pandas(FRAME, preserve_index=False)
    table = table.set_column(1, "plan", table["plan"].cast(pa.string()))  # as exports and the generator write text
    (tmp_path / "p").mkdir()
    (tmp_path / "a").mkdir()
    pq.write_table(table, tmp_path / "p" / "bills.parquet")
    with pa.ipc.new_file(tmp_path / "a" / "bills.arrow", table.schema) as writer:
        for batch in table.to_batches(max_chunksize=2):
            writer.write_batch(batch)
    return tmp_path / "p", tmp_path / "a"


def test_an_arrow_file_reads_as_its_parquet_twin(tmp_path: Path) -> None:
    parquet, arrow = (locate(folder, "bills") for folder in _both(tmp_path))
    assert arrow.is_arrow and not arrow.is_csv
    assert header(arrow) == header(parquet) == list(FRAME.columns)
    assert text_schema(arrow).names == text_schema(parquet).names
    columns = ["plan", "amount", "subscriber_id"]
    from_arrow = read_columns(arrow, columns, {}, repeating=["plan"])
    from_parquet = read_columns(parquet, columns, {}, repeating=["plan"])
    assert from_arrow.schema.field("plan").type == pa.dictionary(pa.int32(), pa.string())  # as read_dictionary gives
    assert from_arrow.to_pandas().equals(from_parquet.to_pandas())
    batches = list(iter_batches(arrow, ["subscriber_id", "amount"], batch_rows=1_000))
    assert [b.num_rows for b in batches] == [2, 1]  # the file's own batches
    assert pa.Table.from_batches(batches).to_pandas().equals(FRAME[["subscriber_id", "amount"]])


def test_an_unreadable_arrow_file_is_a_structural_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bills.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(ContractError, match=r"bills.arrow is not a readable Arrow IPC file"):
        header(locate(tmp_path, "bills"))


def test_a_missing_table_names_every_file_name_that_would_have_been_read(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"missing table: no payments\.parquet or payments\.csv or payments\.arrow"):
        locate(tmp_path, "payments")
