"""Reading values the way exports write them: dates, numbers, fen, booleans, codes, ids."""

from __future__ import annotations

import pyarrow as pa
import pytest

from data_contracts.loader import ColumnSpec, ContractError
from pipelines.coerce import coerce, fill_column, id_kind_of, settle_ids
from pipelines.mapping import TableMapping


def column(*values: object, kind: pa.DataType | None = None) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(list(values), type=kind or pa.string())])


def spec(name: str, kind: str, **extra: object) -> ColumnSpec:
    return ColumnSpec(name=name, type=kind, **extra)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["20240131", "20231201"], ["2024-01-31", "2023-12-01"]),
        (["202401", "202312"], ["2024-01-01", "2023-12-01"]),
        (["2024/01/31", "2023/12/1"], ["2024-01-31", "2023-12-01"]),
        (["2024-01-31", " 2023-12-01 "], ["2024-01-31", "2023-12-01"]),
        (["2024-01-31 00:00:00", "2023-12-01T00:00:00"], ["2024-01-31", "2023-12-01"]),
    ],
    ids=["yyyymmdd", "yyyymm", "slashes", "iso-padded", "midnight-times"],
)
def test_text_dates_are_recognised_without_a_format(texts: list[str], expected: list[str]) -> None:
    values = coerce("bills", spec("bill_month", "date"), column(*texts, None, ""), TableMapping())

    assert [str(v) if v else None for v in values.to_pylist()] == [*expected, None, None]
    assert values.type == pa.date32()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-01 10:00:05.123", "2024-02-01 10:00:05.123000"),
        ("2024-02-01T10:00:05", "2024-02-01 10:00:05"),
        ("20240201235959", "2024-02-01 23:59:59"),
        ("2024/02/01 08:00:00", "2024-02-01 08:00:00"),
        ("2024/2/1 08:00:00", "2024-02-01 08:00:00"),
    ],
)
def test_datetimes_keep_seconds_and_fractions(text: str, expected: str) -> None:
    values = coerce("contacts", spec("contact_time", "datetime"), column(text), TableMapping())

    assert [str(v) for v in values.to_pylist()] == [expected]


def test_a_mapping_format_reads_what_no_shape_would() -> None:
    mapping = TableMapping(dates={"paid_date": "%d.%m.%Y"})

    values = coerce("payments", spec("paid_date", "date", nullable=True), column("31.01.2024", None), mapping)

    assert [str(v) if v else None for v in values.to_pylist()] == ["2024-01-31", None]


def test_a_date_that_does_not_read_names_the_column_and_row() -> None:
    with pytest.raises(ContractError) as caught:
        coerce("payments", spec("due_date", "date"), column("20240215", "2024x215", "20240315"), TableMapping())

    assert caught.value.column == "due_date" and caught.value.rule == "type"
    assert "row 1: '2024x215'" in str(caught.value)


def test_an_unknown_date_shape_asks_for_a_format() -> None:
    with pytest.raises(ContractError, match="give its strptime format under dates"):
        coerce("payments", spec("due_date", "date"), column("15 Feb 2024"), TableMapping())


def test_numbers_with_thousands_separators_and_fen_scales() -> None:
    mapping = TableMapping(scales={"amount": 0.01})

    amounts = coerce("bills", spec("amount", "float64"), column("1,234,567", "1234", "7", "0"), mapping)
    paid = coerce("payments", spec("amount_paid", "float64"), column("1,234.50", "58.00", "0.1"), TableMapping())

    # 1234 fen is exactly the CNY amount 12.34 (divided by 100, not multiplied by 0.01)
    assert amounts.to_pylist() == [12345.67, 12.34, 0.07, 0.0]
    assert paid.to_pylist() == [1234.5, 58.0, 0.1]


def test_numbers_with_a_decimal_comma_read_as_the_same_amounts() -> None:
    """Given a decimal-comma export (Spain, Germany, Excel in those locales), "1.234,50" is 1234.5."""
    mapping = TableMapping(decimal=",")

    paid = coerce("payments", spec("amount_paid", "float64"), column("1.234,50", "58,06", "7", "0,1", None), mapping)
    fen = coerce(
        "bills",
        spec("amount", "float64"),
        column("1.234", "5"),
        mapping.model_copy(update={"scales": {"amount": 0.01}}),
    )

    assert paid.to_pylist() == [1234.5, 58.06, 7.0, 0.1, None]
    assert fen.to_pylist() == [12.34, 0.05]


