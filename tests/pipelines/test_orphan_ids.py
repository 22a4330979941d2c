"""Ids of a table that the subscribers lack, explained when they are the subscribers' ids written another way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from data_contracts.loader import load_contract
from pipelines.coerce import coerce
from pipelines.ingest import validate_tables
from pipelines.mapping import SourceMapping, TableMapping, load_mapping
from pipelines.orphan_ids import ZEROS, written_otherwise
from pipelines.quarantine import QuarantineLimitError
from pipelines.staging import shard_folder, stage_shards
from tests.data_contracts.tables import valid_tables, write_tables
from tests.pipelines.test_staging import staged_table

KNOWN = pd.Series(["00000123", "00000456", "00000789"])


@pytest.mark.parametrize(
    ("orphans", "known", "means", "example"),
    [
        (["123", "456"], KNOWN, "once leading zeros are ignored", "bills '123', subscribers '00000123'"),
        (
            ["ab12 ", "CD34"],
            ["AB12", "cd34"],
            "once spaces and letter case are ignored",
            "bills 'ab12 ', subscribers 'AB12'",
        ),
        (
            ["0001", "0002"],
            ["CL-0001", "CL-0002"],
            "once the prefix 'CL-' the subscribers' ids carry is taken off",
            "bills '0001'",
        ),
        (["U0001", "U0002"], ["0001", "0002"], "once the prefix 'U' these ids carry is taken off", "bills 'U0001'"),
        (
            ["1", "2"],
            ["CL-0001", "CL-0002"],
            "once prefixes and leading zeros are ignored",
            "bills '1', subscribers 'CL-0001'",
        ),
    ],
    ids=["zeros", "case", "their-prefix", "our-prefix", "prefix-and-zeros"],
)
def test_ids_written_another_way_are_named_with_an_example(orphans, known, means, example) -> None:
    hint = written_otherwise(pd.Series(orphans), pd.Series(known), "bills")
    assert f"2 of the 2 unknown ids tried match subscribers' ids {means}" in hint
    remedy = "leading_zeros: strip in the mapping; else fix the export" if means == ZEROS else "fix the export (they"
    assert example in hint and remedy in hint


def test_ids_that_are_simply_unknown_get_no_explanation() -> None:
    assert written_otherwise(pd.Series(["999", "888", "00000123"]), KNOWN, "bills") == ""  # 1 of 3 is no pattern
    assert written_otherwise(pd.Series([], dtype="string"), KNOWN, "bills") == ""


def test_integer_ids_against_zero_padded_text_ids() -> None:
    hint = written_otherwise(pd.Series([123, 456, 789]), KNOWN, "contacts")
    assert hint.startswith("3 of the 3 unknown ids tried match subscribers' ids once leading zeros are ignored")


def test_a_run_refused_for_unknown_ids_says_they_are_the_subscribers_written_without_zeros(settings, tmp_path) -> None:
    """Given a spreadsheet's export: zero-padded ids in the subscriber file, the zeros dropped everywhere else."""
    tables = valid_tables()
    folder = padded_export(tmp_path / "export")

    with pytest.raises(QuarantineLimitError) as refused:
        validate_tables(folder, settings.validation, tmp_path / "q", tmp_path / "report.json")

    bills = len(tables["bills"])
    assert (
        f"bills: {bills} of {bills} rows quarantined (100.00%), limit 1.00% (known_subscriber; likely cause: "
        in str(refused.value)
    )
    assert "match subscribers' ids once leading zeros are ignored (bills '1', subscribers '00000001')" in str(
        refused.value
    )
    described = refused.value.result.reports["bills"].descriptions["known_subscriber"]
    assert described.startswith("subscriber_id exists in subscribers; likely cause: ")


def padded_export(folder: Path, fmt: str = "parquet", subscribers: int = 0) -> Path:
    """The hand-built tables as a spreadsheet leaves them: ids zero-padded in the subscriber file only; with
    `subscribers`, that many copies of the hand-built base (ids offset by 100 each), for shards to tell apart."""
    tables = valid_tables()
    if subscribers:
        copies = range(subscribers // len(tables["subscribers"]) + 1)
        tables = {
            t: pd.concat([f.assign(subscriber_id=f["subscriber_id"] + 100 * k) for k in copies], ignore_index=True)
            for t, f in tables.items()
        }
    padded = tables["subscribers"].assign(subscriber_id=lambda f: f["subscriber_id"].astype(str).str.zfill(8))
    plain = {t: f.assign(subscriber_id=f["subscriber_id"].astype(str)) for t, f in tables.items() if t != "subscribers"}
    return write_tables(folder, {"subscribers": padded, **plain}, fmt)


def test_leading_zeros_strip_reads_both_forms_as_one_customer(settings, tmp_path) -> None:
    folder = padded_export(tmp_path / "export")
    (tmp_path / "mapping.yaml").write_text("leading_zeros: strip\n")
    mapping = load_mapping(tmp_path / "mapping.yaml")

    result = validate_tables(folder, settings.validation, tmp_path / "q", tmp_path / "report.json", mapping)

    assert {t: r.quarantined for t, r in result.reports.items()} == dict.fromkeys(result.reports, 0)
    canonical = valid_tables()
    for table, frame in result.tables.items():
        assert frame["subscriber_id"].astype(str).tolist() == canonical[table]["subscriber_id"].astype(str).tolist()


def test_leading_zeros_strip_keeps_a_lone_zero_and_letters() -> None:
    ids = pa.chunked_array([pa.array(["000123", "0", "00", "0A1", " 007 ", None])])
    spec = load_contract("bills").columns["subscriber_id"]
    stripped = coerce("bills", spec, ids, TableMapping(leading_zeros="strip"))
    assert stripped.to_pylist() == ["123", "0", "0", "0A1", "7", None]
    assert coerce("bills", spec, ids, TableMapping()).to_pylist() == ["000123", "0", "00", "0A1", "007", None]


def test_the_nightly_stages_a_subscriber_and_his_rows_in_one_shard_with_leading_zeros_stripped(tmp_path) -> None:
    """Hashed as written, subscriber '00000001' and the bills of '1' would land in different shards."""
    folder = padded_export(tmp_path / "export", fmt="csv", subscribers=40)
    mapping = SourceMapping.model_validate({"leading_zeros": "strip"})
    tables = ["subscribers", "bills", "payments", "contacts"]

    stage_shards(folder, tmp_path / "shards", tables, n_shards=4, batch_rows=7, mapping=mapping)

    for shard in range(4):
        staged = {t: staged_table(shard_folder(tmp_path / "shards", shard), t).to_pandas() for t in tables}
        ids = set(staged["subscribers"]["subscriber_id"])
        assert all(not i.startswith("0") for i in ids)
        for table in tables[1:]:
            assert set(staged[table]["subscriber_id"]) <= ids, (shard, table)
