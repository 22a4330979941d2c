"""Benchmark: `features.build.feature_table` vs an equivalent DuckDB SQL query over the same Parquet files.

    .venv/bin/python -m benchmarks.bench_features --subscribers 1000000 --months 12 --repeats 3

Input data: `--data DIR` (e.g. from `tiercast generate`); when DIR holds no tables they are generated
there first, with `tiercast.synthetic` when it is installed, else with this script's quick random
tables (`random_tables`, input-contract schema). Both sides get 2 threads (DuckDB `SET threads=2`,
pyarrow's pools; numpy is single-threaded here) and read only the columns they need. Prints the
median of the repeats for each side, the ratio, the peak memory above the start and whether the
two results are equal (the strongest correctness check of the feature code at scale).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import SUBSCRIBER_COLUMNS, feature_table
from tiercast.settings.features import FeaturesSettings

TABLES = ("subscribers", "bills", "payments", "contacts")
# Columns the feature table reads, per table: the pandas side reads only these.
NEEDED_COLUMNS = {
    "subscribers": SUBSCRIBER_COLUMNS,
    "bills": (
        "subscriber_id",
        "bill_month",
        "amount",
        "voice_minutes",
        "data_mb",
        "data_amount",
        "long_distance_amount",
        "roaming_amount",
        "value_added_amount",
    ),
    "payments": ("subscriber_id", "bill_month", "due_date", "paid_date", "amount_paid"),
    "contacts": ("subscriber_id", "contact_time", "channel", "reason", "resolved", "abandoned"),
}
PLANS = {
    "prepaid_19": 19, "prepaid_39": 39, "postpaid_58": 58, "postpaid_88": 88, "postpaid_128": 128,
    "postpaid_188": 188, "postpaid_288": 288, "postpaid_588": 588, "data_unlimited_99": 99,
    "business_198": 198, "business_398": 398,
}  # fmt: skip


def random_tables(
    n_subscribers: int, months: int, end_month: str = "2025-12", seed: int = 7
) -> dict[str, pd.DataFrame]:
    """Return quick random subscribers/bills/payments/contacts in the input-contract schema (not realistic)."""
    rng = np.random.default_rng(seed)
    n = n_subscribers
    last = np.datetime64(end_month, "M")
    first_day = (last - (months - 1)).astype("datetime64[D]")
    last_day = (last + 1).astype("datetime64[D]") - 1
    span = int((last_day - first_day).astype(int)) + 1
    joined_before = rng.random(n) < 0.8
    activation = first_day + np.where(joined_before, -rng.integers(1, 8 * 365, n), rng.integers(0, span, n))
    leave = np.maximum(activation, first_day) + rng.exponential(30.4 / 0.02, n).astype(np.int64)
    left = leave <= last_day
    plan = rng.choice(list(PLANS), n)
    contract = np.where(
        np.char.startswith(plan, "prepaid"), "prepaid", rng.choice(["postpaid", "contract_12m", "contract_24m"], n)
    )
    contract_end = np.where(
        np.char.startswith(contract, "contract"),
        activation + np.where(contract == "contract_12m", 365, 730),
        np.datetime64("NaT"),
    )
    reason = rng.choice(["voluntary", "non_payment"], n, p=[0.8, 0.2])
    gender = rng.choice(np.array(["F", "M", None], dtype=object), n, p=[0.48, 0.47, 0.05])
    flag = rng.choice(np.array(["red", "black", None], dtype=object), n, p=[0.01, 0.005, 0.985])
    subscribers = pd.DataFrame(
        {
            "subscriber_id": np.arange(1, n + 1, dtype=np.int64),
            "msisdn": pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(8).radd("138").astype("str"),
            "activation_date": activation.astype("datetime64[ms]"),
            "deactivation_date": np.where(left, leave, np.datetime64("NaT")).astype("datetime64[ms]"),
            "deactivation_reason": _text(_missing_where(~left, reason)),
            "plan": _text(plan),
            "contract_type": _text(contract),
            "contract_end_date": contract_end.astype("datetime64[ms]"),
            "brand": _text(rng.choice(["gotone", "mzone", "easyown"], n)),
            "segment": _text(np.where(np.char.startswith(plan, "business"), "business", "individual")),
            "birth_year": pd.array(_missing_where(rng.random(n) < 0.05, rng.integers(1950, 2006, n)), dtype="Int64"),
            "gender": _text(gender),
            "region": _text(rng.choice([f"city_{i:02d}" for i in range(12)], n)),
            "sales_channel": _text(rng.choice(["store", "online", "agent", "telesales"], n)),
            "list_flag": _text(flag),
            "do_not_contact": rng.random(n) < 0.1,
        }
    )
    # Bills: one per month from max(activation month, first month) to min(deactivation month, last month).
    start = np.maximum(activation.astype("datetime64[M]"), last - (months - 1)).astype(np.int64)
    stop = np.where(left, leave.astype("datetime64[M]"), last).astype(np.int64)
    count = np.maximum(stop - start + 1, 0)
    who = np.repeat(np.arange(n), count)
    month = start[who] + np.arange(len(who)) - np.repeat(np.cumsum(count) - count, count)
    order = np.lexsort((who, month))  # month by month, like monthly billing extracts
    who, month = who[order], month[order]
    rows = len(who)
    fee = np.array([PLANS[p] for p in PLANS], dtype=np.float64)[pd.Categorical(plan, categories=list(PLANS)).codes][who]
    amount = np.round(fee * rng.uniform(0.6, 1.6, rows), 2)
    month_start = month.astype("datetime64[M]").astype("datetime64[D]")
    bills = pd.DataFrame(
        {
            "subscriber_id": who + 1,
            "bill_month": month_start.astype("datetime64[ms]"),
            "amount": amount,
            "base_fee": fee,
            "voice_minutes": np.round(rng.gamma(2.0, 120.0, rows), 1),
            "data_mb": np.round(rng.gamma(1.5, 3000.0, rows), 1),
            "sms_count": rng.integers(0, 60, rows),
            "data_amount": np.round(amount * rng.uniform(0, 0.3, rows), 2),
            "long_distance_amount": np.round(amount * rng.uniform(0, 0.1, rows), 2),
            "roaming_amount": np.round(amount * (rng.random(rows) < 0.05) * rng.uniform(0, 0.2, rows), 2),
            "value_added_amount": np.round(amount * rng.uniform(0, 0.1, rows), 2),
        }
    )
    month_end = (month + 1).astype("datetime64[M]").astype("datetime64[D]") - 1
    due = month_end + 20
    status = rng.random(rows)
    on_time = month_end + 1 + rng.integers(0, 20, rows)
    paid = np.where(status < 0.82, on_time, due + rng.integers(1, 45, rows))
    paid = np.where(status < 0.96, paid, np.datetime64("NaT"))
    partial = (status >= 0.92) & (status < 0.96)
    payments = pd.DataFrame(
        {
            "subscriber_id": who + 1,
            "bill_month": bills["bill_month"].to_numpy(),
            "due_date": due.astype("datetime64[ms]"),
            "paid_date": paid.astype("datetime64[ms]"),
            "amount_paid": np.where(status < 0.96, np.where(partial, np.round(amount * 0.5, 2), amount), 0.0),
        }
    )
    n_contacts = int(rows * 0.35)
    pick = rng.integers(0, rows, n_contacts)
    seconds = rng.integers(0, 28 * 86400, n_contacts)
    when = month_start[pick].astype("datetime64[s]") + seconds
    when = np.maximum(when, activation[who[pick]].astype("datetime64[s]"))
    channel = rng.choice(["voice", "chat", "app", "store", "outbound"], n_contacts, p=[0.6, 0.1, 0.15, 0.05, 0.1])
    reason = np.where(
        channel == "outbound",
        "retention_call",
        rng.choice(
            ["inquiry", "billing", "complaint", "fault", "cancel_intent", "plan_change"],
            n_contacts,
            p=[0.35, 0.25, 0.12, 0.13, 0.05, 0.1],
        ),
    )
    abandoned = (channel == "voice") & (rng.random(n_contacts) < 0.08)
    order = np.argsort(when, kind="stable")
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(1, n_contacts + 1, dtype=np.int64),
            "subscriber_id": (who[pick] + 1)[order],
            "contact_time": when[order].astype("datetime64[us]"),
            "channel": pd.array(channel[order], dtype="str"),
            "reason": pd.array(reason[order], dtype="str"),
            "resolved": ((rng.random(n_contacts) < 0.8) & ~abandoned)[order],
            "wait_seconds": np.where(channel == "voice", rng.exponential(30.0, n_contacts), 0.0)[order],
            "handle_seconds": rng.exponential(240.0, n_contacts)[order],
            "abandoned": abandoned[order],
        }
    )  # fmt: skip
    return {"subscribers": subscribers, "bills": bills, "payments": payments, "contacts": contacts}


def _missing_where(missing: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return `values` as an object array with None where `missing`."""
    out = values.astype(object)
    out[missing] = None
    return out


