"""Other operators' exports of the synthetic tables (`tiercast generate --export-style`), with their source mapping.

`write_export(canonical_dir, out_dir, style)` rewrites the four canonical Parquet tables (and the
optional campaign records, where the style has them and the run wrote them) as another
operator's system would export them (file names, column names, id format, codes, date formats,
units, text encoding), writes `out_dir/mapping.yaml` mapping that export back to tiercast's names and
codes (tiercast/synthetic/export_mapping.py), and copies `_truth/` with its subscriber ids in the
export's format, so the truth still joins on the export's ids.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tiercast.synthetic.export_csv import (
    BATCH_ROWS,
    Formatter,
    coded_column,
    date_column,
    fen_column,
    flag_column,
    id_column,
    money_column,
    number_column,
    prefixed_ids,
    text_column,
    time_column,
    write_csv,
)
from tiercast.synthetic.export_mapping import ExportStyle, TableExport, mapping_text
from tiercast.synthetic.writer import TRUTH_DOCUMENTS


def _write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file through a temporary name; return its path."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def convert_truth(source: Path, target: Path, ids: Formatter) -> Path:
    """Copy a truth table with its subscriber ids written as the export writes them; return the new path."""
    schema = pq.read_schema(source)
    tmp = target.with_name(target.name + ".tmp")
    if "subscriber_id" not in schema.names:
        shutil.copyfile(source, tmp)
        return tmp.replace(target)
    at = schema.get_field_index("subscriber_id")
    converted = schema.set(at, pa.field("subscriber_id", pa.string(), nullable=False))
    repeated = [f.name for f in converted if not pa.types.is_floating(f.type)]  # as tiercast/synthetic/writer.py
    try:
        with pq.ParquetWriter(tmp, converted, compression="zstd", use_dictionary=repeated) as writer:
            for batch in pq.ParquetFile(source).iter_batches(batch_size=BATCH_ROWS):
                columns = [ids(c) if i == at else c for i, c in enumerate(batch.columns)]
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=converted))
        return tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_export(canonical_dir: Path, out_dir: Path, style: str) -> dict[str, Path]:
    """Write the canonical tables of `canonical_dir` as export `style` into `out_dir`; return the paths written.

    Keys: the table names (CSV files), the truth tables (`_truth/*.parquet`, `_truth/*.json`) and `mapping`.
    """
    if style not in STYLES:
        raise ValueError(f"unknown export style {style!r}; choose one of {sorted(STYLES)}")
    canonical_dir, out_dir = Path(canonical_dir), Path(out_dir)
    if out_dir.resolve() == canonical_dir.resolve():
        raise ValueError(f"write the export to another folder than the canonical tables ({canonical_dir})")
    export = STYLES[style]
    # An optional table (campaigns) the run did not write is neither exported nor in the mapping.
    tables = export.tables
    export = replace(
        export, tables={n: t for n, t in tables.items() if n in REQUIRED or (canonical_dir / f"{n}.parquet").is_file()}
    )
    (out_dir / "_truth").mkdir(parents=True, exist_ok=True)
    for name in set(tables) - set(export.tables):
        (out_dir / tables[name].file).unlink(missing_ok=True)  # a stale file of an earlier export
    paths: dict[str, Path] = {}
    for name, table in export.tables.items():
        paths[name] = out_dir / table.file
        write_csv(canonical_dir / f"{name}.parquet", paths[name], table.columns, export.encoding, export.bom)
    for truth in sorted((canonical_dir / "_truth").glob("*.parquet")):
        paths[truth.stem] = convert_truth(truth, out_dir / "_truth" / truth.name, export.ids)
    for stale in (out_dir / "_truth").glob("*.parquet"):  # e.g. campaign truth of an earlier export
        if stale.stem not in paths:
            stale.unlink()
    for name in TRUTH_DOCUMENTS:  # scenarios.json: no subscriber ids in it; a stale one is removed
        document, copy = canonical_dir / "_truth" / f"{name}.json", out_dir / "_truth" / f"{name}.json"
        if document.is_file():
            paths[name] = _write_text(copy, document.read_text(encoding="utf-8"))
        else:
            copy.unlink(missing_ok=True)
    paths["mapping"] = _write_text(out_dir / "mapping.yaml", mapping_text(export))
    return paths


# --- crm-b: a Chinese BOSS/CRM export (GBK CSV, U-prefixed ids, fen, Chinese names and codes) ---------------

CRM_B_PLANS = {
    "prepaid_19": "神州行畅听卡19元",
    "prepaid_39": "神州行畅享卡39元",
    "postpaid_58": "全球通58元套餐",
    "postpaid_88": "全球通88元套餐",
    "postpaid_128": "全球通128元套餐",
    "postpaid_188": "全球通188元套餐",
    "postpaid_288": "全球通288元套餐",
    "postpaid_588": "全球通588元尊享套餐",
    "data_unlimited_99": "畅享流量99元不限量套餐",
    "business_198": "集团商务198元套餐",
    "business_398": "集团商务398元套餐",
}
CRM_B_BRANDS = {"gotone": "全球通", "mzone": "动感地带", "easyown": "神州行"}
CRM_B_REMOVE_REASONS = {"voluntary": "主动离网", "non_payment": "欠费停机"}
CRM_B_LIST_FLAGS = {"red": "红名单", "black": "黑名单"}
CRM_B_CITIES = {
    "Guangzhou": "广州", "Shenzhen": "深圳", "Dongguan": "东莞", "Foshan": "佛山", "Huizhou": "惠州",
    "Zhongshan": "中山", "Jiangmen": "江门", "Zhuhai": "珠海", "Shantou": "汕头", "Zhanjiang": "湛江",
    "Maoming": "茂名", "Jieyang": "揭阳", "Zhaoqing": "肇庆", "Qingyuan": "清远", "Meizhou": "梅州",
    "Shaoguan": "韶关", "Heyuan": "河源", "Yangjiang": "阳江", "Chaozhou": "潮州", "Yunfu": "云浮",
    "Shanwei": "汕尾",
}  # fmt: skip
CRM_B_CHANNELS = {"voice": "10086热线", "chat": "在线客服", "app": "掌上营业厅", "store": "营业厅", "outbound": "外呼"}
CRM_B_REASONS = {
    "inquiry": "咨询",
    "billing": "账单查询",
    "complaint": "投诉",
    "fault": "故障报修",
    "cancel_intent": "销户咨询",
    "plan_change": "套餐变更",
    "retention_call": "挽留回访",
}
CRM_B_GROUPS = {"treated": "外呼组", "control": "对照组"}
CRM_B_OFFERS = {"discount": "话费折扣", "data_bonus": "流量赠送", "device": "购机优惠", "none": "无优惠"}
CRM_B_OUTCOMES = {"accepted": "接受", "declined": "拒绝", "no_answer": "未接通"}
crm_b_ids = partial(prefixed_ids, prefix="U", width=8)

CRM_B = ExportStyle(
    name="crm-b",
    summary="a Chinese BOSS/CRM export: GBK CSV, ids U00000001, amounts in fen, Chinese names and codes",
    encoding="gbk",
    bom=False,
    ids=crm_b_ids,
    tables={
        "subscribers": TableExport(
            "CRM_USER.csv",
            (
                id_column("USER_ID", crm_b_ids),
                text_column("SERIAL_NUMBER", "msisdn"),
                date_column("OPEN_DATE", "activation_date", "%Y%m%d"),
                date_column("DESTROY_DATE", "deactivation_date", "%Y%m%d"),
                coded_column("REMOVE_REASON", "deactivation_reason", CRM_B_REMOVE_REASONS),
                coded_column("PRODUCT_NAME", "plan", CRM_B_PLANS, closed=False),
                coded_column("BRAND_NAME", "brand", CRM_B_BRANDS, closed=False),
                coded_column("CITY_NAME", "region", CRM_B_CITIES, closed=False),
                coded_column("VIP_FLAG", "list_flag", CRM_B_LIST_FLAGS),
            ),
            ("CRM_USER: one row per user; DESTROY_DATE and REMOVE_REASON empty while active",),
        ),
        "bills": TableExport(
            "BILL_MONTHLY.csv",
            (
                id_column("USER_ID", crm_b_ids),
                date_column("BILL_CYCLE", "bill_month", "%Y%m"),
                fen_column("FEE_TOTAL", "amount"),
                fen_column("FEE_DATA", "data_amount"),
            ),
            ("BILL_MONTHLY: fees in integer fen (分)",),
        ),
        "payments": TableExport(
            "PAYMENT.csv",
            (
                id_column("USER_ID", crm_b_ids),
                date_column("BILL_CYCLE", "bill_month", "%Y%m"),
                date_column("DUE_DATE", "due_date", "%Y%m%d"),
                date_column("PAY_DATE", "paid_date", "%Y/%m/%d"),
                money_column("PAY_FEE", "amount_paid", separator=","),
            ),
            ('PAYMENT: PAY_FEE in CNY with a thousands separator ("1,234.50"); PAY_DATE empty while unpaid',),
        ),
        "contacts": TableExport(
            "CONTACT_LOG.csv",
            (
                id_column("用户编号", crm_b_ids),
                time_column("联系时间", "contact_time", "%Y-%m-%d", " ", millis=True),
                coded_column("渠道", "channel", CRM_B_CHANNELS),
                coded_column("原因", "reason", CRM_B_REASONS),
                flag_column("是否解决", "resolved", "是", "否"),
            ),
            ("CONTACT_LOG: Chinese headers; 联系时间 keeps milliseconds; no contact id (the reader numbers the rows)",),
        ),
        "campaigns": TableExport(
            "RETAIN_CAMPAIGN.csv",
            (
                id_column("USER_ID", crm_b_ids),
                date_column("CAMPAIGN_DATE", "campaign_date", "%Y%m%d"),
                text_column("DESK_CODE", "desk"),
                coded_column("GROUP_TYPE", "group", CRM_B_GROUPS),
                coded_column("OFFER_NAME", "offer", CRM_B_OFFERS),
                time_column("CALL_TIME", "called_at", "%Y-%m-%d", " ", millis=True),
                coded_column("CALL_RESULT", "outcome", CRM_B_OUTCOMES),
            ),
            ("RETAIN_CAMPAIGN: one row per targeted user; CALL_TIME and CALL_RESULT empty for the control group",),
        ),
    },
)

# --- bss-a: a Western BSS data-warehouse extract (UTF-8 with BOM, 20-digit ids, ISO dates, code lists) -------

BSS_A_PLANS = {
    "prepaid_19": "PRE_EASY_19",
    "prepaid_39": "PRE_PLUS_39",
    "postpaid_58": "POST_STD_58",
    "postpaid_88": "POST_STD_88",
    "postpaid_128": "POST_STD_128",
    "postpaid_188": "POST_PREM_188",
    "postpaid_288": "POST_PREM_288",
    "postpaid_588": "POST_ELITE_588",
    "data_unlimited_99": "DATA_UNL_99",
    "business_198": "BIZ_PRO_198",
    "business_398": "BIZ_PRO_398",
}
BSS_A_CONTRACTS = {"prepaid": "PRE", "postpaid": "POST", "contract_12m": "C12", "contract_24m": "C24"}
BSS_A_BRANDS = {"gotone": "GoTone", "mzone": "M-Zone", "easyown": "EasyOwn"}
BSS_A_SALES_CHANNELS = {"store": "SHOP", "online": "WEB", "agent": "DEALER", "telesales": "TELE"}
BSS_A_CHANNELS = {
    "voice": "IVR_VOICE",
    "chat": "WEBCHAT",
    "app": "MOBILE_APP",
    "store": "RETAIL",
    "outbound": "OUTBOUND_TM",
}
BSS_A_REASONS = {
    "inquiry": "GEN_ENQ",
    "billing": "BILL_ENQ",
    "complaint": "CMPL",
    "fault": "TECH_FAULT",
    "cancel_intent": "CANCEL_REQ",
    "plan_change": "PLAN_CHG",
    "retention_call": "RETENTION",
}
bss_a_ids = partial(prefixed_ids, prefix="86", width=18)  # 20 digits: beyond int64, read them as text
ISO = "%Y-%m-%d"

BSS_A = ExportStyle(
    name="bss-a",
    summary="a BSS data-warehouse extract: UTF-8 CSV with BOM, 20-digit ids, ISO dates, Y/N flags, code lists",
    encoding="utf-8",
    bom=True,
    ids=bss_a_ids,
    tables={
        "subscribers": TableExport(
            "subs_extract.csv",
            (
                id_column("customer_ref", bss_a_ids),
                text_column("service_number", "msisdn"),
                date_column("activation_dt", "activation_date", ISO),
                date_column("termination_dt", "deactivation_date", ISO),
                coded_column("termination_code", "deactivation_reason", {"voluntary": "VOL", "non_payment": "NPY"}),
                coded_column("rate_plan_code", "plan", BSS_A_PLANS, closed=False),
                coded_column("contract_code", "contract_type", BSS_A_CONTRACTS),
                date_column("commitment_end_dt", "contract_end_date", ISO),
                coded_column("brand_name", "brand", BSS_A_BRANDS, closed=False),
                coded_column("customer_segment", "segment", {"individual": "RES", "business": "BUS"}, closed=False),
                number_column("birth_yr", "birth_year"),
                coded_column("gender_code", "gender", {"M": "1", "F": "2"}, closed=False),  # ISO/IEC 5218 codes
                text_column("home_city", "region"),
                coded_column("acquisition_channel", "sales_channel", BSS_A_SALES_CHANNELS, closed=False),
                coded_column("vip_status", "list_flag", {"red": "VIP_PROTECT", "black": "BLACKLIST"}),
                flag_column("dnc_flag", "do_not_contact", "Y", "N"),
            ),
            ("subs_extract: customer_ref is 20 digits (more than int64 holds): keep it as text",),
        ),
        "bills": TableExport(
            "invoice_lines.csv",
            (
                id_column("customer_ref", bss_a_ids),
                date_column("invoice_period", "bill_month", ISO),
                money_column("total_charge", "amount"),
                money_column("recurring_charge", "base_fee"),
                number_column("voice_mins", "voice_minutes"),
                number_column("data_volume_mb", "data_mb"),
                number_column("sms_qty", "sms_count"),
                money_column("data_charge", "data_amount"),
                money_column("ld_charge", "long_distance_amount"),
                money_column("roaming_charge", "roaming_amount"),
                money_column("vas_charge", "value_added_amount"),
            ),
            ("invoice_lines: invoice_period is the first day of the billed month; charges in CNY",),
        ),
        "payments": TableExport(
            "payment_events.csv",
            (
                id_column("customer_ref", bss_a_ids),
                date_column("invoice_period", "bill_month", ISO),
                date_column("due_dt", "due_date", ISO),
                date_column("settled_dt", "paid_date", ISO),
                money_column("settled_amount", "amount_paid"),
            ),
        ),
        "contacts": TableExport(
            "interactions.csv",
            (
                number_column("interaction_id", "contact_id", unique=True),
                id_column("customer_ref", bss_a_ids),
                time_column("started_at", "contact_time", ISO, "T", millis=False),
                coded_column("channel_code", "channel", BSS_A_CHANNELS),
                coded_column("reason_code", "reason", BSS_A_REASONS),
                flag_column("ftr_flag", "resolved", "Y", "N"),
                flag_column("abandoned_flag", "abandoned", "Y", "N"),
                number_column("queue_wait_sec", "wait_seconds"),
                number_column("handle_time_sec", "handle_seconds"),
            ),
            ("interactions: started_at is to the second (the warehouse truncates the milliseconds)",),
        ),
    },
)

STYLES: dict[str, ExportStyle] = {style.name: style for style in (CRM_B, BSS_A)}
REQUIRED = ("subscribers", "bills", "payments", "contacts")  # every export has these; campaigns only when written
