"""`tiercast mapping draft` on warehouse dumps: integer dates, epoch times, amounts with a currency mark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from pipelines.column_profile import profile
from pipelines.mapping_draft import draft_mapping
from pipelines.mapping_text import draft_text
from tests.data_contracts.tables import TABLES, valid_tables
from tests.pipelines.test_coerce_export_formats import CONTACT_SECONDS
from tests.pipelines.test_mapping import validate
from tests.pipelines.test_mapping_draft import answered, parsed, unmarked


@pytest.mark.parametrize(
    ("values", "kind", "shape", "date_format", "formats"),
    [
        ([20230115, 20240105], pa.int32(), "date", "%Y%m%d", ()),
        ([202401, 202402], pa.int64(), "month", "%Y%m", ()),
        ([1706752805, 1710930600], pa.int64(), "number", "epoch_s", ()),
        (["1706752805000", "1710930600123"], pa.string(), "number", "epoch_ms", ()),
        (["2024020110", "2024032018"], pa.string(), "number", "?", ("%Y%m%d%H", "epoch_s")),  # hours, or seconds?
        ([1000001, 1000002], pa.int64(), "number", None, ()),  # ids: too short for an epoch
        ([123456789012345678, 123456789012345679], pa.int64(), "text", None, ()),  # 16+ digits: ids
    ],
    ids=["int-yyyymmdd", "int-yyyymm", "epoch-s", "epoch-ms-text", "yyyymmddhh", "ids", "long-ids"],
)
def test_digits_are_profiled_as_the_dates_or_times_they_may_be(
    values: list[object], kind: pa.DataType, shape: str, date_format: str | None, formats: tuple[str, ...]
) -> None:
    found = profile("x", pa.chunked_array([pa.array(values, kind)]))

    assert (found.shape, found.date_format, found.formats) == (shape, date_format, formats)


@pytest.mark.parametrize(
    ("values", "median", "comma"),
    [
        (["¥1,234.50", "¥58.00", "70.5"], 70.5, False),
        (["€ 1.234,50", "88,00 €"], 88.0, True),
        (["88元", "12元"], 12.0, False),
    ],
)
def test_amounts_with_a_currency_mark_are_numbers(values: list[str], median: float, comma: bool) -> None:
    found = profile("x", pa.chunked_array([pa.array(values)]))

    assert (found.shape, found.median, found.decimal_comma) == ("number", median, comma)


def write_hive_export(folder: Path, fmt: str) -> Path:
    """Write the hand-built tables as a warehouse dumps them, in files named a..d (placed by their content):
    integer YYYYMMDD dates and YYYYMM months, epoch contact times (Parquet: int64 ms; CSV: second digits) next to
    13-digit ticket ids, and (CSV) ¥ amounts."""
    tables = valid_tables()
    s, b, p, c = (tables[t] for t in TABLES)

    def digits(dates: pd.Series, pattern: str) -> pd.Series:
        return pd.to_numeric(dates.dt.strftime(pattern)).astype("Int64")

    yen = fmt == "csv"
    times = [t * (1 if yen else 1000) for t in CONTACT_SECONDS]
    files = {
        "a": s[["subscriber_id", "msisdn", "deactivation_reason", "plan"]]
        .set_axis(["USER_ID", "SERIAL_NUMBER", "REMOVE_REASON", "PRODUCT_NAME"], axis=1)
        .assign(
            OPEN_DATE=digits(s["activation_date"], "%Y%m%d"), DESTROY_DATE=digits(s["deactivation_date"], "%Y%m%d")
        ),
        "b": pd.DataFrame(
            {
                "USER_ID": b["subscriber_id"],
                "BILL_CYCLE": digits(b["bill_month"], "%Y%m"),
                "FEE": [f"¥{v:,.2f}" for v in b["amount"]] if yen else b["amount"],
            }
        ),
        "c": p.set_axis(["USER_ID", "BILL_CYCLE", "DUE_DATE", "PAY_DATE", "PAY_FEE"], axis=1).assign(
            BILL_CYCLE=digits(p["bill_month"], "%Y%m")
        ),
        "d": pd.DataFrame(
            {
                "TICKET_ID": [2024020100001, 2024032000002, 2024021000003, 2024012000004],
                "USER_ID": c["subscriber_id"],
                "CALL_TIME": times,
                "CHANNEL": c["channel"],
                "REASON": c["reason"],
            }
        ),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in files.items():
        if yen:
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_hive_style_export_is_drafted_and_validates_once_its_time_zone_is_answered(
    settings, tmp_path: Path, fmt: str
) -> None:
    folder = write_hive_export(tmp_path / "export", fmt)

    text = draft_text(draft_mapping(folder))

    draft = parsed(text)
    tables = draft["tables"]
    assert unmarked(text) == []
    assert draft["timezone"] == "?"
    assert tables["subscribers"]["dates"] == {"activation_date": "%Y%m%d", "deactivation_date": "%Y%m%d"}
    assert tables["bills"]["dates"] == tables["payments"]["dates"] == {"bill_month": "%Y%m"}
    assert tables["bills"]["columns"]["amount"] == "FEE"
    assert tables["contacts"]["columns"] | {} == {
        "contact_id": "TICKET_ID",
        "subscriber_id": "USER_ID",
        "contact_time": "CALL_TIME",
        "channel": "CHANNEL",
        "reason": "REASON",
    }
    assert tables["contacts"]["dates"] == {"contact_time": "epoch_s" if fmt == "csv" else "epoch_ms"}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(answered(draft, {"timezone": "Asia/Shanghai"}), allow_unicode=True))

    result = validate(settings, folder, path)

    canonical = valid_tables()
    assert {t: result.reports[t].quarantined for t in TABLES} == dict.fromkeys(TABLES, 0)
    assert result.tables["contacts"]["contact_time"].tolist() == canonical["contacts"]["contact_time"].tolist()
    assert (
        result.tables["subscribers"]["activation_date"].tolist() == canonical["subscribers"]["activation_date"].tolist()
    )
    assert result.tables["bills"]["amount"].tolist() == canonical["bills"]["amount"].tolist()


def test_yyyymmddhh_hours_are_left_to_a_person_not_read_as_epoch_seconds(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    hours = ["2024020110", "2024032018", "2024021008", "2024012012"]
    pd.DataFrame({"USER_ID": [1, 2, 3, 1], "CALL_TIME": hours, "CHANNEL": "voice", "REASON": "inquiry"}).to_csv(
        folder / "contacts.csv", index=False
    )

    text = draft_text(draft_mapping(folder))

    assert "timezone" not in parsed(text)
    assert parsed(text)["tables"]["contacts"]["dates"] == {"contact_time": "?"}
    assert "values like 2024020110 fit %Y%m%d%H and epoch_s: which one?" in text


def test_a_spark_export_with_utc_timestamps_asks_for_the_time_zone_and_reads_local_times(
    settings, tmp_path: Path
) -> None:
    """Spark writes TIMESTAMP columns as UTC instants (Parquet timestamp with tz): the draft asks for the zone."""
    folder = write_hive_export(tmp_path / "export", "parquet")
    contacts = pd.read_parquet(folder / "d.parquet")
    instants = pd.to_datetime(contacts["CALL_TIME"], unit="ms", utc=True)  # tz-aware: UTC instants
    contacts.assign(CALL_TIME=instants).to_parquet(folder / "d.parquet", index=False)

    text = draft_text(draft_mapping(folder))

    draft = parsed(text)
    assert draft["timezone"] == "?" and "contacts.contact_time (UTC)" in text
    assert "contact_time" not in draft["tables"]["contacts"].get("dates", {})  # typed: no format to read
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(answered(draft, {"timezone": "Asia/Shanghai"}), allow_unicode=True))
    result = validate(settings, folder, path)
    assert result.tables["contacts"]["contact_time"].tolist() == valid_tables()["contacts"]["contact_time"].tolist()
