"""Production monitoring in the nightly run: drift, label-free estimates, realised performance, guardrails.

The champion's reference profile (its validation snapshot, made at training and logged with the
model as `monitoring/reference.json`) fixes the bins. Each shard counts its features, scores and
mixes on those bins (`shard_counts`); `monitor_night` adds the shards' counts and compares them
with the reference and with yesterday (PSI, missing and zero shares, means), estimates tonight's
performance from the calibrated scores (models/performance_estimate.py), and, for every earlier
night whose horizon has now passed in the data, joins its kept scores with who actually left.

Everything goes to `<paths.monitoring>/history/<night>.parquet` (contract `monitoring`); a
broken-export guardrail then stops the night before its publish switch, naming the column.

A billing extract that failed shows in no column: its month's bill columns are counted on no rows.
So each shard also counts the latest bill month's rows and the month before's (`month_rows`), and a
night fit to publish keeps the data end of the export it read (`<paths.monitoring>/periods/`): the
latest month under `guardrail.latest_period_share` of the month before, or an export ending before the
last such night's (a nightly left to the data end would run a month back and publish), stops the night.
A contacts extract that stopped early shows in no column either: each shard counts its contacts on each of
the last 7 days and the same weekdays a week before (`day_rows`), and a day under
`guardrail.latest_day_share` of its weekday stops the night. A night is kept as the next night's baseline
(its counts, its data end) only once it has published (`keep_baseline`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from data_contracts.loader import validate_output
from features.windows import last_known_bill_month
from models.drift import (
    CELLS,
    PERIOD,
    WEEK,
    ReferenceProfile,
    above_ceiling,
    alert_rows,
    bin_counts,
    blocks_publish,
    closest_phase,
    column_counts,
    data_end_table,
    day_profile,
    drift_table,
    history_ceilings,
    merge_counts,
    period_profile,
    period_table,
    reference_profile,
    same_layout,
)
from models.performance_estimate import estimated_performance, performance_comparison, realised_performance
from models.recent_churn import judged_recent_churn
from tiercast.errors import InputError
from tiercast.settings import Settings
from tiercast.settings.monitoring import ContactMixSettings

log = logging.getLogger(__name__)

REFERENCE_ARTIFACT = "monitoring/reference.json"
SCORE = "churn_score"
MIXES = ("tier", "lifecycle_stage")
INPUT = "input"  # role of an input column (`bills.data_amount`) in a reference profile
CONTACT_MIX = "contact_mix"  # tonight's inbound contacts as segment x reason cells (role CELLS)
# Payments are left out: what a bill's payment row holds depends on when the export was taken (paid
# later or not yet), so a training-time reference would see payments made after its own date.
INPUT_WINDOWS = {"bills": "bill_month", "contacts": "contact_time"}
# Monthly input tables whose latest known month is counted against the month before (guardrail.latest_period_share).
PERIOD_TABLES = {"bills": "bill_month"}
PERIODS = "periods"  # recent_inputs' frame of those counts (one row per table), not a table of the export
# Daily input tables whose last 7 days are counted against the same weekdays a week before (latest_day_share).
DAY_TABLES = {"contacts": "contact_time"}
DAYS = "days"  # recent_inputs' frame of those counts (one row per table), not a table of the export
DATA_END = "bills.bill_month"  # what an export's data end is read from (pipelines/data_end.py)
GROUP = "tier"
COLUMNS = [
    "recorded_on", "as_of", "model_version", "kind", "subject", "role", "metric", "against",
    "value", "baseline", "low", "high", "n", "level", "message",
]  # fmt: skip


class DriftGuardrailError(InputError):
    """Tonight's inputs look like a broken export (a column all missing, all zero, or ten times off)."""


@dataclass(frozen=True)
class NightBaseline:
    """What a night leaves for later nights to compare with: its counts ("yesterday" to them), its data end."""

    as_of: date
    model_version: str
    counts: ReferenceProfile | None  # None: drift not computed (no reference)
    phase: str
    data_end: date | None


