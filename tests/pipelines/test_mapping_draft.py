"""`draft_mapping`: a first source mapping guessed from an export's names and first rows, every guess marked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from data_contracts.loader import load_contract
from pipelines.column_profile import profile
from pipelines.export_sample import Sample, csv_encoding
from pipelines.ingest import validate_tables
from pipelines.mapping import MappingError, load_mapping
from pipelines.mapping_draft import draft_mapping, guess_encoding
from pipelines.mapping_guess import best_name, code_guess
from pipelines.mapping_text import draft_text
from tests.data_contracts.tables import TABLES, valid_tables
from tests.pipelines.test_mapping import validate, write_export
from tests.pipelines.test_mapping_locale import MAPPING as LOCALE_MAPPING
from tests.pipelines.test_mapping_locale import write_export as write_locale_export
from tiercast.settings import load_settings
from tiercast.synthetic import export_styles, generate

BOSS_DRAFT = {
    "encoding": "gbk",
    "tables": {
        "subscribers": {
            "file": "用户资料.csv",
            "columns": {
                "subscriber_id": "用户编号",
                "msisdn": "手机号码",
                "activation_date": "入网日期",
                "deactivation_date": "离网日期",
                "deactivation_reason": "离网原因",
                "plan": "套餐",
            },
            "dates": {"activation_date": "%Y%m%d", "deactivation_date": "%Y%m%d"},
            "values": {"deactivation_reason": {"主动离网": "voluntary"}},
        },
        "bills": {
            "file": "账单.csv",
            "columns": {"subscriber_id": "用户编号", "bill_month": "账期", "amount": "应收金额"},
            "dates": {"bill_month": "%Y%m"},
            "scales": {"amount": "0.01"},
        },
        "payments": {
            "file": "缴费.csv",
            "columns": {
                "subscriber_id": "用户编号",
                "bill_month": "账期",
                "due_date": "截止日期",
                "paid_date": "缴费日期",
                "amount_paid": "实收金额",
            },
            "dates": {"bill_month": "%Y%m"},
        },
        "contacts": {
            "file": "接触记录.csv",
            "columns": {
                "subscriber_id": "用户编号",
                "contact_time": "联系时间",
                "channel": "渠道",
                "reason": "原因",
                "resolved": "是否解决",
            },
            "values": {
                "channel": {"10086热线": "voice", "在线客服": "chat", "掌上营业厅": "app"},
                "reason": {"咨询": "inquiry", "账单查询": "billing", "投诉": "complaint", "故障报修": "fault"},
            },
        },
    },
}
ENGLISH_DRAFT = {
    "encoding": "utf-8",
    "tables": {
        "subscribers": {
            "file": "customer_master.csv",
            "columns": {
                "subscriber_id": "key",
                "msisdn": "line",
                "activation_date": "start",
                "deactivation_date": "stop",
                "deactivation_reason": "why_left",
                "plan": "Tariff",
                "segment": "Segment",
            },
            "values": {"deactivation_reason": {"Customer request": "voluntary"}},
        },
        "bills": {
            "file": "invoices.csv",
            "columns": {"subscriber_id": "key", "bill_month": "period", "amount": "gross"},
        },
        "payments": {
            "file": "ledger.csv",
            "columns": {
                "subscriber_id": "key",
                "bill_month": "period",
                "due_date": "due",
                "paid_date": "settled",
                "amount_paid": "received",
            },
            "dates": {"due_date": "%d.%m.%Y", "paid_date": "%d.%m.%Y"},
        },
        "contacts": {
            "file": "interactions.csv",
            "columns": {"subscriber_id": "key", "contact_time": "ts", "channel": "medium", "reason": "topic"},
            "values": {
                "channel": {"PHONE": "voice", "WEBCHAT": "chat", "APP": "app"},
                "reason": {"GENERAL": "inquiry", "BILLING_Q": "billing", "COMPLAINT": "complaint", "X99": "?"},
            },
        },
    },
}
PARQUET_DRAFT = {
    "encoding": "utf-8",
    "tables": {
        "subscribers": {
            "file": "a.parquet",
            "columns": {
                "subscriber_id": "USER_ID",
                "msisdn": "SERIAL_NUMBER",
                "activation_date": "OPEN_DATE",
                "deactivation_date": "DESTROY_DATE",
                "deactivation_reason": "REMOVE_REASON",
                "plan": "PRODUCT_NAME",
                "brand": "BRAND",
            },
        },
        "bills": {
            "file": "b.parquet",
            "columns": {"subscriber_id": "USER_ID", "bill_month": "BILL_CYCLE", "amount": "FEE"},
        },
        "payments": {
            "file": "c.parquet",
            "columns": {
                "subscriber_id": "USER_ID",
                "bill_month": "BILL_CYCLE",
                "due_date": "DUE_DATE",
                "paid_date": "PAY_DATE",
                "amount_paid": "PAY_FEE",
            },
        },
        "contacts": {
            "file": "d.parquet",
            "columns": {
                "subscriber_id": "USER_ID",
                "contact_time": "CALL_TIME",
                "channel": "CHANNEL",
                "reason": "REASON",
            },
        },
    },
}


def write_english_export(folder: Path) -> Path:
    """Write the hand-built tables as UTF-8 CSV with a BOM, under English names tiercast mostly does not know."""
    tables = valid_tables()
    s, b, p, c = (tables[t] for t in TABLES)
    folder.mkdir(parents=True, exist_ok=True)

    def key(ids: pd.Series) -> pd.Series:
        return ids.map("C-{:04d}".format)

    files = {
        "customer_master.csv": {
            "key": key(s["subscriber_id"]),
            "line": s["msisdn"],
            "start": s["activation_date"].dt.strftime("%Y-%m-%d"),
            "stop": s["deactivation_date"].dt.strftime("%Y-%m-%d"),
            "why_left": s["deactivation_reason"].map({"voluntary": "Customer request"}),
            "Tariff": s["plan"].map(
                {"postpaid_58": "Básico 58", "postpaid_128": "Premium 128", "prepaid_19": "Fácil 19"}
            ),
            "Segment": s["segment"],
        },
        "invoices.csv": {
            "key": key(b["subscriber_id"]),
            "period": b["bill_month"].dt.strftime("%Y-%m-%d"),
            "gross": b["amount"],
        },
        "ledger.csv": {  # a name that says nothing: placed by its content
            "key": key(p["subscriber_id"]),
            "period": p["bill_month"].dt.strftime("%Y-%m-%d"),
            "due": p["due_date"].dt.strftime("%d.%m.%Y"),
            "settled": p["paid_date"].dt.strftime("%d.%m.%Y"),
            "received": p["amount_paid"].map("{:.2f}".format),
        },
        "interactions.csv": {
            "key": key(c["subscriber_id"]),
            "ts": c["contact_time"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
            "medium": c["channel"].map({"voice": "PHONE", "chat": "WEBCHAT", "app": "APP"}),
            "topic": c["reason"].map(
                {"inquiry": "GENERAL", "billing": "BILLING_Q", "complaint": "COMPLAINT", "fault": "X99"}
            ),
            "solved": c["resolved"].map({True: "Y", False: "N"}),
        },
        "notes.csv": {"note": ["call back", "letter sent"]},
    }
    for name, columns in files.items():
        pd.DataFrame(columns).to_csv(folder / name, index=False, encoding="utf-8-sig")
    return folder


def write_parquet_export(folder: Path) -> Path:
    """Write the hand-built tables as Parquet a.parquet .. d.parquet with BOSS column names and tiercast's codes."""
    tables = valid_tables()
    s, b, p, c = (tables[t] for t in TABLES)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "a.parquet": s[
            ["subscriber_id", "msisdn", "activation_date", "deactivation_date", "deactivation_reason", "plan"]
        ]
        .set_axis(["USER_ID", "SERIAL_NUMBER", "OPEN_DATE", "DESTROY_DATE", "REMOVE_REASON", "PRODUCT_NAME"], axis=1)
        .assign(BRAND=s["brand"]),
        "b.parquet": b[["subscriber_id", "bill_month", "amount"]].set_axis(["USER_ID", "BILL_CYCLE", "FEE"], axis=1),
        "c.parquet": p.set_axis(["USER_ID", "BILL_CYCLE", "DUE_DATE", "PAY_DATE", "PAY_FEE"], axis=1),
        "d.parquet": c[["subscriber_id", "contact_time", "channel", "reason"]].set_axis(
            ["USER_ID", "CALL_TIME", "CHANNEL", "REASON"], axis=1
        ),
    }
    for name, frame in files.items():
        frame.to_parquet(folder / name, index=False)
    return folder


