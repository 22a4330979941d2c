"""Reading an input table: Arrow IPC files (how the nightly stages shards) read like the Parquet they came from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts.loader import ContractError
from pipelines import sources
from pipelines.mapping import SourceMapping
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


@pytest.mark.parametrize(
    ("encoding", "names", "city"),
    [
        ("cp1252", ["Código", "Población"], "Málaga – Ñandú €"),
        ("iso8859-15", ["Código", "Población"], "Málaga Ñandú €"),
        ("shift_jis", ["顧客", "住所"], "東京都"),
        ("gbk", ["用户编号", "城市"], "北京市"),
    ],
)
def test_a_csv_in_any_text_encoding_reads_whole_and_streamed_in_small_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, names: list[str], city: str
) -> None:
    """Given 300 rows in `encoding`, streamed in 1 KiB blocks (multi-byte characters cut at their edges)."""
    rows = [f"CL-{i:04d};{city} {i}" for i in range(300)]
    (tmp_path / "subscribers.csv").write_bytes((";".join(names) + "\n" + "\n".join(rows) + "\n").encode(encoding))
    source = locate(tmp_path, "subscribers", SourceMapping(encoding=encoding, delimiter=";"))
    monkeypatch.setattr(sources, "BLOCK_BYTES", 1 << 10)

    whole = read_columns(source, names, {})
    batches = list(iter_batches(source, None, batch_rows=1_000))

    assert header(source) == names
    assert whole[names[1]].to_pylist() == [row.split(";")[1] for row in rows]
    assert len(batches) > 1
    assert pa.Table.from_batches(batches).to_pydict() == whole.to_pydict()


def test_a_byte_the_encoding_lacks_in_a_later_streamed_block_is_an_encoding_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a cp1252 file whose 2,001st row (past the header's 8 KiB) holds 0x81, which cp1252 leaves undefined."""
    rows = b"".join(b"CL-%04d;M\xe1laga\n" % i for i in range(2_000))
    (tmp_path / "subscribers.csv").write_bytes(b"C\xf3digo;Poblaci\xf3n\n" + rows + b"CL-2000;\x81\n")
    source = locate(tmp_path, "subscribers", SourceMapping(encoding="cp1252", delimiter=";"))
    monkeypatch.setattr(sources, "BLOCK_BYTES", 1 << 10)

    with pytest.raises(ContractError) as caught:
        list(iter_batches(source, None, batch_rows=1_000))

    assert caught.value.rule == "encoding"
    assert "subscribers.csv: not cp1252 text ('charmap' codec can't decode byte 0x81" in str(caught.value)
    assert "`encoding: latin-1` reads every byte" in str(caught.value)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_utf8_mapping_on_a_cp1252_body_is_an_encoding_error_naming_cp1252(tmp_path: Path, streamed: bool) -> None:
    """Given an ASCII header and 5,000 ASCII rows (past the header's 8 KiB), then `Málaga` in cp1252, read as UTF-8:
    Arrow checks UTF-8 itself (no transcoding), its "invalid UTF8" is told as the encoding error it is."""
    (tmp_path / "subscribers.csv").write_bytes(b"id;city\n" + b"1;Lugo\n" * 5_000 + b"2;M\xe1laga\n")
    source = locate(tmp_path, "subscribers", SourceMapping(delimiter=";"))

    with pytest.raises(ContractError) as caught:
        list(iter_batches(source, None, 1_000)) if streamed else read_columns(source, ["id", "city"], {})

    assert caught.value.rule == "encoding"
    assert "subscribers.csv: not utf-8 text (In CSV column #1: CSV conversion error to string: invalid UTF8 data)" in (
        str(caught.value)
    )
    assert "(it reads as cp1252 (Western European Windows text: é, ñ, ü ...): set `encoding: cp1252`" in str(
        caught.value
    )