@dataclass(frozen=True)
class NightMonitoring:
    """What tonight's monitoring found: the history rows, the alerts among them, and where they were written."""

    as_of: date
    model_version: str
    rows: pd.DataFrame
    alerts: pd.DataFrame
    history_path: Path | None
    note: str = ""
    blocked: str = ""  # why tonight must not publish (a broken-export guardrail), empty when it may
    where: dict[str, str] = field(default_factory=dict)  # where the rows were recorded besides the history file
    baseline: NightBaseline | None = None  # what later nights compare with, once tonight is kept (`keep_baseline`)

    def summary(self) -> dict[str, Any]:
        """Return the JSON-ready monitoring part of the run summary."""
        drift = self.rows[(self.rows["kind"] == "drift") & (self.rows["metric"] == "psi")]
        top = drift.sort_values("value", ascending=False).head(5)
        estimate = self.rows[(self.rows["kind"] == "estimate") & (self.rows["subject"] == "all")]
        realised = self.rows[(self.rows["kind"] == "realised") & (self.rows["subject"] == "all")]
        return {
            "note": self.note,
            "history": str(self.history_path) if self.history_path else "",
            "recorded": dict(self.where),
            "alerts": [str(m) for m in self.alerts["message"]],
            "top_psi": {f"{r['subject']} vs {r['against']}": round(r["value"], 4) for r in _records(top)},
            "estimate": {
                r["metric"]: [round(r["value"], 4), round(r["low"], 4), round(r["high"], 4)] for r in _records(estimate)
            },
            "realised": {
                f"{r['as_of']:%Y-%m-%d} {r['metric']}": [round(r["value"], 4), round(r["baseline"], 4)]
                for r in _records(realised)
                if r["metric"] == "roc_auc"
            },
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def recent_inputs(
    tables: Mapping[str, pd.DataFrame], as_of: date, mix: ContactMixSettings | None = None, mix_days: int | None = None
) -> dict[str, pd.DataFrame]:
    """Return the input rows a broken export shows in first, as `table.column` numbers: the bills of the
    latest bill month known at `as_of` and the last 30 days' contacts (ids left out); with `mix`, also
    the last `mix_days` days' inbound contacts as `contact_mix.<segment>_reason` cells (`contact_cells`)."""
    out = {}
    end = pd.Timestamp(as_of)
    for table, column in INPUT_WINDOWS.items():
        frame = tables.get(table)
        if frame is None or column not in frame.columns:
            continue
        when = pd.to_datetime(frame[column])
        if column == "bill_month":
            # A bill is known from its month's last day on (features.windows): before that, last month's.
            known = pd.Timestamp(last_known_bill_month(as_of).astype("datetime64[D]"))
            recent = when.dt.to_period("M").dt.start_time == known
        else:
            recent = (when > end - pd.Timedelta(days=30)) & (when < end + pd.Timedelta(days=1))
        numbers = [
            c
            for c in frame.columns
            if not c.endswith("_id") and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool
        ]
        out[table] = frame.loc[recent, numbers].add_prefix(f"{table}.").reset_index(drop=True)
    if mix is not None:
        cells = contact_cells(tables, as_of, mix.segment, mix_days or mix.days)
        if cells is not None:
            out[CONTACT_MIX] = cells
    out[PERIODS] = month_rows(tables, as_of)
    out[DAYS] = day_rows(tables, as_of)
    return out


def month_rows(tables: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """Return per monthly table (`PERIOD_TABLES`) its rows in the latest month known at `as_of` and in the month
    before: column (`bills.bill_month`), previous and latest (YYYY-MM), previous_rows and latest_rows."""
    known = pd.Timestamp(last_known_bill_month(as_of).astype("datetime64[D]")).to_period("M")
    bounds = np.array([m.start_time.date() for m in (known - 1, known, known + 1)], dtype="datetime64[D]")
    rows = [
        (name, str(known - 1), str(known), *counts) for name, counts in _rows_between(tables, PERIOD_TABLES, bounds)
    ]
    return pd.DataFrame(rows, columns=["column", "previous", "latest", "previous_rows", "latest_rows"])


def day_rows(tables: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """Return per daily table (`DAY_TABLES`) its rows on each of the WEEK days ending with `as_of` and on the WEEK
    days before them: column (`contacts.contact_time`), days (ISO dates, oldest first) and rows, 2 x WEEK each."""
    first = np.datetime64(as_of, "D") - np.timedelta64(2 * WEEK - 1, "D")
    days = first + np.arange(2 * WEEK + 1)  # day bounds: the last one is the day after as_of
    shown = [str(d) for d in days[:-1]]
    rows = [(name, shown, counts) for name, counts in _rows_between(tables, DAY_TABLES, days)]
    return pd.DataFrame(rows, columns=["column", "days", "rows"])


def _rows_between(
    tables: Mapping[str, pd.DataFrame], columns: Mapping[str, str], bounds: np.ndarray
) -> list[tuple[str, list[int]]]:
    """Return per table of `columns` (table -> its time column) that has it: `table.column` and its rows between
    each pair of consecutive `bounds` (ascending; from the first, inclusive, to the next); NaT rows in none."""
    edges = bounds.astype("datetime64[ns]")
    found = []
    for table, column in columns.items():
        frame = tables.get(table)
        if frame is None or column not in frame.columns:
            continue
        when = pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[ns]")
        slot = np.searchsorted(edges, when, side="right") - 1
        inside = (slot >= 0) & (slot < len(edges) - 1) & ~np.isnat(when)
        found.append((f"{table}.{column}", [int(n) for n in np.bincount(slot[inside], minlength=len(edges) - 1)]))
    return found


def contact_cells(tables: Mapping[str, pd.DataFrame], as_of: date, segment: str, days: int) -> pd.DataFrame | None:
    """Return one row per inbound contact of the `days` days ending with `as_of`: `<segment>|<reason>` of
    its subscriber (segment "unknown" when not recorded); None without contacts or subscribers."""
    contacts, subscribers = tables.get("contacts"), tables.get("subscribers")
    if contacts is None or subscribers is None or not {"reason", "channel"} <= set(contacts.columns):
        return None
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    when = pd.to_datetime(contacts["contact_time"])
    inbound = contacts.loc[(when >= end - pd.Timedelta(days=days)) & (when < end) & (contacts["channel"] != "outbound")]
    where = subscribers.set_index("subscriber_id")[segment] if segment in subscribers.columns else pd.Series()
    place = inbound["subscriber_id"].map(where).astype("object").where(lambda s: s.notna(), "unknown").astype("str")
    name = f"{CONTACT_MIX}.{segment}_reason"
    return pd.DataFrame({name: (place + "|" + inbound["reason"].astype("str")).to_numpy()})


def training_reference(
    holdout: pd.DataFrame,
    columns: list[str],
    metrics: dict[str, float],
    inputs: Mapping[str, pd.DataFrame],
    settings: Settings,
    phases: Mapping[date, tuple[pd.DataFrame, Mapping[str, pd.DataFrame]]] | None = None,
    churn_calendar: Mapping[str, tuple[float, ...]] | None = None,
) -> ReferenceProfile:
    """Return the reference profile of a model: its holdout's features, scores and mixes, and the recent
    input columns at its validation date (`recent_inputs`), with its metrics; `phases` (scored holdout
    and recent inputs at other days of the month) are counted on the same bins; `churn_calendar` (per
    group, models.recent_churn.tier_calendars) is kept as it is. The history-bound columns
    (`monitoring.profile.history_bound`) get a ceiling when the export's history never filled the credit
    window (models.drift.history_ceilings)."""
    profile = settings.monitoring.profile
    mixes = [m for m in MIXES if m in holdout.columns]
    scored = reference_profile(holdout, profile, columns, SCORE, mixes, metrics)
    raw = [
        replace(layout, role=CELLS if table == CONTACT_MIX else INPUT)
        for table, frame in inputs.items()
        if table not in (PERIODS, DAYS)
        for layout in (
            reference_profile(frame, profile, [], mixes=list(frame.columns))  # every cell kept
            if table == CONTACT_MIX
            else reference_profile(frame, profile, list(frame.columns))
        ).columns
    ]
    reference = replace(scored, columns=(*scored.columns, *raw))
    counted = {
        str(day): tonight_counts(
            reference, [bin_counts(frame, _part(reference, inputs=False))], [_inputs(recent, reference)]
        )
        for day, (frame, recent) in (phases or {}).items()
    }
    capped = history_ceilings(
        replace(reference, phases=counted), profile.history_bound, settings.features.credit_window_months
    )
    return replace(capped, churn_calendar=dict(churn_calendar or {}))


def _part(reference: ReferenceProfile, inputs: bool) -> ReferenceProfile:
    return ReferenceProfile(tuple(c for c in reference.columns if (c.role in (INPUT, CELLS)) == inputs))


def input_counts(inputs: Mapping[str, pd.DataFrame], reference: ReferenceProfile | None) -> ReferenceProfile | None:
    """Return one shard's recent input columns counted on the reference's bins, then its monthly tables' rows in
    their latest month and the month before (PERIOD columns, counted with or without a reference; None when
    there is neither)."""
    months, days = inputs.get(PERIODS, pd.DataFrame()), inputs.get(DAYS, pd.DataFrame())
    periods = tuple(
        period_profile(r["column"], (r["previous"], r["latest"]), (r["previous_rows"], r["latest_rows"]))
        for r in _records(months)
    ) + tuple(day_profile(r["column"], tuple(r["days"]), tuple(r["rows"])) for r in _records(days))
    if reference is None:
        return ReferenceProfile(periods) if periods else None
    return ReferenceProfile((*_inputs(inputs, reference).columns, *periods))


def _without_periods(profile: ReferenceProfile) -> ReferenceProfile:
    return replace(profile, columns=tuple(c for c in profile.columns if c.role != PERIOD))


def _inputs(inputs: Mapping[str, pd.DataFrame], reference: ReferenceProfile) -> ReferenceProfile:
    empty = pd.DataFrame()
    layouts = _part(reference, inputs=True).columns
    return ReferenceProfile(tuple(column_counts(inputs.get(c.name.split(".")[0], empty), c) for c in layouts))


def shard_counts(scored: pd.DataFrame, reference: ReferenceProfile | None) -> ReferenceProfile | None:
    """Return one shard's features, score and mixes counted on the reference's bins (None without a reference)."""
    return None if reference is None else bin_counts(scored, _part(reference, inputs=False))


def tonight_counts(
    reference: ReferenceProfile, scored: Sequence[ReferenceProfile], inputs: Sequence[ReferenceProfile]
) -> ReferenceProfile:
    """Return the shards' counts added up, in the reference's column order."""
    merged = {c.name: c for part in (scored, inputs) if part for c in merge_counts(part).columns}
    return ReferenceProfile(tuple(merged[c.name] for c in reference.columns))


def folder(settings: Settings, kind: str) -> Path:
    """Return `<paths.monitoring>/<kind>` (history, counts, scores, realised)."""
    return settings.paths.resolve(settings.paths.monitoring) / kind


def _drift_rows(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "drift",
            "subject": table["feature"],
            "role": table["role"],
            "metric": table["metric"],
            "against": table["against"],
            "value": table["value"],
            "baseline": table["reference"],
            "level": table["level"],
            "message": table["message"],
        }
    )


def _estimate_rows(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "estimate",
            "subject": table["group"],
            "role": "performance",
            "metric": table["metric"],
            "against": "calibrated scores",
            "value": table["estimate"],
            "low": table["low"],
            "high": table["high"],
            "n": table["n"],
            "level": "ok",
            "message": "",
        }
    )


def _realised_rows(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "realised",
            "subject": table["group"],
            "role": "performance",
            "metric": table["metric"],
            "against": "labels",
            "value": table["realised"],
            "baseline": table["estimate"],
            "low": table["low"],
            "high": table["high"],
            "n": table["n"],
            "level": table["level"],
            "message": table["message"],
        }
    )


