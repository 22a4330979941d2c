"""`generate --export-style`: the crm-b and bss-a exports hold the canonical tables exactly, read back by mapping."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
import yaml
from typer.testing import CliRunner

from tiercast.cli import app
from tiercast.cli import generate as command
from tiercast.synthetic import generate
from tiercast.synthetic.export_csv import (
    Column,
    coded_column,
    date_column,
    flag_column,
    money_column,
    number_column,
    prefixed_ids,
    text_column,
    time_column,
    whole_fen,
    write_csv,
)
from tiercast.synthetic.export_styles import STYLES, write_export

TINY = (2000, 6, 5)  # subscribers, months, seed: every plan, both leaving reasons, both lists, payments >= 1000 CNY
TABLES = ("subscribers", "bills", "payments", "contacts")
ID_TEXT = {"crm-b": "U{:08d}".format, "bss-a": "86{:018d}".format}
BOOLEANS = {"是": True, "否": False, "Y": True, "N": False}
# The export's own names pass through (no isin check in the contract): one-to-one with tiercast's, not equal.
OPEN_VOCABULARIES = ("plan", "brand", "region", "segment", "gender", "sales_channel")
CONTRACTS = Path(__file__).resolve().parents[2] / "data_contracts"
HEADERS = {
    "crm-b": {
        "CRM_USER.csv": "USER_ID,SERIAL_NUMBER,OPEN_DATE,DESTROY_DATE,REMOVE_REASON,PRODUCT_NAME,BRAND_NAME,"
        "CITY_NAME,VIP_FLAG",
        "BILL_MONTHLY.csv": "USER_ID,BILL_CYCLE,FEE_TOTAL,FEE_DATA",
        "PAYMENT.csv": "USER_ID,BILL_CYCLE,DUE_DATE,PAY_DATE,PAY_FEE",
        "CONTACT_LOG.csv": "用户编号,联系时间,渠道,原因,是否解决",
    },
    "bss-a": {
        "subs_extract.csv": "customer_ref,service_number,activation_dt,termination_dt,termination_code,"
        "rate_plan_code,contract_code,commitment_end_dt,brand_name,customer_segment,birth_yr,gender_code,"
        "home_city,acquisition_channel,vip_status,dnc_flag",
        "invoice_lines.csv": "customer_ref,invoice_period,total_charge,recurring_charge,voice_mins,"
        "data_volume_mb,sms_qty,data_charge,ld_charge,roaming_charge,vas_charge",
        "payment_events.csv": "customer_ref,invoice_period,due_dt,settled_dt,settled_amount",
        "interactions.csv": "interaction_id,customer_ref,started_at,channel_code,reason_code,ftr_flag,"
        "abandoned_flag,queue_wait_sec,handle_time_sec",
    },
}


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory, generator_settings) -> Path:
    """Folder of a tiny canonical data set."""
    folder = tmp_path_factory.mktemp("canonical")
    generate(folder, *TINY, generator_settings)
    return folder


@pytest.fixture(scope="module")
def exports(canonical: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Paths written by write_export, per style."""
    return {style: write_export(canonical, tmp_path_factory.mktemp(style), style) for style in STYLES}


def _table(canonical: Path, table: str) -> pd.DataFrame:
    frame = pd.read_parquet(canonical / f"{table}.parquet")
    for column in frame.columns:
        if column.endswith("_date") or column in ("bill_month", "contact_time"):
            frame[column] = pd.to_datetime(frame[column])
    return frame


def _raw(path: Path, encoding: str) -> pd.DataFrame:
    return pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False)


def _mapping(paths: dict[str, Path]) -> dict:
    return yaml.safe_load(paths["mapping"].read_text(encoding="utf-8"))