@pytest.mark.parametrize("fmt", ["%d/%m/%Y %H:%M:%S,%f", "%d/%m/%Y %H:%M:%S.%f"])
def test_a_mapping_format_with_fractions_of_a_second_keeps_them(fmt: str) -> None:
    """Arrow's strptime has no %f: the fraction (comma or point) is read apart, to the millisecond."""
    texts = ("01/02/2024 10:00:05,25", "01/02/2024 10:00:05.123456", "29/02/2024 23:59:59", None)
    mapping = TableMapping(dates={"contact_time": fmt})

    values = coerce("contacts", spec("contact_time", "datetime"), column(*texts), mapping)

    assert [str(v) if v else None for v in values.to_pylist()] == [
        "2024-02-01 10:00:05.250000",
        "2024-02-01 10:00:05.123000",
        "2024-02-29 23:59:59",
        None,
    ]


@pytest.mark.parametrize(
    "text", ["+8613800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000", "(+86) 138.0013.8000"]
)
def test_phone_numbers_with_a_country_prefix_read_as_the_national_number(text: str) -> None:
    msisdn = spec("msisdn", "string", phone_prefixes=("0086", "86"))

    values = coerce("subscribers", msisdn, column(text, "13900139000", "86138001", None), TableMapping())

    # too short after the prefix: left as written, for the msisdn:str_matches check to quarantine
    assert values.to_pylist() == ["13800138000", "13900139000", "86138001", None]


def test_integer_phone_numbers_with_a_country_prefix_read_as_text_national_numbers() -> None:
    msisdn = spec("msisdn", "string", phone_prefixes=("0086", "86"))

    values = coerce("subscribers", msisdn, column(8613800138000, 13900139000, kind=pa.int64()), TableMapping())

    assert values.to_pylist() == ["13800138000", "13900139000"]


def test_integer_fen_columns_scale_too() -> None:
    values = coerce(
        "bills", spec("amount", "float64"), column(1234, 5, kind=pa.int64()), TableMapping(scales={"amount": 0.01})
    )

    assert values.to_pylist() == [12.34, 0.05]


@pytest.mark.parametrize("texts", [["true", "FALSE"], ["1", "0"], ["Y", "n"], ["yes", "No"], ["是", "否"], ["T", "f"]])
def test_booleans_as_exports_write_them(texts: list[str]) -> None:
    values = coerce("contacts", spec("resolved", "bool"), column(*texts, ""), TableMapping())

    assert values.to_pylist() == [True, False, None]


def test_a_bool_that_is_not_one_names_the_row() -> None:
    with pytest.raises(ContractError, match="row 1: 'maybe'"):
        coerce("contacts", spec("resolved", "bool"), column("Y", "maybe"), TableMapping())


def test_codes_are_mapped_and_unknown_ones_kept_for_the_check() -> None:
    mapping = TableMapping(codes={"channel": {"10086热线": "voice", "外呼": "outbound"}})

    values = coerce("contacts", spec("channel", "string"), column("10086热线", " 外呼", "voice", "微信", None), mapping)

    assert values.to_pylist() == ["voice", "outbound", "voice", "微信", None]


def test_text_ids_stay_text_and_integer_text_ids_become_integers() -> None:
    text = column("U00000001", "U00000002")
    digits = column("1", "20", "300")
    padded = column("007", "8")

    assert (id_kind_of(text), id_kind_of(digits), id_kind_of(padded)) == ("string", "int64", "string")
    id_spec = spec("subscriber_id", "id")
    assert settle_ids("bills", id_spec, digits, "int64").to_pylist() == [1, 20, 300]
    assert settle_ids("bills", id_spec, column(1, 2, kind=pa.int64()), "string").to_pylist() == ["1", "2"]
    with pytest.raises(ContractError, match="row 0: '007'"):
        settle_ids("bills", id_spec, padded, "int64")


def test_twenty_digit_ids_are_too_big_for_integers_and_stay_text() -> None:
    ids = column("86000000000000000001", "86000000000000000002")

    assert id_kind_of(ids) == "string"


def test_absent_optional_columns_are_filled_as_the_contract_says() -> None:
    assert fill_column(spec("do_not_contact", "bool", required=False, fill=False, when_missing="x"), 2).tolist() == [
        False,
        False,
    ]
    assert fill_column(spec("contact_id", "id", required=False, when_missing="x"), 3).tolist() == [1, 2, 3]
    assert fill_column(spec("data_mb", "float64", required=False, when_missing="x"), 2).isna().all()
    assert fill_column(spec("brand", "string", required=False, when_missing="x"), 2).isna().all()


def test_numeric_codes_are_mapped_as_text_and_a_code_can_mean_missing() -> None:
    channels = TableMapping(codes={"channel": {"1": "voice", "9": "outbound"}})
    flags = TableMapping(codes={"list_flag": {"VIP": "red", "普通": ""}})

    channel = coerce("contacts", spec("channel", "string"), column(1, 9, 4, kind=pa.int64()), channels)
    flag = coerce("subscribers", spec("list_flag", "string", nullable=True), column("VIP", "普通", None), flags)

    assert channel.to_pylist() == ["voice", "outbound", "4"]
    assert flag.to_pylist() == ["red", None, None]