def recent_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return `models.recent_churn` results as realised rows (metric `recent_churn`): leavers in the reported
    window of the horizon's end (value) against the count the scores promised there (baseline)."""
    return pd.DataFrame(
        {
            "kind": "realised",
            "subject": table["group"],
            "role": "performance",
            "metric": "recent_churn",
            "against": "labels",
            "value": table["observed"].astype("float64"),
            "baseline": table["expected"],
            "n": table["n"],
            "level": table["level"],
            "message": table["message"],
        }
    )


def history_frame(parts: list[pd.DataFrame], recorded_on: date) -> pd.DataFrame:
    """Return the monitoring rows in contract order and types (contract `monitoring`)."""
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True).reindex(columns=COLUMNS)
    frame["recorded_on"] = pd.Timestamp(recorded_on)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    for column in ("value", "baseline", "low", "high"):
        frame[column] = frame[column].astype("float64")
    frame["n"] = frame["n"].astype("Int64")
    for column in ("model_version", "kind", "subject", "role", "metric", "against", "level", "message"):
        frame[column] = frame[column].fillna("").astype("str")
    return validate_output(frame, "monitoring", examples=3)


def _save_counts(settings: Settings, as_of: date, version: str, counts: ReferenceProfile, phase: str = "") -> None:
    path = folder(settings, "counts") / f"{as_of}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model_version": version, "phase": phase, "counts": counts.to_dict()}))