def _read_back(paths: dict[str, Path], table: str) -> pd.DataFrame:
    """Read an export table with plain pandas as its mapping says: rename, map codes, parse dates, scale."""
    mapping = _mapping(paths)
    spec = mapping["tables"][table]
    encoding = "utf-8-sig" if mapping["encoding"] == "utf-8" else mapping["encoding"]
    raw = _raw(paths["mapping"].parent / spec["file"], encoding)
    frame = raw.rename(columns={export: name for name, export in spec["columns"].items()})[list(spec["columns"])]
    for column, codes in spec.get("values", {}).items():
        frame[column] = frame[column].map(codes)
    for column, fmt in spec.get("dates", {}).items():
        frame[column] = pd.to_datetime(frame[column].replace("", None), format=fmt)
    for column, factor in spec.get("scales", {}).items():
        frame[column] = pd.to_numeric(frame[column]) * factor
    return frame


def _closed_vocabularies(table: str) -> set[str]:
    columns = yaml.safe_load((CONTRACTS / f"{table}.yaml").read_text(encoding="utf-8"))["columns"]
    return {name for name, spec in columns.items() if "isin" in (spec.get("checks") or {})}


def _one_to_one(left: pd.Series, right: pd.Series) -> bool:
    pairs = pd.DataFrame({"left": left.to_numpy(), "right": right.to_numpy()}).dropna().drop_duplicates()
    return pairs["left"].is_unique and pairs["right"].is_unique


def _as_canonical(got: pd.Series, want: pd.Series, scaled: bool) -> pd.Series:
    """Return read-back values in the canonical column's terms (bools, numbers, id text)."""
    if want.name == "subscriber_id":
        return got
    if pd.api.types.is_bool_dtype(want):
        return got.map(BOOLEANS)
    if pd.api.types.is_numeric_dtype(want) and not scaled:
        return pd.to_numeric(got.str.replace(",", "").replace("", None))
    if scaled:  # fen x 0.01 can be one ulp off the canonical double (CNY rounded to fen)
        return got.round(2)
    if pd.api.types.is_datetime64_any_dtype(got):
        return got
    return got.replace("", None)


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("table", TABLES)
def test_reading_the_export_through_its_mapping_gives_the_canonical_values(
    canonical: Path, exports: dict[str, dict[str, Path]], style: str, table: str
) -> None:
    got = _read_back(exports[style], table)
    want = _table(canonical, table)
    spec = _mapping(exports[style])["tables"][table]
    if style == "bss-a" and table == "contacts":
        want["contact_time"] = want["contact_time"].dt.floor("s")  # the warehouse keeps whole seconds
    want["subscriber_id"] = want["subscriber_id"].map(ID_TEXT[style])
    assert len(got) == len(want)
    for column in got.columns:
        value = _as_canonical(got[column], want[column], column in spec.get("scales", {}))
        expected = want[column]
        if pd.api.types.is_datetime64_any_dtype(expected):  # same unit on both sides (pandas picks s, ms or us)
            value, expected = value.astype("datetime64[ms]"), expected.astype("datetime64[ms]")
        if column in OPEN_VOCABULARIES:
            assert _one_to_one(value, expected), column
            assert (value.isna() == expected.isna()).all(), column
        else:
            pd.testing.assert_series_equal(value, expected, check_dtype=False, check_index=False, obj=column)


@pytest.mark.parametrize("style", list(STYLES))
def test_headers_are_the_export_names_and_rows_the_canonical_rows(
    canonical: Path, exports: dict[str, dict[str, Path]], style: str
) -> None:
    paths = exports[style]
    encoding = _mapping(paths)["encoding"]
    files = {paths[table].name: table for table in TABLES}
    assert set(files) == set(HEADERS[style])
    for name, table in files.items():
        text = paths[table].read_bytes().decode(encoding).removeprefix("\ufeff")
        lines = text.splitlines()
        assert lines[0] == HEADERS[style][name]
        assert len(lines) - 1 == pq.ParquetFile(canonical / f"{table}.parquet").metadata.num_rows


