"""Reading an operator's export through a source mapping: files, names, codes, formats, encodings, ids."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.loader import ContractError
from features.availability import unavailable_features
from features.build import feature_table
from pipelines.ingest import validate_tables
from pipelines.mapping import MappingError, load_mapping
from pipelines.quarantine import ValidationResult
from tests.data_contracts.tables import TABLES, valid_tables

# An export in the style of a Chinese BOSS system: its own file and column names, codes and formats.
MAPPING = """\
encoding: {encoding}
tables:
  subscribers:
    file: 用户资料.csv
    columns: {{subscriber_id: 用户编号, msisdn: 手机号码, activation_date: 入网日期, deactivation_date: 离网日期,
              deactivation_reason: 离网原因, plan: 套餐}}
    dates: {{activation_date: "%Y%m%d", deactivation_date: "%Y%m%d"}}
    values:
      deactivation_reason: {{主动离网: voluntary, 欠费停机: non_payment}}
  bills:
    file: 账单.csv
    columns: {{subscriber_id: 用户编号, bill_month: 账期, amount: 应收金额}}
    scales: {{amount: 0.01}}
  payments:
    file: 缴费.csv
    columns: {{subscriber_id: 用户编号, bill_month: 账期, due_date: 截止日期, paid_date: 缴费日期,
              amount_paid: 实收金额}}
  contacts:
    file: 接触记录.csv
    columns: {{subscriber_id: 用户编号, contact_time: 联系时间, channel: 渠道, reason: 原因, resolved: 是否解决}}
    values:
      channel: {{10086热线: voice, 在线客服: chat, 掌上营业厅: app, 营业厅: store}}
      reason: {{咨询: inquiry, 账单查询: billing, 投诉: complaint, 故障报修: fault}}