def yesterday_counts(
    settings: Settings, as_of: date, version: str, phase: str = ""
) -> tuple[date, ReferenceProfile] | None:
    """Return the latest earlier night's counts (within a week) made with the same model version and compared
    with the same phase of the reference (`phase`), if any: across a phase change (a due day passed between
    the two nights) calendar-driven columns jump by design, and the reference comparison covers the night."""
    for days in range(1, 8):
        day = as_of - timedelta(days=days)
        path = folder(settings, "counts") / f"{day}.json"
        if path.is_file():
            data = json.loads(path.read_text())
            if str(data.get("model_version")) != version or str(data.get("phase", "")) != phase:
                return None
            return day, ReferenceProfile.from_dict(data["counts"])
    return None


def _save_data_end(settings: Settings, as_of: date, data_end: date) -> None:
    """Keep the data end of the export a night fit to publish read (`last_data_end`); its month counts are in the
    night's history rows (`latest_period`)."""
    path = folder(settings, "periods") / f"{as_of}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data_end": str(data_end)}))


def last_data_end(settings: Settings) -> tuple[date, date] | None:
    """Return (night, the data end of the export it read) for the latest night recorded as fit to publish."""
    nights = sorted(folder(settings, "periods").glob("*.json"))
    if not nights:
        return None
    data = json.loads(nights[-1].read_text())
    return date.fromisoformat(nights[-1].stem), date.fromisoformat(data["data_end"])