@pytest.mark.parametrize("name", ["CRM_USER.csv", "CONTACT_LOG.csv"])
def test_crm_b_chinese_files_are_gbk_not_utf8(exports: dict[str, dict[str, Path]], name: str) -> None:
    raw = (exports["crm-b"]["mapping"].parent / name).read_bytes()
    assert re.search("[\u4e00-\u9fff]", raw.decode("gbk"))
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_crm_b_subscribers_ids_dates_and_chinese_names(canonical: Path, exports: dict[str, dict[str, Path]]) -> None:
    users = _raw(exports["crm-b"]["subscribers"], "gbk")
    want = _table(canonical, "subscribers")
    assert users["USER_ID"].tolist() == [f"U{i:08d}" for i in want["subscriber_id"]]
    assert users["SERIAL_NUMBER"].tolist() == want["msisdn"].tolist()
    assert users["OPEN_DATE"].tolist() == want["activation_date"].dt.strftime("%Y%m%d").tolist()
    assert ((users["DESTROY_DATE"] == "") == want["deactivation_date"].isna()).all()
    assert users["DESTROY_DATE"].str.fullmatch(r"(\d{8})?").all()
    pairs = set(zip(want["deactivation_reason"].fillna(""), users["REMOVE_REASON"], strict=True))
    assert pairs == {("", ""), ("voluntary", "主动离网"), ("non_payment", "欠费停机")}
    assert set(zip(want["list_flag"].fillna(""), users["VIP_FLAG"], strict=True)) == {
        ("", ""),
        ("red", "红名单"),
        ("black", "黑名单"),
    }
    plans = dict(zip(want["plan"], users["PRODUCT_NAME"], strict=True))
    assert plans["prepaid_19"] == "神州行畅听卡19元"
    assert plans["postpaid_58"] == "全球通58元套餐"
    assert len(set(plans.values())) == len(plans) == 11
    brands = dict(zip(want["brand"], users["BRAND_NAME"], strict=True))
    assert brands == {"gotone": "全球通", "mzone": "动感地带", "easyown": "神州行"}
    assert dict(zip(want["region"], users["CITY_NAME"], strict=True))["Guangzhou"] == "广州"


def test_crm_b_bills_and_payments_in_fen_and_yyyymm(canonical: Path, exports: dict[str, dict[str, Path]]) -> None:
    bills, want = _raw(exports["crm-b"]["bills"], "gbk"), _table(canonical, "bills")
    assert bills["BILL_CYCLE"].tolist() == want["bill_month"].dt.strftime("%Y%m").tolist()
    assert bills["FEE_TOTAL"].astype(int).tolist() == (want["amount"] * 100).round().astype(int).tolist()
    assert bills["FEE_DATA"].astype(int).tolist() == (want["data_amount"] * 100).round().astype(int).tolist()
    payments, paid = _raw(exports["crm-b"]["payments"], "gbk"), _table(canonical, "payments")
    assert payments["DUE_DATE"].str.fullmatch(r"\d{8}").all()
    assert payments["PAY_DATE"].tolist() == paid["paid_date"].dt.strftime("%Y/%m/%d").fillna("").tolist()
    big = paid["amount_paid"] >= 1000
    assert big.any()
    assert payments.loc[big, "PAY_FEE"].str.fullmatch(r"\d{1,3}(,\d{3})+\.\d\d").all()
    text = exports["crm-b"]["payments"].read_text(encoding="gbk")
    assert all(f'"{fee}"' in text for fee in payments.loc[big, "PAY_FEE"])


def test_crm_b_contacts_keep_milliseconds_and_use_chinese_codes(
    canonical: Path, exports: dict[str, dict[str, Path]]
) -> None:
    contacts, want = _raw(exports["crm-b"]["contacts"], "gbk"), _table(canonical, "contacts")
    assert contacts["联系时间"].tolist() == want["contact_time"].dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3].tolist()
    assert set(zip(want["channel"], contacts["渠道"], strict=True)) == {
        ("voice", "10086热线"),
        ("chat", "在线客服"),
        ("app", "掌上营业厅"),
        ("store", "营业厅"),
        ("outbound", "外呼"),
    }
    assert set(zip(want["reason"], contacts["原因"], strict=True)) == {
        ("inquiry", "咨询"),
        ("billing", "账单查询"),
        ("complaint", "投诉"),
        ("fault", "故障报修"),
        ("cancel_intent", "销户咨询"),
        ("plan_change", "套餐变更"),
        ("retention_call", "挽留回访"),
    }
    assert set(contacts["是否解决"]) == {"是", "否"}