def _text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Return values as a pandas `str` array (None -> missing)."""
    return pd.array(values, dtype="str")


def duckdb_feature_sql(as_of: date, settings: FeaturesSettings) -> str:
    """Return a DuckDB query over views subscribers/bills/payments/contacts computing the same feature table."""
    d = f"DATE '{as_of.isoformat()}'"
    newest = (np.datetime64(as_of + timedelta(days=1), "M") - 1).astype("datetime64[D]").item()
    width = max(6, settings.credit_window_months)
    oldest = (np.datetime64(newest, "M") - (width - 1)).astype("datetime64[D]").item()
    after = (np.datetime64(newest, "M") + 1).astype("datetime64[D]").item()
    owing = repr(settings.settled_tolerance_cny + 1e-9)
    s = settings.credit_score
    repeat_us = settings.repeat_contact_days * 86_400_000_000
    span = max(90, 30 + settings.repeat_contact_days)
    return f"""
WITH active AS (
  SELECT * FROM subscribers
  WHERE CAST(activation_date AS DATE) <= {d} AND (deactivation_date IS NULL OR CAST(deactivation_date AS DATE) > {d})
), b AS (
  SELECT subscriber_id, CAST(bill_month AS DATE) AS bill_month,
         date_diff('month', CAST(bill_month AS DATE), DATE '{newest}') AS k, amount, data_mb, voice_minutes,
         data_amount, long_distance_amount, roaming_amount, value_added_amount
  FROM bills WHERE CAST(bill_month AS DATE) >= DATE '{oldest}' AND CAST(bill_month AS DATE) < DATE '{after}'
), arpu AS (
  SELECT subscriber_id,
    avg(amount) FILTER (WHERE k = 0) AS arpu_1m,
    avg(amount) FILTER (WHERE k < 3) AS arpu_3m,
    avg(amount) FILTER (WHERE k < 6) AS arpu_6m,
    avg(amount) FILTER (WHERE k BETWEEN 3 AND 5) AS arpu_prev_3m,
    stddev_samp(amount) FILTER (WHERE k < 6) AS sd_6m,
    count(*) FILTER (WHERE k < 6) AS months_billed_6m,
    sum(amount) FILTER (WHERE k < 3) AS amount_3m,
    sum(data_amount) FILTER (WHERE k < 3) AS data_amount_3m,
    sum(long_distance_amount) FILTER (WHERE k < 3) AS long_distance_3m,
    sum(roaming_amount) FILTER (WHERE k < 3) AS roaming_3m,
    sum(value_added_amount) FILTER (WHERE k < 3) AS value_added_3m,
    avg(data_mb) FILTER (WHERE k < 3) AS data_mb_3m,
    avg(voice_minutes) FILTER (WHERE k < 3) AS voice_minutes_3m,
    avg(data_mb + voice_minutes) FILTER (WHERE k BETWEEN 3 AND 5) AS usage_prev_3m
  FROM b GROUP BY subscriber_id
), p AS (
  SELECT p.subscriber_id, CAST(p.due_date AS DATE) AS due, CAST(p.paid_date AS DATE) AS paid_day,
         coalesce(CAST(p.paid_date AS DATE) <= {d}, false) AS paid_by_d,
         greatest(b.amount - CASE WHEN CAST(p.paid_date AS DATE) <= {d} THEN p.amount_paid ELSE 0 END, 0) AS outstanding
  FROM payments p JOIN b ON p.subscriber_id = b.subscriber_id AND CAST(p.bill_month AS DATE) = b.bill_month
  WHERE CAST(p.due_date AS DATE) <= {d}
), p2 AS (
  SELECT *, outstanding > {owing} AS owing,
    CASE WHEN outstanding > {owing} THEN date_diff('day', due, {d})
         WHEN paid_by_d THEN greatest(date_diff('day', due, paid_day), 0) ELSE 0 END AS late
  FROM p
), credit AS (
  SELECT subscriber_id, count(*) AS bills_due,
    avg(CASE WHEN NOT owing AND late = 0 THEN 1.0 ELSE 0.0 END) AS on_time_ratio,
    avg(late) AS days_late_mean, max(late) AS days_late_max,
    sum(CASE WHEN owing THEN outstanding ELSE 0.0 END) AS arrears_amount,
    count(*) FILTER (WHERE owing) AS months_in_arrears,
    count(*) FILTER (WHERE owing AND NOT paid_by_d) AS unpaid_bills
  FROM p2 GROUP BY subscriber_id
), c AS (
  SELECT subscriber_id, contact_time, CAST(contact_time AS DATE) AS day, channel, reason, resolved, abandoned
  FROM contacts WHERE CAST(contact_time AS DATE) <= {d} AND CAST(contact_time AS DATE) > {d} - {span}
), inbound AS (
  SELECT subscriber_id, day, resolved,
    coalesce(epoch_us(contact_time) - lag(epoch_us(contact_time))
      OVER (PARTITION BY subscriber_id ORDER BY contact_time) <= {repeat_us}, false) AS is_repeat
  FROM c WHERE channel <> 'outbound'
), inbound_counts AS (
  SELECT subscriber_id,
    count(*) FILTER (WHERE day > {d} - 30) AS contacts_30d,
    count(*) FILTER (WHERE day > {d} - 90) AS contacts_90d,
    count(*) FILTER (WHERE day > {d} - 30 AND is_repeat) AS repeat_contacts_30d,
    count(*) FILTER (WHERE day > {d} - 90 AND NOT resolved) AS unresolved_90d
  FROM inbound GROUP BY subscriber_id
), flag_counts AS (
  SELECT subscriber_id,
    count(*) FILTER (WHERE reason = 'complaint' AND day > {d} - 30) AS complaints_30d,
    count(*) FILTER (WHERE reason = 'complaint') AS complaints_90d,
    count(*) FILTER (WHERE abandoned AND day > {d} - 30) AS abandoned_30d,
    count(*) FILTER (WHERE reason = 'cancel_intent') AS cancel_intent_90d
  FROM c WHERE day > {d} - 90 GROUP BY subscriber_id
), retention AS (
  SELECT subscriber_id, max(CAST(contact_time AS DATE)) AS last_call FROM contacts
  WHERE reason = 'retention_call' AND CAST(contact_time AS DATE) <= {d} GROUP BY subscriber_id
), joined AS (
  SELECT a.*, arpu.* EXCLUDE (subscriber_id), credit.* EXCLUDE (subscriber_id),
    inbound_counts.* EXCLUDE (subscriber_id), flag_counts.* EXCLUDE (subscriber_id), retention.last_call
  FROM active a
  LEFT JOIN arpu USING (subscriber_id) LEFT JOIN credit USING (subscriber_id)
  LEFT JOIN inbound_counts USING (subscriber_id) LEFT JOIN flag_counts USING (subscriber_id)
  LEFT JOIN retention USING (subscriber_id)
)
SELECT subscriber_id, CAST({d} AS TIMESTAMP_NS) AS as_of,
  date_diff('day', CAST(activation_date AS DATE), {d}) / 30.4375 AS tenure_months,
  arpu_1m, arpu_3m, arpu_6m,
  CASE WHEN arpu_prev_3m > 0 THEN arpu_3m / arpu_prev_3m - 1 END AS arpu_trend,
  CASE WHEN arpu_6m > 0 THEN sd_6m / arpu_6m END AS arpu_volatility,
  coalesce(months_billed_6m, 0) AS months_billed_6m,
  CASE WHEN amount_3m > 0 THEN least(data_amount_3m / amount_3m, 1.0) END AS data_share,
  CASE WHEN amount_3m > 0 THEN least(long_distance_3m / amount_3m, 1.0) END AS long_distance_share,
  CASE WHEN amount_3m > 0 THEN least(roaming_3m / amount_3m, 1.0) END AS roaming_share,
  CASE WHEN amount_3m > 0 THEN least(value_added_3m / amount_3m, 1.0) END AS value_added_share,
  data_mb_3m, voice_minutes_3m,
  CASE WHEN usage_prev_3m > 0 THEN (data_mb_3m + voice_minutes_3m) / usage_prev_3m - 1 END AS usage_trend,
  on_time_ratio, days_late_mean, CAST(days_late_max AS DOUBLE) AS days_late_max,
  coalesce(arrears_amount, 0.0) AS arrears_amount, coalesce(months_in_arrears, 0) AS months_in_arrears,
  coalesce(unpaid_bills, 0) AS unpaid_bills, coalesce(bills_due, 0) AS bills_due,
  CASE WHEN coalesce(bills_due, 0) > 0 THEN greatest(least(
      {s.weight_on_time!r} * on_time_ratio
    + {s.weight_days_late!r} * (1.0 - least(days_late_mean / {s.days_late_cap!r}, 1.0))
    + {s.weight_arrears!r} * (1.0 - least(arrears_amount / {s.arrears_cap_cny!r}, 1.0))
    + {s.weight_months_in_arrears!r} * (1.0 - least(months_in_arrears / {s.months_in_arrears_cap!r}, 1.0)),
    1.0), 0.0) ELSE {s.no_history_score!r} END AS credit_score,
  coalesce(contacts_30d, 0) AS contacts_30d, coalesce(contacts_90d, 0) AS contacts_90d,
  coalesce(complaints_30d, 0) AS complaints_30d, coalesce(complaints_90d, 0) AS complaints_90d,
  coalesce(repeat_contacts_30d, 0) AS repeat_contacts_30d, coalesce(abandoned_30d, 0) AS abandoned_30d,
  coalesce(cancel_intent_90d, 0) AS cancel_intent_90d,
  CASE WHEN contacts_90d > 0 THEN unresolved_90d / contacts_90d END AS unresolved_share_90d,
  CAST(date_diff('day', last_call, {d}) AS DOUBLE) AS days_since_retention_call,
  plan, contract_type, brand, segment, region, gender, sales_channel, list_flag,
  CAST({as_of.year} - birth_year AS DOUBLE) AS age, do_not_contact,
  coalesce(greatest(date_diff('day', {d}, CAST(contract_end_date AS DATE)), 0) / 30.4375, 0.0) AS contract_months_left