"""
CHANNELS = {"voice": "10086热线", "chat": "在线客服", "app": "掌上营业厅", "store": "营业厅"}
REASONS = {"inquiry": "咨询", "billing": "账单查询", "complaint": "投诉", "fault": "故障报修"}


def ymd(values: pd.Series, fmt: str) -> pd.Series:
    return values.dt.strftime(fmt).where(values.notna(), "")


def write_export(
    folder: Path, encoding: str = "gbk", ids: str = "U{:08d}", contacts: pd.DataFrame | None = None
) -> Path:
    """Write the hand-built tables as a BOSS-style export (only the required columns, plus `resolved`) + mapping."""
    tables = valid_tables()
    folder.mkdir(parents=True, exist_ok=True)

    def key(values: pd.Series) -> pd.Series:
        return values.map(ids.format)

    s, b, p = tables["subscribers"], tables["bills"], tables["payments"]
    c = tables["contacts"] if contacts is None else contacts
    files = {
        "用户资料.csv": pd.DataFrame(
            {
                "用户编号": key(s["subscriber_id"]),
                "手机号码": s["msisdn"],
                "入网日期": ymd(s["activation_date"], "%Y%m%d"),
                "离网日期": ymd(s["deactivation_date"], "%Y%m%d"),
                "离网原因": s["deactivation_reason"].map({"voluntary": "主动离网", "non_payment": "欠费停机"}),
                "套餐": s["plan"].map(
                    {"postpaid_58": "全球通58元", "postpaid_128": "全球通128元", "prepaid_19": "神州行"}
                ),
                "备注": "x",  # a column tiercast does not know: ignored and reported
            }
        ),
        "账单.csv": pd.DataFrame(
            {
                "用户编号": key(b["subscriber_id"]),
                "账期": ymd(b["bill_month"], "%Y%m"),
                "应收金额": (b["amount"] * 100).round().astype(int),
            }
        ),
        "缴费.csv": pd.DataFrame(
            {
                "用户编号": key(p["subscriber_id"]),
                "账期": ymd(p["bill_month"], "%Y%m"),
                "截止日期": ymd(p["due_date"], "%Y/%m/%d"),
                "缴费日期": ymd(p["paid_date"], "%Y/%m/%d"),
                "实收金额": p["amount_paid"].map("{:,.2f}".format),
            }
        ),
        "接触记录.csv": pd.DataFrame(
            {
                "用户编号": key(c["subscriber_id"]),
                "联系时间": c["contact_time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                "渠道": c["channel"].map(lambda v: CHANNELS.get(v, v)),
                "原因": c["reason"].map(lambda v: REASONS.get(v, v)),
                "是否解决": c["resolved"].map({True: "是", False: "否"}),
            }
        ),
    }
    for name, frame in files.items():
        frame.to_csv(folder / name, index=False, encoding="utf-8-sig" if encoding == "utf-8" else encoding)
    (folder / "mapping.yaml").write_text(MAPPING.format(encoding=encoding), encoding="utf-8")
    return folder


def features_of(tables: dict[str, pd.DataFrame], as_of: date, settings, absent=None) -> pd.DataFrame:
    """Return the feature table of the four input tables."""
    s, b, p, c = (tables[t] for t in TABLES)
    return feature_table(s, b, p, c, as_of, settings.features, absent)


def validate(settings, folder: Path, mapping: Path | None, limit: float = 0.01) -> ValidationResult:
    validation = settings.validation.model_copy(update={"max_quarantined_share": limit})
    return validate_tables(
        folder,
        validation,
        folder / "quarantine",
        folder / "report.json",
        mapping=None if mapping is None else load_mapping(mapping),
    )


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_a_boss_export_validates_through_its_mapping(settings, tmp_path: Path, encoding: str) -> None:
    """Given GBK (or UTF-8 with BOM) CSVs with a Chinese header, fen amounts, YYYYMM months and Chinese codes."""
    folder = write_export(tmp_path / "export", encoding)
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            (folder / "接触记录.csv").read_text(encoding="utf-8")

    result = validate(settings, folder, folder / "mapping.yaml")

    canonical = valid_tables()
    assert all(result.reports[t].quarantined == 0 for t in TABLES)
    subscribers, bills = result.tables["subscribers"], result.tables["bills"]
    assert subscribers["subscriber_id"].tolist() == ["U00000001", "U00000002", "U00000003"]
    assert subscribers["deactivation_reason"].tolist()[1] == "voluntary"
    assert subscribers["plan"].tolist() == ["全球通58元", "全球通128元", "神州行"]
    assert bills["amount"].tolist() == canonical["bills"]["amount"].tolist()
    assert bills["bill_month"].tolist() == canonical["bills"]["bill_month"].tolist()
    assert result.tables["payments"]["paid_date"].equals(canonical["payments"]["paid_date"])
    assert result.tables["contacts"]["channel"].tolist() == canonical["contacts"]["channel"].tolist()
    assert result.tables["contacts"]["resolved"].tolist() == canonical["contacts"]["resolved"].tolist()
    assert result.reports["subscribers"].ignored_columns == ("备注",)
    assert set(result.absent["bills"]) == {
        "base_fee",
        "voice_minutes",
        "data_mb",
        "sms_count",
        "data_amount",
        "long_distance_amount",
        "roaming_amount",
        "value_added_amount",
    }
    report = json.loads((folder / "report.json").read_text())
    assert report["mapping"] == str(folder / "mapping.yaml")
    assert "abandoned_30d" in report["unavailable_features"] and "data_share" in report["unavailable_features"]
    assert report["tables"]["contacts"]["absent_columns"]["abandoned"] == "feature abandoned_30d is null (unavailable)"


def test_gbk_without_a_mapping_says_which_encoding_to_set(settings, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", "gbk")
    bare = folder / "bare"
    bare.mkdir()
    for table, name in [("subscribers", "用户资料.csv"), ("bills", "账单.csv")]:
        (bare / f"{table}.csv").write_bytes((folder / name).read_bytes())

    with pytest.raises(ContractError, match="set `encoding: gbk` in the mapping") as caught:
        validate(settings, bare, None)

    assert caught.value.table == "bills"  # read first: where the data ends


def test_an_unknown_code_is_quarantined_with_its_count_and_nothing_else_is_lost(settings, tmp_path: Path) -> None:
    contacts = valid_tables()["contacts"]
    contacts.loc[[0, 3], "channel"] = "微信公众号"  # a channel the mapping does not know, twice
    folder = write_export(tmp_path / "export", contacts=contacts)

    result = validate(settings, folder, folder / "mapping.yaml", limit=1.0)

    report = result.reports["contacts"]
    assert report.unmapped_codes == {"channel": {"微信公众号": 2}}
    assert report.rules["channel:unmapped_value"] == 2
    assert report.clean + report.quarantined == report.rows_read == 4
    saved = pd.read_parquet(folder / "quarantine" / "contacts.parquet")
    assert saved["source_row"].tolist() == [0, 3]
    assert saved["failed_rules"].tolist() == ["channel:unmapped_value"] * 2
    assert saved["channel"].tolist() == ["微信公众号"] * 2
    assert all(result.reports[t].quarantined == 0 for t in ("subscribers", "bills", "payments"))


def test_features_from_the_export_equal_the_canonical_ones_where_the_export_has_the_inputs(
    settings, tmp_path: Path
) -> None:
    folder = write_export(tmp_path / "export")
    canonical = valid_tables()
    result = validate(settings, folder, folder / "mapping.yaml")
    as_of = pd.Timestamp("2024-03-31").date()

    exported = features_of(result.tables, as_of, settings, result.absent)
    full = features_of(canonical, as_of, settings)

    unavailable = unavailable_features(result.absent)
    assert exported["subscriber_id"].tolist() == ["U00000001", "U00000003"]
    assert full["subscriber_id"].tolist() == [1, 3]
    assert exported["plan"].tolist() == ["全球通58元", "神州行"]  # the operator's own plan names, kept
    for name in full.columns.drop(["subscriber_id", "plan", *unavailable]):
        pd.testing.assert_series_equal(exported[name], full[name], check_dtype=False, obj=name)
    for name in unavailable:
        assert exported[name].isna().all() or name == "do_not_contact", name
    assert "contract_months_left" in unavailable and "abandoned_30d" in unavailable


def test_text_and_integer_ids_give_the_same_features(settings, tmp_path: Path) -> None:
    as_of = pd.Timestamp("2024-03-31").date()
    tables = {}
    for style in ("U{:08d}", "{}"):
        folder = write_export(tmp_path / style.replace("{", "").replace("}", "").replace(":", ""), ids=style)
        result = validate(settings, folder, folder / "mapping.yaml")
        tables[style] = features_of(result.tables, as_of, settings, result.absent)

    text, numbers = tables["U{:08d}"], tables["{}"]
    assert numbers["subscriber_id"].dtype == "int64"
    pd.testing.assert_frame_equal(text.drop(columns="subscriber_id"), numbers.drop(columns="subscriber_id"))


def test_a_mapping_naming_a_column_the_export_lacks_names_both(settings, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export")
    text = (folder / "mapping.yaml").read_text(encoding="utf-8").replace("手机号码", "电话")
    (folder / "mapping.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ContractError, match="reads msisdn from column '电话'") as caught:
        validate(settings, folder, folder / "mapping.yaml")

    assert caught.value.table == "subscribers" and caught.value.column == "msisdn"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables: {users: {file: a.csv}}", "unknown table(s) ['users']"),
        ("tables: {bills: {columns: {total: FEE}}}", "tables.bills.columns names 'total'"),
        ("tables: {bills: {dates: {amount: '%Y%m'}}}", "amount is a float64 column"),
        ("tables: {contacts: {values: {channel: {WX: wechat}}}}", "not tiercast's channel values"),
        (
            "encoding: klingon",
            "encoding: Value error, encoding 'klingon' is not a text encoding Python knows; use a Python text codec "
            "such as utf-8, gbk, gb18030, utf-16, cp1252, latin-1",
        ),
        ("encoding: base64", "encoding 'base64' is not a text encoding Python knows"),  # bytes to bytes: not text
        ("encoding: idna", "encoding 'idna' is not a file's character set"),
        ("delimiter: ':'", "delimiter ':' is not supported"),
        ("decimal: ' '", "decimal ' ' is not supported"),
        ("tables: {bills: {decimal: ';'}}", "decimal ';' is not supported"),
        ("tables: {bills: {scales: {amount: -1}}}", "scales must be positive"),
        ("tables: {bills: {colums: {}}}", "colums"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert message in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("given", "read_as"),
    [
        ("utf-8-sig", "utf-8"),
        ("UTF8", "utf-8"),
        ("gb2312", "gbk"),
        ("GB18030", "gb18030"),
        ("utf16", "utf-16"),
        ("latin-1", "iso8859-1"),
        ("ISO-8859-1", "iso8859-1"),
        ("windows-1252", "cp1252"),
        ("cp1252", "cp1252"),
        ("iso-8859-15", "iso8859-15"),
        ("shift_jis", "shift_jis"),
        ("big5", "big5"),
        ("euc-kr", "euc_kr"),
    ],
)
def test_any_text_encoding_is_read_as_pythons_codec_name(tmp_path: Path, given: str, read_as: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(f"encoding: {given}", encoding="utf-8")

    assert load_mapping(path).encoding == read_as


def test_codes_stay_text_in_the_mapping(tmp_path: Path) -> None:
    """YAML would read yes / no / 01 as a boolean or a number: the mapping keeps them as the codes they are."""
    path = tmp_path / "mapping.yaml"
    path.write_text("tables: {contacts: {values: {reason: {yes: complaint, 01: inquiry, on: other}}}}")

    mapping = load_mapping(path)

    assert mapping.table("contacts").codes["reason"] == {"yes": "complaint", "01": "inquiry", "on": "other"}


def test_only_a_nullable_column_may_map_a_code_to_missing(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text('tables: {subscribers: {values: {list_flag: {普通: ""}}}}', encoding="utf-8")
    assert load_mapping(path).table("subscribers").codes["list_flag"] == {"普通": ""}

    path.write_text('tables: {contacts: {values: {channel: {未知: ""}}}}', encoding="utf-8")
    with pytest.raises(MappingError, match="not tiercast's channel values"):
        load_mapping(path)