def test_bss_a_has_a_bom_20_digit_ids_and_iso_dates(canonical: Path, exports: dict[str, dict[str, Path]]) -> None:
    paths = exports["bss-a"]
    assert all(paths[table].read_bytes().startswith(b"\xef\xbb\xbfcustomer_ref,") for table in TABLES[:3])
    subs = _raw(paths["subscribers"], "utf-8-sig")
    want = _table(canonical, "subscribers")
    assert subs["customer_ref"].str.fullmatch(r"86\d{18}").all()
    assert subs["customer_ref"].tolist() == [f"86{i:018d}" for i in want["subscriber_id"]]
    assert subs["activation_dt"].tolist() == want["activation_date"].dt.strftime("%Y-%m-%d").tolist()
    assert subs["service_number"].tolist() == want["msisdn"].tolist()
    assert set(subs["contract_code"]) == {"PRE", "POST", "C12", "C24"}
    assert set(subs["dnc_flag"]) == {"Y", "N"}
    invoices = _raw(paths["bills"], "utf-8-sig")
    assert invoices["invoice_period"].str.fullmatch(r"\d{4}-\d\d-01").all()
    contacts = _raw(paths["contacts"], "utf-8-sig")
    assert contacts["started_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()


def test_mapping_files_use_only_the_mapping_keys(exports: dict[str, dict[str, Path]]) -> None:
    for style, paths in exports.items():
        mapping = _mapping(paths)
        assert set(mapping) == {"encoding", "tables"}
        assert set(mapping["tables"]) == set(TABLES)
        for table, spec in mapping["tables"].items():
            assert set(spec) <= {"file", "columns", "dates", "values", "scales"}, style
            assert set(spec.get("values", {})) == _closed_vocabularies(table) & set(spec["columns"]), (style, table)
            assert not _closed_vocabularies(table) & set(OPEN_VOCABULARIES)
    crm_b = _mapping(exports["crm-b"])
    assert crm_b["encoding"] == "gbk"
    assert crm_b["tables"]["bills"]["scales"] == {"amount": 0.01, "data_amount": 0.01}
    assert crm_b["tables"]["subscribers"]["values"] == {
        "deactivation_reason": {"主动离网": "voluntary", "欠费停机": "non_payment"},
        "list_flag": {"红名单": "red", "黑名单": "black"},
    }
    assert crm_b["tables"]["payments"]["dates"] == {"bill_month": "%Y%m", "due_date": "%Y%m%d", "paid_date": "%Y/%m/%d"}
    assert _mapping(exports["bss-a"])["encoding"] == "utf-8"


@pytest.mark.parametrize("style", list(STYLES))
def test_truth_joins_on_the_export_ids(canonical: Path, exports: dict[str, dict[str, Path]], style: str) -> None:
    for name in ("churn_probability", "subscriber_types"):
        got = pd.read_parquet(exports[style][name])
        want = pd.read_parquet(canonical / "_truth" / f"{name}.parquet")
        assert got["subscriber_id"].tolist() == want["subscriber_id"].map(ID_TEXT[style]).tolist()
        pd.testing.assert_frame_equal(got.drop(columns="subscriber_id"), want.drop(columns="subscriber_id"))
    subscribers = _read_back(exports[style], "subscribers")
    assert set(pd.read_parquet(exports[style]["subscriber_types"])["subscriber_id"]) == set(
        subscribers["subscriber_id"]
    )


def test_write_csv_formats_quotes_and_encodes_each_kind_of_column(tmp_path: Path) -> None:
    """Given two rows of every kind of column, when written as GBK CSV, then the bytes are exactly these."""
    source = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": pa.array([7, 123456789], pa.int64()),
                "msisdn": ["13800000000", 'a,"b"'],
                "day": pa.array([date(2026, 9, 1), None], pa.date32()),
                "time": pa.array([datetime(2026, 3, 1, 2, 35, 34, 801000), datetime(2026, 3, 1)], pa.timestamp("ms")),
                "amount": [1234567.89, 19.5],
                "minutes": [91.2, 1552.0],
                "reason": ["voluntary", None],
                "resolved": [True, None],
            }
        ),
        source,
    )
    columns: tuple[Column, ...] = (
        Column("ID", "subscriber_id", lambda v: prefixed_ids(v, "U", 8)),
        text_column("NO", "msisdn"),
        date_column("DAY", "day", "%Y/%m/%d"),
        time_column("AT", "time", "%Y-%m-%d", " ", millis=True),
        time_column("AT_S", "time", "%Y-%m-%d", "T", millis=False),
        money_column("FEE", "amount", separator=","),
        number_column("MIN", "minutes"),
        coded_column("WHY", "reason", {"voluntary": "主动离网", "non_payment": "欠费停机"}),
        flag_column("OK", "resolved", "是", "否"),
    )
    assert write_csv(source, tmp_path / "t.csv", columns, "gbk") == 2
    assert (tmp_path / "t.csv").read_bytes().decode("gbk") == (
        "ID,NO,DAY,AT,AT_S,FEE,MIN,WHY,OK\n"
        'U00000007,13800000000,2026/09/01,2026-03-01 02:35:34.801,2026-03-01T02:35:34,"1,234,567.89",91.2,主动离网,是\n'
        'U123456789,"a,""b""",,2026-03-01 00:00:00.000,2026-03-01T00:00:00,19.50,1552,,\n'
    )
    assert not list(tmp_path.glob("*.tmp"))


