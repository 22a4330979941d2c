"""Rehearsal: every command on a warehouse dump none of us would write, against the same base's canonical tables.

    .venv/bin/python -m benchmarks.warehouse_dump --subscribers 20000 --months 24 --seed 11 --out /tmp/wh

Generates a base with retention campaigns (`tiercast generate --response-mix default`), keeps its canonical
tables with only the required columns (`canon_min/`), and rewrites them as a data warehouse dumps them (`dump/`):
the operator's own column names (CUST_NO, SVC_NUM, PROD_NAME, ACCT_MONTH, START_TS, ...) and codes (A1/B7,
10/20/..., ZX/ZD/..., T/C, D01/...), text ids (U000000001), 86-prefixed int64 phone numbers, int32 YYYYMMDD
dates in Parquet, the bills one gzip'd '|' file a month in a folder with yuan-marked amounts (¥1,234.50), the
payments a '|' .txt, the contacts gzip'd with epoch-millisecond UTC times, the campaigns with YYYYMMDDHHMMSS
call times. `tiercast mapping draft` drafts the mapping; the operator's code book (below) answers its "?".
Then, with one config: train on canon_min, score-publish canon_min, score-publish the dump with the mapping
(the same champion), service-levels, campaigns report, uplift train and a two-night monitor backfill on the
dump. Prints each command's exit code and seconds, the draft's "?" before answering, the rows quarantined,
and the tier table columns that differ between the two publications (by subscriber_key): none should.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

TIERCAST = str(Path(sys.executable).with_name("tiercast"))
REQUIRED = {
    "subscribers": ["subscriber_id", "msisdn", "activation_date", "deactivation_date", "deactivation_reason", "plan"],
    "bills": ["subscriber_id", "bill_month", "amount"],
    "payments": ["subscriber_id", "bill_month", "due_date", "paid_date", "amount_paid"],
    "contacts": ["subscriber_id", "contact_time", "channel", "reason"],
}
CODES = {  # the operator's code book: tiercast's value -> the export's code
    "deactivation_reason": {"voluntary": "A1", "non_payment": "B7"},
    "channel": {"voice": "10", "chat": "20", "app": "30", "store": "40", "outbound": "90"},
    "reason": {"inquiry": "ZX", "billing": "ZD", "complaint": "TS", "fault": "GZ", "cancel_intent": "XH"}
    | {"plan_change": "BG", "retention_call": "WH"},
    "desk": {"account_manager": "KH", "product": "CP", "tariff": "ZF"},
    "group": {"treated": "T", "control": "C"},
    "offer": {"discount": "D01", "data_bonus": "L02", "device": "Z03", "none": "N00"},
    "outcome": {"accepted": "Y", "declined": "N", "no_answer": "W"},
}
ANSWERS = {code: value for book in CODES.values() for value, code in book.items()} | {"timezone": "Asia/Shanghai"}


def ids(values: pd.Series) -> pd.Series:
    return "U" + values.astype("int64").astype(str).str.zfill(9)


def ymd(values: pd.Series, pattern: str = "%Y%m%d") -> pd.Series:
    return pd.to_datetime(values).dt.strftime(pattern)


def yuan(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else f"¥{v:,.2f}")


def write_dump(canon: Path, out: Path) -> None:
    """Write the canonical tables as the warehouse dump described above."""
    out.mkdir(parents=True, exist_ok=True)
    s = pd.read_parquet(canon / "subscribers.parquet")
    pd.DataFrame(
        {
            "CUST_NO": ids(s["subscriber_id"]),
            "SVC_NUM": ("86" + s["msisdn"].astype(str)).astype("int64"),
            "OPEN_DT": ymd(s["activation_date"]).astype("int32"),
            "CLOSE_DT": pd.to_numeric(ymd(s["deactivation_date"])).astype("Int32"),
            "CLOSE_RSN": s["deactivation_reason"].map(CODES["deactivation_reason"]),
            "PROD_NAME": s["plan"].astype(str).str.upper().str.replace("_", "-"),
        }
    ).to_parquet(out / "dim_subscriber.parquet", index=False)
    b = pd.read_parquet(canon / "bills.parquet")
    (out / "fct_bill").mkdir(exist_ok=True)
    for month, part in b.groupby(ymd(b["bill_month"], "%Y%m")):
        frame = pd.DataFrame(
            {"CUST_NO": ids(part["subscriber_id"]), "ACCT_MONTH": month, "BILL_FEE": yuan(part["amount"])}
        )
        frame.to_csv(out / "fct_bill" / f"bill_{month}.csv.gz", sep="|", index=False, compression="gzip")
    p = pd.read_parquet(canon / "payments.parquet")
    pd.DataFrame(
        {
            "CUST_NO": ids(p["subscriber_id"]),
            "ACCT_MONTH": ymd(p["bill_month"], "%Y%m"),
            "DUE_DT": ymd(p["due_date"]),
            "PAY_DT": ymd(p["paid_date"]).fillna(""),
            "PAY_FEE": yuan(p["amount_paid"]),
        }
    ).to_csv(out / "fct_payment.txt", sep="|", index=False)
    c = pd.read_parquet(canon / "contacts.parquet")
    local = pd.to_datetime(c["contact_time"]).dt.tz_localize("Asia/Shanghai")
    pd.DataFrame(
        {
            "CUST_NO": ids(c["subscriber_id"]),
            "START_TS": local.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64"),
            "CHNL": c["channel"].map(CODES["channel"]),
            "SRV_TYPE": c["reason"].map(CODES["reason"]),
        }
    ).to_csv(out / "fct_contact.csv.gz", sep="|", index=False, compression="gzip")
    m = pd.read_parquet(canon / "campaigns.parquet")
    pd.DataFrame(
        {
            "CUST_NO": ids(m["subscriber_id"]),
            "CAMP_DT": ymd(m["campaign_date"]),
            "DESK": m["desk"].map(CODES["desk"]),
            "GRP": m["group"].map(CODES["group"]),
            "OFFER": m["offer"].map(CODES["offer"]),
            "CALL_TS": pd.to_datetime(m["called_at"]).dt.strftime("%Y%m%d%H%M%S").fillna(""),
            "RESULT": m["outcome"].map(CODES["outcome"]).fillna(""),
        }
    ).to_csv(out / "ret_campaign.txt", sep="|", index=False)


def write_canon_min(canon: Path, out: Path) -> None:
    """Write the canonical tables with only the required columns (plan names as the dump writes them)."""
    out.mkdir(parents=True, exist_ok=True)
    for table, columns in REQUIRED.items():
        frame = pd.read_parquet(canon / f"{table}.parquet", columns=columns)
        if table == "subscribers":
            frame = frame.assign(plan=frame["plan"].astype(str).str.upper().str.replace("_", "-"))
        frame.to_parquet(out / f"{table}.parquet", index=False)
    pd.read_parquet(canon / "campaigns.parquet").to_parquet(out / "campaigns.parquet", index=False)


def answered(draft: str) -> tuple[str, int]:
    """Return the draft with each `key: "?"` answered from the code book, and how many "?" it had."""
    lines, asked = [], 0
    for line in draft.splitlines():
        found = re.match(r'^(\s*)([^:#\s]+): "\?"', line)
        if found:
            asked += 1
            line = f"{found.group(1)}{found.group(2)}: {ANSWERS[found.group(2)]}"
        lines.append(line)
    return "\n".join(lines) + "\n", asked


def run(name: str, *args: str, logs: Path) -> int:
    started = time.perf_counter()
    with (logs / f"{name}.log").open("w") as log:
        code = subprocess.run([TIERCAST, *args], stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    print(f"{name}: rc={code} {time.perf_counter() - started:.0f} s")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("/tmp/warehouse-dump"))
    args = parser.parse_args()
    out, logs = args.out, args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    canon = out / "canon"
    if not (canon / "campaigns.parquet").is_file():
        size = ["-n", str(args.subscribers), "-m", str(args.months), "--seed", str(args.seed)]
        run("generate", "generate", *size, "--response-mix", "default", "--out", str(canon), logs=logs)
    write_canon_min(canon, out / "canon_min")
    write_dump(canon, out / "dump")
    config = out / "config.yaml"
    config.write_text(f"paths:\n  root: {out / 'root'}\npublish:\n  url: sqlite:///{out / 'root' / 'published.db'}\n")
    base = ["-c", str(config)]
    dump, mapping = ["--data", str(out / "dump")], ["--mapping", str(out / "mapping.yaml")]
    run("draft", *base, "mapping", "draft", *dump, "--out", str(out / "draft.yaml"), logs=logs)
    text, asked = answered((out / "draft.yaml").read_text())
    (out / "mapping.yaml").write_text(text)
    print(f'draft: {asked} "?" answered from the code book (the time zone and the operator\'s codes)')
    run("validate", *base, "validate", *dump, *mapping, logs=logs)
    run("train-canonical", *base, "train", "--data", str(out / "canon_min"), logs=logs)
    run("nightly-canonical", *base, "score-publish", "--data", str(out / "canon_min"), logs=logs)
    run("nightly-dump", *base, "score-publish", *dump, *mapping, logs=logs)
    week = ["--from", "2026-10-25", "--to", "2026-10-31"]
    run("service-levels", *base, "service-levels", *dump, *mapping, *week, logs=logs)
    run("campaigns-report", *base, "campaigns", "report", *dump, *mapping, logs=logs)
    run("uplift-train", *base, "uplift", "train", *dump, *mapping, logs=logs)
    nights = ["--from", "2026-10-29", "--to", "2026-10-30"]
    run("monitor-backfill", *base, "monitor", "backfill", *dump, *mapping, *nights, logs=logs)
    quarantined = re.findall(r"│ (\w+)\s+│\s+([\d,]+) │\s+([\d,]+) │\s+([\d,]+) │", (logs / "validate.log").read_text())
    print("validate (table, rows, clean, quarantined):", quarantined)
    with sqlite3.connect(out / "root" / "published.db") as db:
        first, second = (
            pd.read_sql(f"SELECT * FROM tier_table_v{v:06d}", db).set_index("subscriber_key").sort_index()
            for v in (1, 2)
        )
    same_keys = first.index.equals(second.index)
    differ = [c for c in first.columns if not first[c].equals(second[c])]
    print(f"tier tables: {len(first):,} and {len(second):,} rows, same keys {same_keys}; columns that differ: {differ}")


if __name__ == "__main__":
    main()