def _period_rows(settings: Settings, as_of: date, data_end: date | None, periods: ReferenceProfile | None) -> list:
    """Return the drift rows of the latest-period guardrails (the latest month's rows, the export's data end)."""
    stamp, parts = pd.Timestamp(as_of), []
    if periods is not None:
        parts.append(_drift_rows(period_table(periods, settings.monitoring.guardrail)).assign(as_of=stamp))
    if data_end is not None and (earlier := last_data_end(settings)) is not None:
        table = data_end_table(DATA_END, data_end, *earlier)
        if (table["level"] != "ok").any():  # recorded when it stops the night: an export that grew says nothing
            parts.append(_drift_rows(table).assign(as_of=stamp))
    return parts


def _save_scores(settings: Settings, as_of: date, scores: pd.DataFrame) -> None:
    target = folder(settings, "scores")
    target.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(target / f"{as_of}.parquet", index=False)
    for old in sorted(target.glob("*.parquet")):
        if date.fromisoformat(old.stem) < as_of - timedelta(days=settings.monitoring.score_history_days):
            old.unlink()


def _estimate(settings: Settings, as_of: date, version: str, scores: pd.DataFrame, k: int) -> pd.DataFrame:
    groups = scores[GROUP] if GROUP in scores.columns else None
    table = estimated_performance(scores[SCORE].to_numpy(), settings.monitoring.estimate, k, groups)
    path = folder(settings, "estimates") / f"{as_of}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.assign(k=k, model_version=version).to_parquet(path, index=False)
    return _estimate_rows(table).assign(as_of=pd.Timestamp(as_of), model_version=version)


