"""Values as warehouse dumps write them: integer dates, epoch times, amounts with a currency mark or unit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from data_contracts.loader import ColumnSpec, ContractError, load_contract
from features.contacts import contact_features
from pipelines.coerce import coerce, to_pandas
from pipelines.ingest import read_table, validate_tables
from pipelines.mapping import MappingError, SourceMapping, TableMapping, load_mapping
from tests.data_contracts.tables import valid_tables, write_tables

SHANGHAI = "Asia/Shanghai"
# The canonical contacts' times (tests/data_contracts/tables.py) as epoch seconds of Shanghai wall times.
CONTACT_SECONDS = [1706752805, 1710930600, 1707523200, 1705723200]


def column(*values: object, kind: pa.DataType | None = None) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(list(values), type=kind or pa.string())])


def spec(name: str, kind: str, **extra: object) -> ColumnSpec:
    return ColumnSpec(name=name, type=kind, **extra)


def shown(values: pa.ChunkedArray) -> list[str | None]:
    return [None if v is None else str(v) for v in values.to_pylist()]


def epochs(fmt: str, timezone: str | None = SHANGHAI) -> TableMapping:
    return TableMapping(dates={"contact_time": fmt}, timezone=timezone)


# --- integer dates


@pytest.mark.parametrize("kind", [pa.int32(), pa.int64()])
def test_integer_dates_read_like_their_digits(kind: pa.DataType) -> None:
    days = coerce(
        "subscribers", spec("activation_date", "date"), column(20240315, None, 20231201, kind=kind), TableMapping()
    )
    months = coerce("bills", spec("bill_month", "date"), column(202410, 202410, 202312, kind=kind), TableMapping())

    assert shown(days) == ["2024-03-15", None, "2023-12-01"]
    assert shown(months) == ["2024-10-01", "2024-10-01", "2023-12-01"]
    assert days.type == months.type == pa.date32()


def test_the_mappings_format_applies_to_integer_digits() -> None:
    mapping = TableMapping(dates={"due_date": "%d%m%Y"})

    values = coerce("payments", spec("due_date", "date"), column(15032024, 31122023, kind=pa.int64()), mapping)

    assert shown(values) == ["2024-03-15", "2023-12-31"]


def test_an_integer_that_is_no_date_is_named() -> None:
    with pytest.raises(ContractError, match="format %Y%m%d") as error:
        coerce("bills", spec("bill_month", "date"), column(20240131, 20241341, kind=pa.int64()), TableMapping())

    assert "row 1: '20241341'" in str(error.value)


def test_int_dates_in_parquet_read_as_the_canonical_tables(tmp_path: Path) -> None:
    """Given a Hive-style dump: activation dates as int32 YYYYMMDD, bill months as int64 YYYYMM."""
    tables = valid_tables()
    subscribers, bills = tables["subscribers"], tables["bills"]
    exported = {
        "subscribers": subscribers.assign(activation_date=[20230115, 20230601, 20240105]).astype(
            {"activation_date": "int32"}
        ),
        "bills": bills.assign(bill_month=[202401, 202402, 202401, 202402, 202401]),
    }
    folder = write_tables(tmp_path, exported)

    read = {name: read_table(folder, load_contract(name)).frame for name in exported}

    pd.testing.assert_frame_equal(read["subscribers"], subscribers)
    pd.testing.assert_frame_equal(read["bills"], bills)


# --- epoch times


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("epoch_s", 1730332800, "2024-10-31 08:00:00"),  # 2024-10-31 00:00 UTC
        ("epoch_s", 1730361600, "2024-10-31 16:00:00"),
        ("epoch_ms", 1730361600123, "2024-10-31 16:00:00.123000"),
        ("epoch_us", 1730361600123456, "2024-10-31 16:00:00.123456"),
    ],
)
@pytest.mark.parametrize("as_text", [False, True], ids=["int64", "text"])
def test_epochs_become_the_operators_wall_time(fmt: str, value: int, expected: str, as_text: bool) -> None:
    given = column(f" {value}", None, "") if as_text else column(value, None, None, kind=pa.int64())

    values = coerce("contacts", spec("contact_time", "datetime"), given, epochs(fmt))

    assert shown(values) == [expected, None, None]
    assert values.type == pa.timestamp("us" if fmt == "epoch_us" else "ms")


def test_the_time_zone_decides_the_wall_time() -> None:
    values = coerce(
        "contacts", spec("contact_time", "datetime"), column(1730332800, kind=pa.int64()), epochs("epoch_s", "UTC")
    )

    assert shown(values) == ["2024-10-31 00:00:00"]


def test_an_epoch_date_at_local_midnight_is_a_date_and_otherwise_named() -> None:
    mapping = TableMapping(dates={"paid_date": "epoch_s"}, timezone=SHANGHAI)
    paid = spec("paid_date", "date", nullable=True)

    assert shown(coerce("payments", paid, column(1730304000, None, kind=pa.int64()), mapping)) == ["2024-10-31", None]
    with pytest.raises(ContractError, match="not date") as error:
        coerce("payments", paid, column(1730304000, 1730332800, kind=pa.int64()), mapping)
    assert "row 1:" in str(error.value)


@pytest.mark.parametrize(
    ("fmt", "values", "message", "row"),
    [
        ("epoch_s", ["1730332800", "1730332800123"], "outside 1970..2100", "row 1: '1730332800123'"),  # ms as s
        ("epoch_s", ["1730332800", "17303328OO"], "not epoch_s", "row 1: '17303328OO'"),
        ("epoch_ms", ["-5", "1730332800123"], "outside 1970..2100", "row 0: '-5'"),
    ],
)
def test_values_that_are_no_epoch_are_named(fmt: str, values: list[str], message: str, row: str) -> None:
    with pytest.raises(ContractError, match=message) as error:
        coerce("contacts", spec("contact_time", "datetime"), column(*values), epochs(fmt))

    assert row in str(error.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2024103108", 'looks like epoch seconds or an hour YYYYMMDDHH ({contact_time: "%Y%m%d%H"})'),
        ("1730332800", "set dates: {contact_time: epoch_s} in the mapping, with timezone:"),
        ("1730332800123", "looks like epoch milliseconds: set dates: {contact_time: epoch_ms}"),
    ],
)
@pytest.mark.parametrize("as_int", [False, True], ids=["text", "int64"])
def test_epoch_length_digits_without_a_mapping_entry_are_refused_not_guessed(
    value: str, says: str, as_int: bool
) -> None:
    """A YYYYMMDDHH hour (2024103108) is also a plausible epoch second (2034-02-...): never read silently as either."""
    given = column(int(value), kind=pa.int64()) if as_int else column(value)

    with pytest.raises(ContractError) as error:
        coerce("contacts", spec("contact_time", "datetime"), given, TableMapping())

    assert says in str(error.value)


def test_a_yyyymmddhh_hour_reads_with_its_format() -> None:
    mapping = TableMapping(dates={"contact_time": "%Y%m%d%H"})

    values = coerce("contacts", spec("contact_time", "datetime"), column("2024103108", "2024103123"), mapping)

    assert shown(values) == ["2024-10-31 08:00:00", "2024-10-31 23:00:00"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("unit", "factor"), [("epoch_s", 1), ("epoch_ms", 1000)])
def test_epoch_contact_times_read_as_the_canonical_contacts(tmp_path: Path, fmt: str, unit: str, factor: int) -> None:
    """Given contact times written as int64 epoch seconds or milliseconds, in Parquet or as CSV digits."""
    contacts = valid_tables()["contacts"]
    folder = write_tables(
        tmp_path, {"contacts": contacts.assign(contact_time=[s * factor for s in CONTACT_SECONDS])}, fmt
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(f"timezone: Asia/Shanghai\ntables:\n  contacts:\n    dates: {{contact_time: {unit}}}\n")

    read = read_table(folder, load_contract("contacts"), mapping=load_mapping(mapping)).frame

    pd.testing.assert_series_equal(read["contact_time"], contacts["contact_time"])


def test_contacts_after_the_as_of_day_stay_out_in_local_time() -> None:
    """Given contacts at 23:30 on 10 Feb and 00:30 on 11 Feb Shanghai time: both still 10 Feb in UTC."""
    read = coerce(
        "contacts", spec("contact_time", "datetime"), column(1707579000, 1707582600, kind=pa.int64()), epochs("epoch_s")
    )
    contacts = pd.DataFrame(
        {
            "subscriber_id": [1, 1],
            "contact_time": to_pandas(spec("contact_time", "datetime"), read),
            "channel": ["voice", "voice"],
            "reason": ["complaint", "complaint"],
            "resolved": [True, True],
            "abandoned": [False, False],
        }
    )

    counts = [
        int(contact_features(contacts, np.array([1]), day, 7)["complaints_30d"].iloc[0])
        for day in (date(2024, 2, 10), date(2024, 2, 11))
    ]

    assert read.to_pylist()[1] == pd.Timestamp("2024-02-11 00:30:00")
    assert counts == [1, 2]


# --- the mapping's time zone


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables:\n  contacts:\n    dates: {contact_time: epoch_ms}\n", "reads contact_time as epoch instants"),
        ("timezone: Mars/Olympus\n", "is not a time zone"),
        ("timezone: Asia/Shanghai\ntables:\n  contacts:\n    dates: {contact_time: epoch_sec}\n", "epoch formats are"),
    ],
    ids=["epoch-without-timezone", "unknown-zone", "unknown-epoch"],
)
def test_a_mapping_without_a_usable_time_zone_for_epochs_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)

    with pytest.raises(MappingError, match=message):
        load_mapping(path)


def test_a_tables_time_zone_overrides_the_exports() -> None:
    mapping = SourceMapping(timezone=SHANGHAI, tables={"campaigns": TableMapping(timezone="UTC")})

    assert (mapping.table("contacts").timezone, mapping.table("campaigns").timezone) == (SHANGHAI, "UTC")
    assert mapping.staged().table("contacts").timezone == SHANGHAI


# --- currency marks


@pytest.mark.parametrize(
    ("texts", "decimal", "expected"),
    [
        (
            ["¥1,234.50", "￥88", "88.00元", "RMB 88", "cny88", "$12", "£ 7", "12.5 元"],
            ".",
            [1234.5, 88, 88, 88, 88, 12, 7, 12.5],
        ),
        (["€ 1.234,50", "88,00 €", "-€3", "7\u00a0€"], ",", [1234.5, 88.0, -3.0, 7.0]),
        (["¥58.00", "70.5", None, " ¥ 19 "], ".", [58.0, 70.5, None, 19.0]),
        (["70.5", "", "¥58.00", "RMB1,000"], ".", [70.5, None, 58.0, 1000.0]),  # the first value plain
    ],
    ids=["yuan-and-others", "decimal-comma", "mixed", "first-plain"],
)
def test_amounts_with_a_currency_mark_read_as_the_number(texts: list[str], decimal: str, expected: list[float]) -> None:
    values = coerce("bills", spec("amount", "float64"), column(*texts), TableMapping(decimal=decimal))

    assert values.to_pylist() == expected


def test_anything_else_around_a_number_is_still_named() -> None:
    with pytest.raises(ContractError, match="cannot be read as float64") as error:
        coerce("bills", spec("amount", "float64"), column("¥58.00", "¥¥4", "88元元", "approx 3"), TableMapping())

    assert "row 1: '¥¥4'" in str(error.value) and "row 3: 'approx 3'" in str(error.value)


def test_a_currency_amount_that_breaks_a_check_is_quarantined_as_before(settings, tmp_path: Path) -> None:
    """Given CSV bills in ¥ text, one of them 200,000 CNY (above bills.amount's 100,000 limit)."""
    tables = valid_tables()
    amounts = ["¥58.00", "¥70.50", "¥128.00", "¥200,000.00", "¥19.00"]
    folder = write_tables(tmp_path / "export", {**tables, "bills": tables["bills"].assign(amount=amounts)}, "csv")
    validation = settings.validation.model_copy(update={"max_quarantined_share": 0.5})

    result = validate_tables(folder, validation, tmp_path / "quarantine", tmp_path / "report.json")

    assert result.reports["bills"].quarantined == 1
    assert result.tables["bills"]["amount"].tolist() == [58.0, 70.5, 128.0, 19.0]


def test_a_utc_parquet_timestamp_becomes_the_local_wall_time_or_asks_for_the_zone() -> None:
    """Spark writes TIMESTAMP columns as UTC instants: 2024-10-31 08:00 UTC is 16:00 in Shanghai."""
    instants = pa.chunked_array([pa.array([1730361600000, None], type=pa.timestamp("ms", tz="UTC"))])
    local = coerce("contacts", spec("contact_time", "datetime"), instants, TableMapping(timezone=SHANGHAI))
    assert local.type == pa.timestamp("ms") and shown(local) == ["2024-10-31 16:00:00", None]
    midnight = pa.chunked_array([pa.array([1730304000000], type=pa.timestamp("ms", tz="UTC"))])  # 10-30 16:00 UTC
    as_date = coerce("subscribers", spec("activation_date", "date"), midnight, TableMapping(timezone=SHANGHAI))
    assert as_date.to_pylist() == [date(2024, 10, 31)]  # the local day, not the UTC one
    with pytest.raises(ContractError, match="wrong type: values are not date"):  # 16:00 is not a day
        coerce("subscribers", spec("activation_date", "date"), instants, TableMapping(timezone=SHANGHAI))
    with pytest.raises(ContractError, match=r"holds instants \(time zone UTC\): say the local time they become"):
        coerce("contacts", spec("contact_time", "datetime"), instants, TableMapping())