WRITERS = {"boss": write_export, "english": write_english_export, "parquet": write_parquet_export}
ANSWERS: dict[str, dict[str, Any]] = {  # what a person fills in for the "?" of each draft
    "boss": {},
    "english": {"tables": {"contacts": {"values": {"reason": {"X99": "fault"}}}}},
    "parquet": {},
}


def parsed(text: str) -> dict[str, Any]:
    """Return the draft as load_mapping reads it (every scalar as text)."""
    return yaml.load(text, Loader=yaml.BaseLoader)


def unmarked(text: str) -> list[str]:
    """Return the `key: value` lines that carry neither a `# guess:` nor a `# needed:` comment."""
    entries = [line for line in text.splitlines() if re.match(r"^\s*[^#\s][^#]*?: [^#\s]", line)]
    return [line for line in entries if "  # guess: " not in line and "  # needed: " not in line]


def answered(draft: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Return the draft with each "?" replaced by the answer at the same place (KeyError when there is none)."""
    return {
        key: answered(value, answers.get(key, {}))
        if isinstance(value, dict)
        else (answers[key] if value == "?" else value)
        for key, value in draft.items()
    }


def test_a_gbk_boss_export_is_drafted_as_its_mapping(tmp_path: Path) -> None:
    """Given GBK CSVs with Chinese names and codes, YYYYMMDD dates, YYYYMM months and fen (write_export)."""
    folder = write_export(tmp_path / "export")

    text = draft_text(draft_mapping(folder), tmp_path / "draft.yaml")

    assert parsed(text) == BOSS_DRAFT
    assert unmarked(text) == []
    lines = text.splitlines()
    assert "      # export columns not used: 备注" in lines
    assert "      channel:  # counts from the first 4 rows (the whole file)" in lines
    assert "      amount: 0.01  # guess: whole numbers, median 7,050: fen? (0.01 turns fen into CNY)" in lines
    assert f"# Then run: tiercast validate --data {folder} --mapping {tmp_path / 'draft.yaml'}" in lines


def test_an_english_utf8_bom_export_is_drafted_from_names_and_values(tmp_path: Path) -> None:
    """Given names tiercast mostly does not know (key, line, start, ...), ISO and dd.mm.yyyy dates, an unknown code."""
    folder = write_english_export(tmp_path / "export")

    drafted = draft_mapping(folder)
    text = draft_text(drafted)

    assert parsed(text) == ENGLISH_DRAFT
    assert unmarked(text) == []
    lines = text.splitlines()
    reasons = "inquiry, billing, complaint, fault, cancel_intent, plan_change, retention_call, other"
    assert f'        X99: "?"  # needed: 1 row: which of {reasons}?' in lines
    assert "      paid_date: settled  # guess: values: dates, some empty" in lines
    assert "# file not placed: notes.csv: no table's names or content" in lines
    assert {table: part.unknowns for table, part in drafted.tables.items()} == {
        "subscribers": 0,
        "bills": 0,
        "payments": 0,
        "contacts": 1,
    }


def test_a_parquet_export_with_tiercasts_codes_needs_no_values_and_no_dates(tmp_path: Path) -> None:
    """Given Parquet files whose names say nothing (placed by content), typed dates and tiercast's own codes."""
    folder = write_parquet_export(tmp_path / "export")

    text = draft_text(draft_mapping(folder))

    assert parsed(text) == PARQUET_DRAFT
    assert unmarked(text) == []
    lines = text.splitlines()
    assert "encoding: utf-8  # guess: no CSV files: Parquet carries its own encoding" in lines
    own = "voice (2 rows), app (1 row), chat (1 row)"
    counts = "counts from the first 4 rows (the whole file)"
    assert f"    # values of channel: {own} are tiercast's own codes, no entry needed; {counts}" in lines


@pytest.mark.parametrize("export", list(WRITERS))
def test_the_draft_with_its_question_marks_answered_validates_with_nothing_quarantined(
    settings, tmp_path: Path, export: str
) -> None:
    folder = WRITERS[export](tmp_path / "export")
    path = tmp_path / "mapping.yaml"
    draft = parsed(draft_text(draft_mapping(folder)))
    path.write_text(yaml.safe_dump(answered(draft, ANSWERS[export]), allow_unicode=True), encoding="utf-8")

    result = validate(settings, folder, path)

    assert {t: result.reports[t].quarantined for t in TABLES} == dict.fromkeys(TABLES, 0)
    assert {t: result.reports[t].clean for t in TABLES} == {"subscribers": 3, "bills": 5, "payments": 5, "contacts": 4}
    assert result.tables["bills"]["amount"].tolist() == valid_tables()["bills"]["amount"].tolist()


def test_a_draft_still_holding_a_question_mark_code_is_refused_by_load_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(draft_text(draft_mapping(write_english_export(tmp_path / "export"))), encoding="utf-8")

    with pytest.raises(MappingError, match=r"tables\.contacts\.values\.reason maps codes to \['\?'\]"):
        load_mapping(path)


def test_a_missing_file_and_a_missing_column_are_question_marks_saying_what_is_needed(tmp_path: Path) -> None:
    folder = write_english_export(tmp_path / "export")
    (folder / "ledger.csv").unlink()
    invoices = pd.read_csv(folder / "invoices.csv", encoding="utf-8-sig").drop(columns="gross")
    invoices.to_csv(folder / "invoices.csv", index=False, encoding="utf-8-sig")

    drafted = draft_mapping(folder)
    tables = parsed(draft_text(drafted))["tables"]

    assert tables["payments"] == {
        "file": "?",
        "columns": dict.fromkeys(load_contract("payments").required_columns, "?"),
    }
    assert tables["bills"]["columns"] == {"subscriber_id": "key", "bill_month": "period", "amount": "?"}
    assert drafted.tables["bills"].columns["amount"].why == "no column found: which one holds amount (amounts)?"
    assert drafted.tables["payments"].file.why.startswith("no file's name or content looks like payments")


def test_codes_are_counted_over_the_first_rows_only(tmp_path: Path) -> None:
    """Given the contacts voice, chat, voice, app: the first 2 rows hold one voice and one chat."""
    drafted = draft_mapping(write_export(tmp_path / "export"), rows=2)

    assert drafted.tables["contacts"].codes["channel"].counts == (("10086热线", 1), ("在线客服", 1))
    assert "      channel:  # counts from the first 2 rows" in draft_text(drafted).splitlines()


@pytest.mark.parametrize(
    ("table", "name", "column"),
    [
        ("subscribers", "USER_ID", "subscriber_id"),
        ("subscribers", "用户ID", "subscriber_id"),
        ("subscribers", "SERIAL_NUMBER", "msisdn"),
        ("subscribers", "MobileNo", "msisdn"),
        ("subscribers", "号码", "msisdn"),
        ("subscribers", "OPEN_DATE", "activation_date"),
        ("subscribers", "开户日期", "activation_date"),
        ("subscribers", "DESTROY_DATE", "deactivation_date"),
        ("subscribers", "销户日期", "deactivation_date"),
        ("subscribers", "REMOVE_REASON", "deactivation_reason"),
        ("subscribers", "PRODUCT_NAME", "plan"),
        ("subscribers", "资费", "plan"),
        ("subscribers", "BRAND", "brand"),
        ("subscribers", "CITY", "region"),
        ("bills", "BILL_CYCLE", "bill_month"),
        ("bills", "账单月份", "bill_month"),
        ("bills", "FEE", "amount"),
        ("bills", "应收", "amount"),
        ("bills", "FEE_DATA", "data_amount"),
        ("payments", "缴费日期", "paid_date"),
        ("payments", "PAY_FEE", "amount_paid"),
        ("payments", "实收", "amount_paid"),
        ("contacts", "来电时间", "contact_time"),
        ("contacts", "渠道", "channel"),
        ("contacts", "诉求", "reason"),
        # warehouse abbreviations
        ("subscribers", "PROD_NAME", "plan"),
        ("subscribers", "SVC_NUM", "msisdn"),
        ("subscribers", "CLOSE_RSN", "deactivation_reason"),
        ("bills", "ACCT_MONTH", "bill_month"),
        ("contacts", "START_TS", "contact_time"),
        ("contacts", "CHNL", "channel"),
        ("contacts", "SRV_TYPE", "reason"),
        ("campaigns", "CAMP_DT", "campaign_date"),
        ("campaigns", "GRP", "group"),
    ],
)
def test_usual_export_names_are_read_as_their_tiercast_column(table: str, name: str, column: str) -> None:
    best = max(load_contract(table).columns, key=lambda candidate: best_name(candidate, name)[0])

    assert best == column


@pytest.mark.parametrize(
    ("column", "code", "value"),
    [
        ("deactivation_reason", "主动离网", "voluntary"),
        ("deactivation_reason", "用户申请", "voluntary"),
        ("deactivation_reason", "欠费停机", "non_payment"),
        ("list_flag", "红名单", "red"),
        ("list_flag", "VIP", "red"),
        ("list_flag", "黑名单", "black"),
        ("channel", "10086热线", "voice"),
        ("channel", "掌上营业厅", "app"),
        ("channel", "营业厅", "store"),
        ("channel", "微信", "chat"),
        ("channel", "Web Chat", "chat"),
        ("channel", "外呼", "outbound"),
        ("reason", "销户咨询", "cancel_intent"),
        ("reason", "携号转网", "cancel_intent"),
        ("reason", "挽留回访", "retention_call"),
        ("reason", "账单查询", "billing"),
        ("reason", "BILL_ENQ", "billing"),
        ("reason", "故障报修", "fault"),
        ("reason", "套餐变更", "plan_change"),
        ("reason", "投诉", "complaint"),
        ("reason", "咨询", "inquiry"),
        ("reason", "X99", None),
        ("channel", "短信", None),
    ],
)
def test_codes_are_guessed_from_their_words(column: str, code: str, value: str | None) -> None:
    guess = code_guess(column, code)

    assert (guess[0] if guess else None) == value


@pytest.mark.parametrize(
    ("values", "shape", "date_format"),
    [
        (["13800000001", "15000000003"], "msisdn", None),
        (["202401", "202312"], "month", "%Y%m"),
        (["20240115", "20231201"], "date", "%Y%m%d"),
        (["2024-01-15 10:00:05", None], "datetime", ""),
        (["15.01.2024", "03.02.2024"], "date", "%d.%m.%Y"),
        (["01/02/2024", "03/04/2024"], "date", "?"),
        (["1,234.50", "58.00"], "number", None),
        (["是", "否"], "bool", None),
        (["U00000001", "U00000002"], "text", None),
        (["10000001", "10000002"], "number", None),
    ],
    ids=["msisdn", "yyyymm", "yyyymmdd", "iso-time", "dd.mm.yyyy", "dd/mm-or-mm/dd", "money", "是否", "ids", "8-digit"],
)
def test_a_columns_values_give_its_shape_and_date_format(
    values: list[str | None], shape: str, date_format: str | None
) -> None:
    found = profile("x", pa.chunked_array([pa.array(values, pa.string())]))

    assert (found.shape, found.date_format) == (shape, date_format)


@pytest.mark.parametrize(
    ("codec", "text", "expected"),
    [
        ("utf-8", "名称,b\n𠮷,1\n", "utf-8"),
        ("utf-8-sig", "名称,b\n中文,1\n", "utf-8"),
        ("gbk", "名称,b\n中文,1\n", "gbk"),
        ("gb18030", "名称,b\n𠮷,1\n", "gb18030"),  # 𠮷 is not in GBK
        ("gbk", "渠道,是否解决\n10086热线,是\nAPP客户端,否\n", "gbk"),  # read as cp1252: ÊÇ, ·ñ alone: not Latin words
        ("cp1252", "Código,Teléfono\nCL-1,600\n", "cp1252"),  # GBK decodes it too: C骴igo, Tel閒ono
        ("cp1252", "Nombre;Población\nJosé Pérez;Málaga\n", "cp1252"),  # GBK does not: é then a space
        ("cp1252", "Straße;Größe;Preis\nMüller;12,5;3 €\n", "cp1252"),
        ("latin-1", "Código,Teléfono\nA\x81,1\n", "iso8859-1"),  # 0x81: a control in latin-1, none in cp1252
        ("cp1251", "Имя,Город\nИван,Москва\n", None),  # Cyrillic: neither reading is plausible
        ("ascii", "a,b\n" + "x,1\n" * 300_000, "utf-8"),
    ],
)
def test_the_csv_encoding_is_utf8_else_the_more_plausible_of_gbk_and_cp1252(
    tmp_path: Path, codec: str, text: str, expected: str | None
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode(codec))

    assert csv_encoding(path) == expected


def test_an_export_with_gbk_cp1252_and_ascii_files_gives_each_file_its_encoding() -> None:
    """Given two GBK files, a cp1252 one and an ASCII one: the export reads GBK, the cp1252 file its own."""
    western, plain = pa.table({"Código": ["1"]}), pa.table({"code": ["1"]})
    samples = [Sample("a.csv", western, "gbk", True), Sample("b.csv", western, "cp1252", True)]
    samples += [Sample("c.csv", plain, "utf-8", True), Sample("d.csv", western, "gbk", True)]

    guess, own = guess_encoding(samples)

    assert (guess.value, guess.why) == ("gbk", "a.csv, d.csv (2 of 3 files): a.csv, d.csv: not UTF-8 text, read as GBK")
    assert {name: g.value for name, g in own.items()} == {"b.csv": "cp1252"}
    assert own["b.csv"].why.endswith("; the export's other files read in gbk")


def test_the_first_non_ascii_bytes_past_the_first_megabyte_tell_the_encoding(tmp_path: Path) -> None:
    """Given 1.2 MB of ASCII rows, then a Spanish city: judged from the bytes around it, not from the ASCII start."""
    path = tmp_path / "x.csv"
    path.write_bytes(("Codigo,Ciudad\n" + "CL-1,Lugo\n" * 120_000 + "CL-2,Málaga\n").encode("cp1252"))

    assert csv_encoding(path) == "cp1252"


@pytest.fixture(scope="module")
def crm_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a generated crm-b export (2,000 subscribers x 6 months) with its true mapping.yaml."""
    canonical = tmp_path_factory.mktemp("canonical")
    generate(canonical, 2000, 6, 5, load_settings(environ={}).generator)
    return export_styles.write_export(canonical, tmp_path_factory.mktemp("crm-b"), "crm-b")["mapping"].parent


def test_a_generated_crm_b_export_is_drafted_right_and_validates_once_answered(
    settings, crm_b: Path, tmp_path: Path
) -> None:
    truth = parsed((crm_b / "mapping.yaml").read_text(encoding="utf-8"))
    draft = parsed(draft_text(draft_mapping(crm_b)))

    for table in TABLES:
        got, want = draft["tables"][table], truth["tables"][table]
        assert got["file"] == want["file"], table
        for column in load_contract(table).required_columns:
            assert got["columns"][column] == want["columns"][column], (table, column)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(answered(draft, truth), allow_unicode=True), encoding="utf-8")
    result = validate_tables(
        crm_b, settings.validation, tmp_path / "quarantine", tmp_path / "report.json", mapping=load_mapping(path)
    )
    assert {t: result.reports[t].quarantined for t in TABLES} == dict.fromkeys(TABLES, 0)
    assert all(result.reports[t].clean > 0 for t in TABLES)


LOCALE_ANSWERS = {  # the codes of the decimal-comma export that no keyword gives
    "tables": {
        "subscribers": {"values": {"deactivation_reason": {"BV": "voluntary"}}},
        "contacts": {
            "values": {
                "channel": {"TELEFONO": "voice"},
                "reason": {"CONSULTA": "inquiry", "FACTURA": "billing", "RECLAMACIÓN": "complaint", "AVERÍA": "fault"},
            }
        },
    }
}


WESTERN = (
    "not UTF-8 text; accented Latin letters inside words (Código cliente), not GBK: Western European (Windows) text"
)


@pytest.mark.parametrize(("encoding", "why"), [("utf-16", "a UTF-16 byte order mark"), ("cp1252", WESTERN)])
def test_a_decimal_comma_export_is_drafted_as_its_mapping(settings, tmp_path: Path, encoding: str, why: str) -> None:
    """Given UTF-16 or cp1252 ';' CSVs with Spanish names and codes (Código cliente, RECLAMACIÓN), dd/mm/yyyy dates,
    mm/yyyy months, "1.070,50", +86 numbers: the draft finds the encoding, delimiter, decimal mark, every file,
    column and date format; answered, it is the hand-written mapping and validates with nothing quarantined."""
    folder = write_locale_export(tmp_path / "export", encoding)
    (folder / "mapping.yaml").unlink()
    path = tmp_path / "mapping.yaml"

    text = draft_text(draft_mapping(folder))
    draft = parsed(text)
    path.write_text(yaml.safe_dump(answered(draft, LOCALE_ANSWERS), allow_unicode=True), encoding="utf-8")
    result = validate(settings, folder, path)

    assert f"encoding: {encoding}  # guess: clientes.csv, cobros.csv, facturas.csv and 1 more: {why}" in text
    expected = parsed(LOCALE_MAPPING) | {"encoding": encoding}
    del expected["tables"]["subscribers"]["values"]["deactivation_reason"]["IMP"]  # no such line in this export
    assert answered(draft, LOCALE_ANSWERS) == expected
    assert {t: result.reports[t].quarantined for t in TABLES} == dict.fromkeys(TABLES, 0)
    assert result.tables["subscribers"]["msisdn"].tolist() == ["13800000001", "13900000002", "15000000003"]
    assert result.tables["bills"]["amount"].tolist() == [58.0, 1070.5, 128.0, 130.0, 19.0]


def test_a_campaigns_file_is_drafted_its_ambiguous_dates_read_as_the_other_tables(tmp_path: Path) -> None:
    """Given the English export and a campaign file whose dates are all the 1st (01.02.2024: day or month first?)
    and whose desk column has a name no list knows: the dates take the export's day-first format, desk is "?"."""
    folder = write_english_export(tmp_path / "export")
    pd.DataFrame(
        {
            "key": ["C-0001", "C-0002", "C-0003", "C-0001"],
            "campaign date": ["01.02.2024", "01.02.2024", "01.03.2024", "01.03.2024"],
            "squad": ["tariff", "tariff", "product", "product"],
            "arm": ["TEST", "HOLDOUT", "TEST", "TEST"],
            "offer": ["discount", "none", "device", "data bonus"],
            "call time": ["15/02/2024 10:00:00", "", "", "17/03/2024 16:30:00"],
            "result": ["ACCEPTED", "", "", "NO ANSWER"],
        }
    ).to_csv(folder / "retention_campaigns.csv", index=False)

    tables = draft_mapping(folder).tables

    campaigns = tables["campaigns"]
    assert campaigns.file.value == "retention_campaigns.csv"
    assert {c: g.value for c, g in campaigns.columns.items()} == {
        "subscriber_id": "key",
        "campaign_date": "campaign date",
        "desk": "?",
        "group": "arm",
        "offer": "offer",
        "called_at": "call time",
        "outcome": "result",
    }
    assert tables["payments"].dates["due_date"].value == "%d.%m.%Y"  # what the campaign dates follow
    assert {c: g.value for c, g in campaigns.dates.items()} == {
        "campaign_date": "%d.%m.%Y",
        "called_at": "%d/%m/%Y %H:%M:%S",
    }
    assert {c: {k: g.value for k, g in codes.entries.items()} for c, codes in campaigns.codes.items()} == {
        "group": {"TEST": "treated", "HOLDOUT": "control"},
        "offer": {"data bonus": "data_bonus"},
        "outcome": {"ACCEPTED": "accepted", "NO ANSWER": "no_answer"},
    }
