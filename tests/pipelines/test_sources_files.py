"""A table as the warehouse writes it: compressed text, other text suffixes, one file a month, a folder of parts."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from data_contracts.loader import ContractError, load_contract
from pipelines.data_end import export_data_end
from pipelines.ingest import read_table, validate_tables
from pipelines.mapping import SourceMapping
from pipelines.nightly import count_rows
from pipelines.sources import header, iter_batches, locate
from tests.data_contracts.tables import valid_tables, with_values, write_tables

BILLS = valid_tables()["bills"]  # 5 rows: (1, Jan), (1, Feb), (2, Jan), (2, Feb), (3, Jan) of 2024


def write_text(path: Path, frame: pd.DataFrame, sep: str = ",", encoding: str = "utf-8") -> Path:
    """Write `frame` as delimited text, compressed as the name says (.gz, .bz2, .zst; .zip holding bills.csv)."""
    data = frame.to_csv(index=False, sep=sep).encode(encoding)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bills.csv", data)
    else:
        codec = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}.get(path.suffix.lower())
        with pa.output_stream(str(path), compression=codec) as stream:
            stream.write(data)
    return path


def bills_read(data: Path, mapping: SourceMapping | None = None) -> pd.DataFrame:
    return read_table(data, load_contract("bills"), mapping=mapping).frame


@pytest.fixture
def one_file(tmp_path: Path) -> pd.DataFrame:
    """The bills as one plain CSV file reads them: what every other shape must read the same as."""
    write_tables(tmp_path / "one", {"bills": BILLS}, fmt="csv")
    return bills_read(tmp_path / "one")


@pytest.mark.parametrize("name", ["bills.csv.gz", "bills.csv.bz2", "bills.csv.zst", "bills.csv.zip"])
def test_a_compressed_csv_is_found_without_a_mapping_and_reads_as_the_plain_file(
    tmp_path: Path, one_file: pd.DataFrame, name: str
) -> None:
    write_text(tmp_path / name, BILLS)

    source = locate(tmp_path, "bills")

    assert source.path == tmp_path / name and source.is_csv
    pd.testing.assert_frame_equal(bills_read(tmp_path), one_file)
    assert pa.Table.from_batches(list(iter_batches(source, ["amount"], 2))).column(0).to_pylist() == [
        "58.0",
        "70.5",
        "128.0",
        "130.0",
        "19.0",
    ]
    assert count_rows(source) == 5


def test_a_pipe_separated_txt_named_by_the_mapping_reads(tmp_path: Path, one_file: pd.DataFrame) -> None:
    write_text(tmp_path / "BILL_MONTHLY.txt", BILLS, sep="|")
    mapping = SourceMapping.model_validate({"delimiter": "|", "tables": {"bills": {"file": "BILL_MONTHLY.txt"}}})

    pd.testing.assert_frame_equal(bills_read(tmp_path, mapping), one_file)


def test_a_file_name_s_suffixes_are_read_in_any_case(tmp_path: Path, one_file: pd.DataFrame) -> None:
    write_text(tmp_path / "BILLS.CSV.GZ", BILLS)
    assert (tmp_path / "BILLS.CSV.GZ").read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic number
    mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "BILLS.CSV.GZ"}}})

    pd.testing.assert_frame_equal(bills_read(tmp_path, mapping), one_file)


def test_a_tsv_is_tab_separated_unless_the_mapping_names_a_delimiter(tmp_path: Path, one_file: pd.DataFrame) -> None:
    write_text(tmp_path / "bills.tsv", BILLS, sep="\t")

    assert locate(tmp_path, "bills").delimiter == "\t"
    pd.testing.assert_frame_equal(bills_read(tmp_path), one_file)
    assert locate(tmp_path, "bills", SourceMapping.model_validate({"delimiter": ";"})).delimiter == ";"


def test_a_compressed_gbk_csv_reads_its_chinese_names_and_codes(tmp_path: Path) -> None:
    """Given a BOSS-style bill file in GBK, gzip-compressed, with Chinese column names."""
    frame = pd.DataFrame({"用户编号": ["U001", "U002"], "账期": ["202401", "202402"], "费用": ["58.00", "70.50"]})
    write_text(tmp_path / "账单.csv.gz", frame, encoding="gbk")
    mapping = SourceMapping.model_validate(
        {
            "encoding": "gbk",
            "tables": {
                "bills": {
                    "file": "账单.csv.gz",
                    "columns": {"subscriber_id": "用户编号", "bill_month": "账期", "amount": "费用"},
                    "dates": {"bill_month": "%Y%m"},
                }
            },
        }
    )

    read = bills_read(tmp_path, mapping)

    assert header(locate(tmp_path, "bills", mapping)) == ["用户编号", "账期", "费用"]
    assert read["subscriber_id"].tolist() == ["U001", "U002"]
    assert read["bill_month"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]
    assert read["amount"].tolist() == [58.0, 70.5]


def monthly(data: Path, frame: pd.DataFrame = BILLS) -> Path:
    """Write the bills one file a month: January's 3 rows, then February's 2, with the columns in another order."""
    data.mkdir(parents=True, exist_ok=True)
    january = frame["bill_month"] == pd.Timestamp("2024-01-01")
    write_text(data / "bills_202401.csv", frame[january])
    write_text(data / "bills_202402.csv", frame[~january][list(reversed(frame.columns))])
    return data


BY_MONTH = ["bills_202401.csv", "bills_202401.csv", "bills_202401.csv", "bills_202402.csv", "bills_202402.csv"]


def test_bills_split_by_month_read_through_a_glob_as_one_table(tmp_path: Path) -> None:
    data = monthly(tmp_path / "raw")
    mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "bills_*.csv"}}})

    source = locate(data, "bills", mapping)
    read = bills_read(data, mapping)

    assert [p.name for p in source.parts] == ["bills_202401.csv", "bills_202402.csv"]
    assert read["subscriber_id"].tolist() == [1, 2, 3, 1, 2]  # January's file, then February's
    assert read["amount"].tolist() == [58.0, 128.0, 19.0, 70.5, 130.0]
    assert count_rows(source) == 5
    assert export_data_end(data, mapping, 0.5).isoformat() == "2024-02-29"


@pytest.mark.parametrize("mapped", [False, True])
def test_bills_split_by_month_in_a_folder_read_as_one_table(tmp_path: Path, mapped: bool) -> None:
    folder = monthly(tmp_path / "raw" / ("BILLS" if mapped else "bills"))
    (folder / "_SUCCESS").touch()  # what Spark leaves beside its parts: not data
    mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "BILLS"}}} if mapped else {})

    read = bills_read(tmp_path / "raw", mapping)

    assert read["amount"].tolist() == [58.0, 128.0, 19.0, 70.5, 130.0]


def test_two_parquet_parts_in_a_folder_read_as_one_table(tmp_path: Path, one_file: pd.DataFrame) -> None:
    (tmp_path / "bills").mkdir()
    BILLS.iloc[:2].to_parquet(tmp_path / "bills" / "part-00000.parquet", index=False)
    BILLS.iloc[2:].to_parquet(tmp_path / "bills" / "part-00001.parquet", index=False)

    source = locate(tmp_path, "bills")

    pd.testing.assert_frame_equal(bills_read(tmp_path), one_file, check_dtype=False)
    assert [b.num_rows for b in iter_batches(source, None, 100)] == [2, 3]  # one file at a time
    assert count_rows(source) == 5


def test_a_file_with_other_columns_is_refused_naming_it_and_the_columns(tmp_path: Path) -> None:
    data = monthly(tmp_path / "raw", BILLS.rename(columns={"base_fee": "BASE"}))
    write_text(data / "bills_202402.csv", BILLS.iloc[3:].drop(columns=["sms_count"]))
    mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "bills_*.csv"}}})

    with pytest.raises(ContractError) as caught:
        bills_read(data, mapping)

    assert caught.value.table == "bills"
    assert str(caught.value) == (
        "bills: bills_202402.csv does not have the columns of bills_202401.csv: every file of a table must have the "
        "same columns (any order); it lacks ['BASE', 'sms_count'], has ['base_fee'] besides [rule exists]"
    )


def test_a_bad_value_in_the_second_file_is_named_by_its_file_and_row(tmp_path: Path) -> None:
    bills = BILLS.astype({"amount": object})
    bills.loc[3, "amount"] = "abc"  # (2, Feb): the second row of February's file
    data = monthly(tmp_path / "raw", bills)

    with pytest.raises(ContractError) as caught:
        bills_read(data, SourceMapping.model_validate({"tables": {"bills": {"file": "bills_*.csv"}}}))

    assert "\n  row 1 of bills_202402.csv: 'abc'" in str(caught.value)


def test_quarantined_rows_name_the_file_they_came_from(settings, tmp_path: Path) -> None:
    tables = valid_tables()
    data = write_tables(tmp_path / "raw", {k: v for k, v in tables.items() if k != "bills"})
    monthly(data / "bills", with_values(tables["bills"], 4, amount=-1.0))  # (3, Jan): January's third row
    validation = settings.validation.model_copy(update={"max_quarantined_share": 1.0})

    result = validate_tables(data, validation, tmp_path / "quarantine", tmp_path / "report.json")

    saved = pd.read_parquet(tmp_path / "quarantine" / "bills.parquet")
    assert saved[["source_file", "source_row", "failed_rules"]].values.tolist() == [
        ["bills/bills_202401.csv", 2, "amount:ge;parts_within_amount"]
    ]
    assert result.reports["bills"].source == data / "bills"
    assert pd.read_parquet(tmp_path / "quarantine" / "payments.parquet")["source_row"].tolist() == [4]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["x.csv", "y.parquet"], "mixes parquet and text files: one table is one format"),
        (["x.csv", "notes.docx"], "['notes.docx'] are not .parquet, .arrow, .csv"),
        (["bill_month=202401/x.csv"], "a partitioned table (bill_month=202410/ ...)"),
    ],
)
def test_a_folder_that_is_not_one_table_in_parts_is_refused(tmp_path: Path, files: list[str], message: str) -> None:
    for name in files:
        path = tmp_path / "bills" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        BILLS.to_parquet(path) if name.endswith(".parquet") else write_text(path, BILLS)

    with pytest.raises(ContractError, match="bills: ") as caught:
        locate(tmp_path, "bills")

    assert message in str(caught.value)


def test_a_zip_of_two_files_is_unreadable(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bills.csv.zip", "w") as archive:
        archive.writestr("a.csv", "x\n1\n")
        archive.writestr("b.csv", "x\n2\n")

    with pytest.raises(ContractError, match=r"bills.csv.zip is not a readable CSV file: a .zip must hold exactly one"):
        header(locate(tmp_path, "bills"))


def test_a_compressed_parquet_is_not_a_format(tmp_path: Path) -> None:
    mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "bills.parquet.gz"}}})

    with pytest.raises(ContractError, match=r"mapping names file 'bills.parquet.gz': only .parquet, .arrow"):
        locate(tmp_path, "bills", mapping)


def test_a_glob_across_folders_reads_every_match_in_path_order(tmp_path: Path) -> None:
    for month, rows in (("2024-02", BILLS.iloc[3:]), ("2024-01", BILLS.iloc[:3])):
        (tmp_path / "bills" / month).mkdir(parents=True)
        rows.to_parquet(tmp_path / "bills" / month / "part-0.parquet", index=False)
    mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "bills/2024-*/*.parquet"}}})

    source = locate(tmp_path, "bills", mapping)

    assert [str(p.relative_to(tmp_path)) for p in source.parts] == [
        "bills/2024-01/part-0.parquet",
        "bills/2024-02/part-0.parquet",
    ]
    assert bills_read(tmp_path, mapping)["amount"].tolist() == BILLS["amount"].tolist()


@pytest.mark.parametrize("name", ["bills.csv.gz", "bills.csv.bz2", "bills.csv.zst"])
def test_a_truncated_compressed_file_is_unreadable_whole_streamed_and_counted(tmp_path: Path, name: str) -> None:
    """Given a compressed file cut in half (a copy that stopped): never read as the rows before the cut."""
    frame = pd.concat([BILLS] * 400, ignore_index=True)
    data = write_text(tmp_path / name, frame).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    source = locate(tmp_path, "bills")

    for read in (
        lambda: read_table(tmp_path, load_contract("bills")),
        lambda: list(iter_batches(source, None, 100)),
        lambda: count_rows(source),
    ):
        with pytest.raises(ContractError, match=rf"{name} is not a readable CSV file") as caught:
            read()
        assert caught.value.rule == "readable"
