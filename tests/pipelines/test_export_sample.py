"""The export's entries the mapping draft samples: a table in parts is one entry, its files read in order."""

from __future__ import annotations

from pathlib import Path

from pipelines.export_sample import export_files, read_sample
from tests.data_contracts.tables import valid_tables
from tests.pipelines.test_sources_files import BILLS, monthly, write_text


def test_the_export_sample_sees_one_entry_per_table_and_reads_its_files_in_order(tmp_path: Path) -> None:
    monthly(tmp_path)
    write_text(tmp_path / "subscribers.txt.gz", valid_tables()["subscribers"], sep="|")
    (tmp_path / "contacts").mkdir()
    valid_tables()["contacts"].to_parquet(tmp_path / "contacts" / "part-0.parquet", index=False)
    write_text(tmp_path / "T1.csv", BILLS[["amount"]])  # differ only in digits, but not one table: two entries
    write_text(tmp_path / "T2.csv", BILLS[["base_fee"]])

    entries = export_files(tmp_path)
    bills = read_sample(tmp_path / "bills_*.csv")

    assert [p.name for p in entries] == ["T1.csv", "T2.csv", "bills_*.csv", "contacts", "subscribers.txt.gz"]
    assert (bills.table.num_rows, bills.complete, bills.encoding, bills.delimiter) == (5, True, "utf-8", ",")
    assert bills.table["amount"].to_pylist() == ["58.0", "128.0", "19.0", "70.5", "130.0"]
    assert bills.table.column_names == list(BILLS.columns)
    assert read_sample(tmp_path / "bills_*.csv", rows=4).table.num_rows == 4
    assert read_sample(tmp_path / "subscribers.txt.gz").delimiter == "|"
    assert read_sample(tmp_path / "contacts").table.num_rows == 4


def test_a_compressed_gbk_file_is_sampled_as_gbk(tmp_path: Path) -> None:
    frame = BILLS[["subscriber_id", "amount"]].assign(plan=["畅享套餐"] * 5)
    write_text(tmp_path / "账单.csv.gz", frame, sep=";", encoding="gbk")

    sample = read_sample(tmp_path / "账单.csv.gz")

    assert (sample.name, sample.encoding, sample.delimiter) == ("账单.csv.gz", "gbk", ";")
    assert sample.table["plan"].to_pylist() == ["畅享套餐"] * 5
