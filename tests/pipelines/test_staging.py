"""Splitting input files into shard folders: every row lands in its subscriber's shard, none is lost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts.loader import ContractError
from pipelines.mapping import SourceMapping
from pipelines.nightly import check_global_keys
from pipelines.shards import shard_of
from pipelines.staging import shard_folder, stage_shards


def staged_table(folder: Path, table: str) -> pa.Table:
    """Read one staged shard file, Arrow IPC (the default) or Parquet."""
    if (folder / f"{table}.arrow").exists():
        return pa.ipc.open_file(folder / f"{table}.arrow").read_all()
    return pq.read_table(folder / f"{table}.parquet")


BILLS = pd.DataFrame(
    {
        "subscriber_id": [1, 2, 3, 4, 5, 1],
        "bill_month": pd.to_datetime(["2026-01-01"] * 5 + ["2026-02-01"]),
        "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 11.0],
    }
)


@pytest.mark.parametrize("staged_as", ["arrow", "parquet"])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_every_row_lands_in_the_shard_of_its_subscriber(tmp_path: Path, fmt: str, staged_as: str) -> None:
    data = tmp_path / "in"
    data.mkdir()
    if fmt == "parquet":
        BILLS.to_parquet(data / "bills.parquet", index=False)
    else:
        BILLS.to_csv(data / "bills.csv", index=False)
    staged = stage_shards(data, tmp_path / "out", ["bills"], n_shards=3, batch_rows=2, fmt=staged_as)
    assert sum(staged.rows["bills"]) == len(BILLS)
    assert sorted(p.name for p in shard_folder(tmp_path / "out", 0).iterdir()) == [f"bills.{staged_as}"]
    for shard in range(3):
        part = staged_table(shard_folder(tmp_path / "out", shard), "bills").to_pandas()
        ids = part["subscriber_id"].astype("int64")
        assert len(part) == staged.rows["bills"][shard]
        assert (shard_of(ids.to_numpy(), 3) == shard).all()
        assert part.columns.tolist() == BILLS.columns.tolist()  # an empty shard still has every column
    # within a shard, rows keep their input order (subscriber 1's January bill before February)
    ones = shard_of(pd.Series([1]).to_numpy(), 3)[0]
    part = staged_table(shard_folder(tmp_path / "out", int(ones)), "bills").to_pandas()
    assert part.loc[part["subscriber_id"].astype(int) == 1, "amount"].astype(float).tolist() == [10.0, 11.0]


def test_a_table_without_subscriber_id_is_a_structural_error(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    BILLS.drop(columns="subscriber_id").to_parquet(data / "bills.parquet", index=False)
    with pytest.raises(ContractError, match="subscriber_id"):
        stage_shards(data, tmp_path / "out", ["bills"], n_shards=2, batch_rows=10)


def _inputs(folder: Path, msisdns: list[str], contact_ids: list[int]) -> Path:
    folder.mkdir(parents=True)
    pd.DataFrame({"subscriber_id": range(1, len(msisdns) + 1), "msisdn": msisdns}).to_parquet(
        folder / "subscribers.parquet", index=False
    )
    pd.DataFrame({"contact_id": contact_ids, "subscriber_id": [1] * len(contact_ids)}).to_csv(
        folder / "contacts.csv", index=False
    )
    return folder


def test_unique_keys_across_shards_pass(tmp_path: Path) -> None:
    repeated = check_global_keys(_inputs(tmp_path / "ok", ["13800138000", "13900139000"], [1, 2, 3]), batch_rows=1)
    assert {column: values.tolist() for column, values in repeated.items()} == {"msisdn": [], "contact_id": []}


def test_a_contact_id_repeated_across_shards_is_structural(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="duplicate contact_id") as error:
        check_global_keys(_inputs(tmp_path / "bad", ["13800138000", "13900139000"], [7, 8, 7]), batch_rows=1)
    assert error.value.table == "contacts"


def test_a_phone_number_repeated_across_shards_is_returned_for_the_shards_to_quarantine(tmp_path: Path) -> None:
    repeated = check_global_keys(_inputs(tmp_path / "bad", ["13800138000", "13800138000"], [1, 2]), batch_rows=1)
    assert repeated["msisdn"].tolist() == [13800138000]


def test_a_phone_number_repeated_with_and_without_its_country_prefix_is_found(tmp_path: Path) -> None:
    """Given +86 138 0013 8000 and 13800138000 in different shards: the same line, as the validator reads them."""
    repeated = check_global_keys(_inputs(tmp_path / "bad", ["+86 138 0013 8000", "13800138000"], [1, 2]), batch_rows=1)

    assert repeated["msisdn"].tolist() == [13800138000]


def test_integer_phone_numbers_with_the_country_code_are_the_national_numbers_across_shards(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    pd.DataFrame({"subscriber_id": [1, 2], "msisdn": [8613800138000, 13800138000]}).to_parquet(
        folder / "subscribers.parquet", index=False
    )
    pd.DataFrame({"contact_id": [1], "subscriber_id": [1]}).to_csv(folder / "contacts.csv", index=False)

    repeated = check_global_keys(folder, batch_rows=1)

    assert repeated["msisdn"].tolist() == [13800138000]


def test_tables_staged_side_by_side_give_the_same_shards_as_one_at_a_time(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    BILLS.to_parquet(data / "bills.parquet", index=False)
    pd.DataFrame({"subscriber_id": ["A7", "B8", "C9"], "msisdn": ["1", "2", "3"]}).to_csv(
        data / "subscribers.csv", index=False
    )
    tables = ["subscribers", "bills"]
    alone = stage_shards(data, tmp_path / "one", tables, n_shards=2, batch_rows=2, workers=1)
    side = stage_shards(data, tmp_path / "two", tables, n_shards=2, batch_rows=2, workers=2)
    assert (side.rows, side.id_kind, side.ignored) == (alone.rows, alone.id_kind, alone.ignored)
    assert alone.id_kind == "string"  # the first table's ids decide, whichever table finishes first
    for shard in range(2):
        for table in tables:
            expected = staged_table(shard_folder(tmp_path / "one", shard), table)
            assert staged_table(shard_folder(tmp_path / "two", shard), table).equals(expected)


@pytest.mark.parametrize("split", ["monthly csv.gz files by a glob", "parquet parts in a folder"])
def test_a_split_export_stages_the_same_shards_as_the_same_rows_in_one_file(tmp_path: Path, split: str) -> None:
    """Given the bills as one file, and as two files (January's rows, then February's) holding the same rows."""
    bills = BILLS.sort_values("bill_month", kind="stable").astype({"bill_month": str})
    january = bills["bill_month"] == "2026-01-01"
    one, parts = tmp_path / "one", tmp_path / "parts"
    one.mkdir()
    (parts / "bills").mkdir(parents=True)
    mapping = None
    if split == "parquet parts in a folder":
        bills.to_parquet(one / "bills.parquet", index=False)
        bills[january].to_parquet(parts / "bills" / "part-00000.parquet", index=False)
        bills[~january].to_parquet(parts / "bills" / "part-00001.parquet", index=False)
    else:
        bills.to_csv(one / "bills.csv", index=False)
        bills[january].to_csv(parts / "bills_202601.csv.gz", index=False)
        bills[~january][list(reversed(bills.columns))].to_csv(parts / "bills_202602.csv.gz", index=False)
        mapping = SourceMapping.model_validate({"tables": {"bills": {"file": "bills_*.csv.gz"}}})

    whole = stage_shards(one, tmp_path / "from-one", ["bills"], n_shards=3, batch_rows=2)
    split_up = stage_shards(parts, tmp_path / "from-parts", ["bills"], n_shards=3, batch_rows=2, mapping=mapping)

    assert split_up.rows == whole.rows and sum(whole.rows["bills"]) == 6
    for shard in range(3):
        expected = staged_table(shard_folder(tmp_path / "from-one", shard), "bills")
        assert staged_table(shard_folder(tmp_path / "from-parts", shard), "bills").equals(expected)