FROM joined ORDER BY subscriber_id
"""


def feature_mismatches(ours: pd.DataFrame, theirs: pd.DataFrame, rtol: float = 1e-9) -> list[str]:
    """Return what differs between two feature tables (floats within rtol/1e-9 absolute; the rest exactly)."""
    if list(ours.columns) != list(theirs.columns):
        return [f"columns differ: {sorted(set(ours.columns) ^ set(theirs.columns))}"]
    if len(ours) != len(theirs):
        return [f"row counts differ: {len(ours)} vs {len(theirs)}"]
    problems = []
    for name in ours.columns:
        left, right = ours[name], theirs[name]
        if left.dtype.kind == "f":
            a, b = left.to_numpy(), right.to_numpy(dtype=np.float64, na_value=np.nan)
            same = np.isclose(a, b, rtol=rtol, atol=1e-9, equal_nan=True)
        elif left.dtype != right.dtype:
            problems.append(f"{name}: dtype {left.dtype} vs {right.dtype}")
            continue
        elif left.dtype.kind in "iubM":
            same = left.to_numpy() == right.to_numpy()
        else:
            a, b = left.astype(object).to_numpy(), right.astype(object).to_numpy()
            same = (a == b) | (pd.isna(a) & pd.isna(b))
        if not np.all(same):
            first = int(np.flatnonzero(~same)[0])
            example = f"row {first}: {left.iloc[first]!r} vs {right.iloc[first]!r}"
            problems.append(f"{name}: {int((~same).sum())} rows differ, e.g. {example}")
    return problems


def duckdb_features(tables: dict[str, Any], as_of: date, settings: FeaturesSettings, threads: int = 2) -> pd.DataFrame:
    """Return the DuckDB feature table; `tables` maps table names to DataFrames or Parquet paths."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"SET threads={threads}")
        for name, source in tables.items():
            if isinstance(source, Path):
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source}')")
            else:
                con.register(name, source)
        return con.sql(duckdb_feature_sql(as_of, settings)).to_arrow_table().to_pandas()