def test_closed_codes_refuse_unknown_values_and_amounts_must_be_whole_fen(tmp_path: Path) -> None:
    source = tmp_path / "t.parquet"
    pq.write_table(pa.table({"reason": ["voluntary", "moved_abroad"]}), source)
    with pytest.raises(ValueError, match="moved_abroad"):
        write_csv(source, tmp_path / "t.csv", (coded_column("R", "reason", {"voluntary": "VOL"}),), "utf-8")
    assert not (tmp_path / "t.csv").exists()
    assert not (tmp_path / "t.csv.tmp").exists()
    assert whole_fen(pa.array([0.29, 1234.5, 0.0])).tolist() == [29, 123450, 0]
    with pytest.raises(ValueError, match="not whole fen"):
        whole_fen(pa.array([0.125]))


def _app() -> typer.Typer:
    if not any(getattr(c, "name", None) == "generate" for c in app.registered_commands):
        command.register(app)
    return app


def test_cli_export_style_choices_are_the_styles() -> None:
    assert {style.value for style in command.ExportStyle} == set(STYLES)


def test_cli_writes_the_crm_b_export_and_says_how_to_read_it(tmp_path: Path) -> None:
    out = tmp_path / "exports" / "crm"
    args = ["generate", "-n", "300", "-m", "3", "--seed", "1", "--out", str(out), "--export-style", "crm-b"]
    result = CliRunner().invoke(_app(), args, env={"TIERCAST__PATHS__ROOT": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "CRM_USER.csv",
        "BILL_MONTHLY.csv",
        "PAYMENT.csv",
        "CONTACT_LOG.csv",
        "mapping.yaml",
        "_truth",
    }
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["crm"]  # the canonical tables were temporary
    assert {p.name for p in (out / "_truth").iterdir()} == {"churn_probability.parquet", "subscriber_types.parquet"}
    assert f"tiercast validate --data {out} --mapping {out / 'mapping.yaml'}" in result.output
    assert yaml.safe_load((out / "mapping.yaml").read_text(encoding="utf-8"))["encoding"] == "gbk"