def _judged_by(path: Path) -> date | None:
    """Return the night that judged the night of a realised file (None for a file written before it was kept)."""
    file = pq.ParquetFile(path)
    if "recorded_on" not in file.schema_arrow.names or not file.metadata.num_rows:
        return None
    first = file.read(columns=["recorded_on"]).column(0)[0].as_py()
    return pd.Timestamp(first).date()


def matured_nights(settings: Settings, data_end: date | None, recorded_on: date | None = None) -> list[date]:
    """Return the nights with kept scores whose horizon has passed in the data and that are not judged yet.

    A night judged by `recorded_on` itself is judged again: a rerun of that night rewrites its history
    file, which must keep the realised rows the first run recorded.
    """
    if data_end is None:
        return []
    horizon = timedelta(days=settings.churn.horizon_days)
    done = {
        p.stem
        for p in folder(settings, "realised").glob("*.parquet")
        if recorded_on is None or _judged_by(p) != recorded_on
    }
    nights = [date.fromisoformat(p.stem) for p in sorted(folder(settings, "scores").glob("*.parquet"))]
    return [night for night in nights if night + horizon <= data_end and str(night) not in done]


def realised_for(
    settings: Settings,
    night: date,
    leavers: pd.DataFrame,
    recorded_on: date,
    calendars: Mapping[str, tuple[float, ...]] | None = None,
) -> pd.DataFrame:
    """Return the realised rows of an earlier night: its kept scores joined with who left within the horizon,
    and the recent-churn rows (models.recent_churn, each group's days weighed by `calendars`, the champion's).

    The rows are also kept in `realised/<night>.parquet` with the night that judged them (`recorded_on`).
    """
    scores = pd.read_parquet(folder(settings, "scores") / f"{night}.parquet")
    estimates = pd.read_parquet(folder(settings, "estimates") / f"{night}.parquet")
    left = leavers.set_index("subscriber_id")["deactivation_date"]
    day = pd.to_datetime(scores["subscriber_id"].map(left))
    start, end = pd.Timestamp(night), pd.Timestamp(night + timedelta(days=settings.churn.horizon_days))
    labels = ((day > start) & (day <= end)).to_numpy()
    k = int(estimates["k"].iloc[0]) if len(estimates) else 0
    groups = scores[GROUP] if GROUP in scores.columns else None
    realised = realised_performance(labels, scores[SCORE].to_numpy(), settings.monitoring.estimate, k, groups)
    estimated = estimates.drop(columns=["k", "model_version"])
    compared = performance_comparison(estimated, realised, settings.monitoring.estimate)
    version = str(estimates["model_version"].iloc[0]) if len(estimates) else ""
    rows = _realised_rows(compared)
    recent = settings.monitoring.recent_churn
    if recent is not None:
        judged = judged_recent_churn(scores, leavers, night, settings.churn.horizon_days, recent, calendars)
        rows = pd.concat([rows, recent_rows(judged)], ignore_index=True)
    rows = rows.assign(as_of=pd.Timestamp(night), model_version=version)
    path = folder(settings, "realised") / f"{night}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.assign(recorded_on=pd.Timestamp(recorded_on)).to_parquet(path, index=False)
    log.info("realised performance of %s: %d churners among %d scored", night, labels.sum(), len(labels))
    return rows


def guardrail_message(table: pd.DataFrame) -> str:
    """Return one line naming every column that looks like a broken export."""
    broken = table.loc[table["level"] == "guardrail", "message"]
    return "inputs look like a broken export, not publishing: " + "; ".join(dict.fromkeys(broken))


def _history_note(column: str, share: float, ceiling: float) -> str:
    return (
        f"{column} compared at the reference's history (shorter than its window): {share:.1%} of tonight above "
        f"its largest value {ceiling:g}, counted as {ceiling:g}"
    )