def read_inputs(folder: Path) -> dict[str, pd.DataFrame]:
    """Return the four input tables of `folder` (Parquet): only the columns the features need, dates as datetime64."""
    import pyarrow.parquet as pq

    return {
        name: pq.read_table(folder / f"{name}.parquet", columns=list(NEEDED_COLUMNS[name])).to_pandas(
            split_blocks=True, self_destruct=True, date_as_object=False
        )
        for name in TABLES
    }


class PeakMemory:
    """Context manager sampling this process's RSS; `peak_mb` is the peak above the level at entry."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak_mb = 0.0

    def __enter__(self) -> PeakMemory:
        self._start = self._peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = (self._peak - self._start) / 2**20


def _timed(run: Callable[[], pd.DataFrame]) -> tuple[float, float, pd.DataFrame]:
    """Return seconds, peak MB above start and the result of `run()`."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
    return seconds, memory.peak_mb, result


def _prepare_data(folder: Path, subscribers: int, months: int, source: str) -> str:
    """Make sure `folder` holds the four tables as Parquet; return where they came from."""
    if all((folder / f"{name}.parquet").is_file() for name in TABLES):
        return f"existing tables in {folder}"
    folder.mkdir(parents=True, exist_ok=True)
    if source == "generator":
        from tiercast.settings import load_settings
        from tiercast.synthetic import generate

        generator = load_settings().generator
        generate(folder, subscribers, months, generator.seed, generator)
        return f"tiercast.synthetic tables ({subscribers:,} subscribers x {months} months) written to {folder}"
    for name, frame in random_tables(subscribers, months).items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return f"quick random tables written to {folder}"


def _default_as_of(folder: Path) -> date:
    """Return the last day of the newest bill month in the data (every bill of the data is then known)."""
    import duckdb

    query = f"SELECT max(CAST(bill_month AS DATE)) FROM read_parquet('{folder / 'bills.parquet'}')"
    with duckdb.connect() as con:
        newest = con.execute(query).fetchall()[0][0]
    return (np.datetime64(newest, "M") + 1).astype("datetime64[D]").item() - timedelta(days=1)


def main() -> None:
    """Run the benchmark from the command line."""
    import pyarrow as pa

    from tiercast.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--subscribers", type=int, default=1_000_000, help="subscribers to generate when --data is empty"
    )
    parser.add_argument("--months", type=int, default=12, help="months of history to generate when --data is empty")
    parser.add_argument(
        "--data", type=Path, default=None, help="folder with <table>.parquet (default benchmarks/out/...)"
    )
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="as-of date D (default: end of the newest bill month)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="threads for DuckDB and pyarrow")
    parser.add_argument(
        "--source",
        choices=["generator", "random"],
        default="generator",
        help="what writes missing tables: tiercast.synthetic (realistic) or this script's quick random tables",
    )
    args = parser.parse_args()
    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(args.threads)
    folder = args.data or Path(__file__).parent / "out" / f"{args.source}-{args.subscribers}-{args.months}m"
    print(_prepare_data(folder, args.subscribers, args.months, args.source))
    as_of = args.as_of or _default_as_of(folder)
    settings = load_settings().features
    paths = {name: folder / f"{name}.parquet" for name in TABLES}

    reads: list[float] = []

    def ours() -> pd.DataFrame:
        start = time.perf_counter()
        tables = read_inputs(folder)
        reads.append(time.perf_counter() - start)
        return feature_table(
            tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"], as_of, settings
        )

    times: dict[str, list[float]] = {"pandas/numpy": [], "duckdb": []}
    peaks: dict[str, list[float]] = {"pandas/numpy": [], "duckdb": []}
    results: dict[str, pd.DataFrame] = {}
    for _ in range(args.repeats):  # interleaved so that both sides see the same machine load
        for side, run in (
            ("pandas/numpy", ours),
            ("duckdb", lambda: duckdb_features(paths, as_of, settings, args.threads)),
        ):
            seconds, peak, results[side] = _timed(run)
            times[side].append(seconds)
            peaks[side].append(peak)
    ours_s, duck_s = statistics.median(times["pandas/numpy"]), statistics.median(times["duckdb"])
    active = len(results["duckdb"])
    print(f"as of {as_of}: {active:,} active subscribers, {args.repeats} runs each, {args.threads} threads")
    for side in times:
        runs = ", ".join(f"{t:.2f}" for t in times[side])
        median = statistics.median(times[side])
        print(f"  {side:13s} median {median:6.2f} s  (runs {runs})  peak +{max(peaks[side]):,.0f} MB")
    read_s = statistics.median(reads)
    print(f"  pandas/numpy split: read Parquet {read_s:.2f} s + feature_table {ours_s - read_s:.2f} s (medians)")
    print(f"  ratio pandas/numpy : duckdb = {ours_s / duck_s:.2f}")
    problems = feature_mismatches(results["pandas/numpy"], results["duckdb"])
    print("  results equal" if not problems else "  RESULTS DIFFER:\n    " + "\n    ".join(problems))


if __name__ == "__main__":
    main()