def monitor_night(
    settings: Settings,
    as_of: date,
    data_end: date | None,
    model_version: str,
    reference: ReferenceProfile | None,
    counts: list[ReferenceProfile | None],
    inputs: list[ReferenceProfile | None],
    scores: pd.DataFrame,
    leavers: pd.DataFrame,
    listed: int,
    keep: bool = True,
) -> NightMonitoring:
    """Compare tonight with the reference and yesterday, estimate, evaluate matured nights; write the history.

    A night that is not blocked is kept as the baseline of later nights (`keep_baseline`) here, or, with
    `keep` false, by the caller once it has published (the nightly: a night refused at the publish step is no
    baseline either); a blocked night never is, so the next night compares with the last good one.

    `blocked` is set when an input looks like a broken export (a column, the latest bill month's rows, an
    export ending earlier than the last night's), or when model drift is set to block
    (`monitoring.alerts.model_drift: block`) and an alert fires; the caller records, then refuses.
    """
    monitoring = settings.monitoring
    note, phase = "", ""
    tonight: ReferenceProfile | None = None
    stamp = pd.Timestamp(as_of)
    months = [ReferenceProfile(tuple(c for c in p.columns if c.role == PERIOD)) for p in inputs if p is not None]
    months = [p for p in months if p.columns]
    periods = merge_counts(months) if months else None
    parts = _period_rows(settings, as_of, data_end, periods)
    inputs = [None if p is None else _without_periods(p) for p in inputs]
    if reference is None or any(c is None for c in [*counts, *inputs]):
        note = f"no reference profile logged with model v{model_version}: drift not computed (retrain to get one)"
    else:
        # Again at night: a champion trained before ceilings existed (or before history_bound named a column)
        # gets them too; recomputed from the reference's own maxima, so the same for one trained with them.
        window = settings.features.credit_window_months
        reference = history_ceilings(reference, monitoring.profile.history_bound, window)
        tonight = tonight_counts(reference, [c for c in counts if c], [c for c in inputs if c])
        phase, baseline = closest_phase(tonight, reference, monitoring)
        notes = [_history_note(*row) for row in above_ceiling(tonight, baseline)]
        if phase:
            notes.insert(0, f"drift against the reference's phase of {phase} (the closest of the validation month)")
        note = "; ".join(notes)
        parts.append(_drift_rows(drift_table(tonight, baseline, monitoring, "reference")).assign(as_of=stamp))
        before = yesterday_counts(settings, as_of, model_version, phase)
        if before is not None and same_layout(before[1], tonight):
            parts.append(_drift_rows(drift_table(tonight, before[1], monitoring, "yesterday")).assign(as_of=stamp))
    parts.append(_estimate(settings, as_of, model_version, scores, listed))
    _save_scores(settings, as_of, scores)
    for night in matured_nights(settings, data_end, as_of):
        parts.append(realised_for(settings, night, leavers, as_of, reference.churn_calendar if reference else None))
    rows = history_frame([part.assign(model_version=part.get("model_version", model_version)) for part in parts], as_of)
    path = folder(settings, "history") / f"{as_of}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(path, index=False)
    alerts = alert_rows(rows, monitoring.alerts)
    for message in alerts["message"]:
        log.warning("monitoring alert: %s", message)
    blocked = ""
    if blocks_publish(rows, monitoring.alerts):
        blocked = guardrail_message(rows)
        if not (rows["level"] == "guardrail").any():
            blocked = "model drift alert (monitoring.alerts.model_drift: block), not publishing: " + "; ".join(
                alerts["message"]
            )
    kept = NightBaseline(as_of, model_version, tonight, phase, data_end)
    if keep and not blocked:
        keep_baseline(settings, kept)
    return NightMonitoring(as_of, model_version, rows, alerts, path, note, blocked, baseline=kept)


def keep_baseline(settings: Settings, baseline: NightBaseline) -> None:
    """Keep a night fit to publish as what later nights compare with: its counts and its export's data end."""
    if baseline.counts is not None:
        _save_counts(settings, baseline.as_of, baseline.model_version, baseline.counts, baseline.phase)
    if baseline.data_end is not None:
        _save_data_end(settings, baseline.as_of, baseline.data_end)
