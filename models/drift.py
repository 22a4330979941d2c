"""Input, score and mix drift: reference profiles, additive bin counts, PSI, broken-export guardrails.

A profile holds, per column, a fixed bin layout and the row counts per bin (the last bin is
"missing", so a column that is suddenly all missing shows in PSI), plus the sum, zero count and
range of its present values. Counts add up across shards: count each shard with `bin_counts`,
`merge_counts` the parts, and compare the sum with `drift_table`. The reference layout comes from
the champion's validation snapshot (`reference_profile`); yesterday's counts on that same layout
give the "against yesterday" comparison.

Numeric bins are right-closed, (-inf, e1], (e1, e2], ..., (ek, +inf), with the inner edges at the
quantiles of the reference taken as observed values (duplicates merged), so each value of a discrete
feature gets its own bin. A non-finite number (inf) counts as missing: the input contracts
quarantine it, and a profile must stay plain JSON. Categories under `rare_share` of the reference
are pooled into `__other__`, as is any category first seen after the reference.

A history-bound column counts items of a window (bills due in the credit window): on an export that
began less than a window before the reference was taken, the reference cannot hold its top values
and tonight, with the window full, would sit above them every night. Such a reference column carries
a `ceiling` (its largest value, `history_ceilings`) and tonight is compared with it as the reference
would have seen it: values above the ceiling counted at it (`comparable`). Lower values, where a
broken export shows (bills that stop arriving), are compared as they are.

A monthly table's latest month with few or no rows (a billing extract that failed) leaves its columns
counted on nothing: PSI and shares are NaN and no column rule can fire. `latest_period` compares that
month's rows with the month before's, and `data_end_table` an export's data end with the last night's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from tiercast.settings.monitoring import AlertSettings, GuardrailSettings, MonitoringSettings, ProfileSettings

MISSING = "__missing__"
OTHER = "__other__"
NUMERIC, CATEGORICAL = "numeric", "categorical"
FEATURE, SCORE, MIX = "feature", "score", "mix"
CELLS = "cells"  # a count table (segment x reason of tonight's contacts): tested cell by cell, not by PSI
PERIOD = "period"  # a monthly input table's rows in the month before its latest known month and in that month
# ... or a daily one's on each of its last WEEK days and the same weekdays a week before (`day_profile`)
WEEK = 7
LEVELS = ("ok", "moderate", "significant", "guardrail")
GUARDRAIL = "guardrail"


@dataclass(frozen=True)
class ColumnProfile:
    """One column's bin layout and counts: `counts` has one entry per bin, then one for missing."""

    name: str
    role: str  # feature, score (the churn probability) or mix (tier, lifecycle stage)
    kind: str  # numeric or categorical
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()  # numeric: inner bin edges; bins are right-closed
    categories: tuple[str, ...] = ()  # categorical: kept categories; OTHER is the last bin
    value_sum: float = 0.0  # numeric: sum, zero count and range of the present values
    zeros: int = 0
    minimum: float | None = None
    maximum: float | None = None
    # A reference column of a history shorter than its window: the largest value that history allowed
    # (`history_ceilings`); tonight's values above it are compared as this value (`comparable`).
    ceiling: float | None = None

    @property
    def rows(self) -> int:
        """Return the number of rows counted."""
        return sum(self.counts)

    @property
    def labels(self) -> tuple[str, ...]:
        """Return a readable name per bin, missing last."""
        if self.kind == CATEGORICAL:
            return (*self.categories, OTHER, MISSING)
        bounds = (-math.inf, *self.edges, math.inf)
        return (*(f"({lo:g}, {hi:g}]" for lo, hi in pairwise(bounds)), MISSING)

    @property
    def shares(self) -> np.ndarray:
        """Return the share of rows per bin (missing last); NaN when nothing was counted."""
        counts = np.asarray(self.counts, dtype="float64")
        return counts / self.rows if self.rows else np.full(len(counts), math.nan)

    @property
    def missing_share(self) -> float:
        """Return the share of rows with no value."""
        return self.counts[-1] / self.rows if self.rows else math.nan

    @property
    def mean(self) -> float:
        """Return the mean of the present values (NaN for a categorical column or none present)."""
        present = self.rows - self.counts[-1]
        return self.value_sum / present if self.kind == NUMERIC and present else math.nan

    @property
    def zero_share(self) -> float:
        """Return the share of present values equal to zero (NaN for a categorical column or none present)."""
        present = self.rows - self.counts[-1]
        return self.zeros / present if self.kind == NUMERIC and present else math.nan


@dataclass(frozen=True)
class ReferenceProfile:
    """Column profiles on one layout, plus the metrics of the model they describe (JSON via to_dict)."""

    columns: tuple[ColumnProfile, ...]
    metrics: Mapping[str, float] = field(default_factory=dict)
    # The same layout counted on snapshots at other days of the validation month (ISO date -> counts):
    # a night compares with the phase of the month closest to its own (see `closest_phase`).
    phases: Mapping[str, ReferenceProfile] = field(default_factory=dict)
    # Per group ("all", each tier) the mean leavers per day of the month (1..31) over the training snapshots'
    # horizons (models.recent_churn.tier_calendars): how the group's churn spreads over a month.
    churn_calendar: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def column(self, name: str) -> ColumnProfile:
        """Return the profile of column `name`."""
        return next(c for c in self.columns if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """Return a plain JSON dict (lists, str, int, float, None; a NaN metric is written as None)."""
        columns = [
            {**c.__dict__, "counts": list(c.counts), "edges": list(c.edges), "categories": list(c.categories)}
            for c in self.columns
        ]
        metrics = {k: float(v) if math.isfinite(v) else None for k, v in self.metrics.items()}
        phases = {day: phase.to_dict() for day, phase in self.phases.items()}
        calendar = {g: [v if math.isfinite(v) else None for v in days] for g, days in self.churn_calendar.items()}
        return {
            "columns": columns,
            "metrics": metrics,
            **({"phases": phases} if phases else {}),
            **({"churn_calendar": calendar} if calendar else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        """Return the profile written by `to_dict`."""
        columns = tuple(
            ColumnProfile(
                **{**c, "counts": tuple(c["counts"]), "edges": tuple(c["edges"]), "categories": tuple(c["categories"])}
            )
            for c in data["columns"]
        )
        metrics = {k: math.nan if v is None else float(v) for k, v in data.get("metrics", {}).items()}
        phases = {day: cls.from_dict(phase) for day, phase in data.get("phases", {}).items()}
        calendar = {
            g: tuple(math.nan if v is None else float(v) for v in days)
            for g, days in data.get("churn_calendar", {}).items()
        }
        return cls(columns=columns, metrics=metrics, phases=phases, churn_calendar=calendar)


def _numbers(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _numeric_counts(values: np.ndarray, layout: ColumnProfile) -> ColumnProfile:
    present = np.isfinite(values)
    x = values[present]
    bins = np.bincount(np.searchsorted(np.asarray(layout.edges), x, side="left"), minlength=len(layout.edges) + 1)
    return replace(
        layout,
        counts=(*(int(n) for n in bins), int(len(values) - x.size)),
        value_sum=float(x.sum()),
        zeros=int(np.count_nonzero(x == 0)),
        minimum=float(x.min()) if x.size else None,
        maximum=float(x.max()) if x.size else None,
    )


def _categorical_counts(series: pd.Series, layout: ColumnProfile) -> ColumnProfile:
    position = {name: i for i, name in enumerate(layout.categories)}
    bins = [0] * (len(layout.categories) + 1)
    for value, n in series.value_counts(dropna=True, sort=False).items():
        bins[position.get(str(value), len(layout.categories))] += int(n)
    return replace(layout, counts=(*bins, int(series.isna().sum())))


def column_counts(frame: pd.DataFrame, layout: ColumnProfile) -> ColumnProfile:
    """Return `layout` with the counts of its column in `frame` (a column absent from `frame` is all missing).

    Counts carry no ceiling: a ceiling describes the history of the reference they are compared with.
    """
    layout = replace(layout, ceiling=None)
    if layout.name not in frame.columns:
        missing = (0,) * (len(layout.counts) - 1) + (len(frame),)
        return replace(layout, counts=missing, value_sum=0.0, zeros=0, minimum=None, maximum=None)
    series = frame[layout.name]
    if layout.kind == NUMERIC:
        return _numeric_counts(_numbers(series), layout)
    return _categorical_counts(series, layout)


def history_ceilings(reference: ReferenceProfile, columns: Sequence[str], window: float) -> ReferenceProfile:
    """Return `reference` whose `columns` (history-bound counts, at most `window`) get a ceiling when no
    profile of it (the reference or a phase) reached `window`: each profile's own largest value.

    A column that reached the window somewhere was taken on a full history and is left as it is.
    """
    profiles = (reference, *reference.phases.values())
    names = {c.name for c in reference.columns}
    highs = {name: [p.column(name).maximum for p in profiles] for name in columns if name in names}
    short = {
        name for name, h in highs.items() if any(m is not None for m in h) and all(m is None or m < window for m in h)
    }

    def capped(profile: ReferenceProfile) -> ReferenceProfile:
        cols = tuple(replace(c, ceiling=c.maximum) if c.name in short else c for c in profile.columns)
        return replace(profile, columns=cols)

    return replace(capped(reference), phases={day: capped(p) for day, p in reference.phases.items()})


def _ceiling_bin(base: ColumnProfile) -> int | None:
    if base.ceiling is None or base.kind != NUMERIC:
        return None
    return int(np.searchsorted(np.asarray(base.edges), base.ceiling, side="left"))


def comparable(now: ColumnProfile, base: ColumnProfile) -> ColumnProfile:
    """Return `now` as `base` could have seen it: with a ceiling on `base`, the counts of the bins above the
    ceiling's bin added to that bin (values above the ceiling counted at it); else `now` itself."""
    top = _ceiling_bin(base)
    if top is None:
        return now
    bins = now.counts[:-1]
    folded = (*bins[:top], sum(bins[top:]), *(0 for _ in bins[top + 1 :]), now.counts[-1])
    return replace(now, counts=folded)


def above_ceiling(current: ReferenceProfile, baseline: ReferenceProfile) -> list[tuple[str, float, float]]:
    """Return (column, share of `current`'s rows above the baseline's ceiling, ceiling) for every column of
    `baseline` with a ceiling that `current` exceeds (the rows `comparable` counts at the ceiling)."""
    out = []
    for now, base in zip(current.columns, baseline.columns, strict=True):
        top = _ceiling_bin(base)
        above = sum(now.counts[top + 1 : -1]) if top is not None else 0
        if above and base.ceiling is not None:
            out.append((now.name, above / now.rows, base.ceiling))
    return out


def _layout(name: str, series: pd.Series, role: str, settings: ProfileSettings) -> ColumnProfile:
    """Return an empty layout for one column: quantile edges, or the categories kept (in category order)."""
    if role not in (MIX, CELLS) and _is_numeric(series):
        values = _numbers(series)
        values = values[np.isfinite(values)]
        quantiles = np.arange(1, settings.bins) / settings.bins
        edges = np.unique(np.quantile(values, quantiles, method="inverted_cdf")) if values.size else np.array([])
        return ColumnProfile(name, role, NUMERIC, (0,) * (edges.size + 2), edges=tuple(map(float, edges)))
    shares = series.value_counts(dropna=True, sort=False) / max(len(series), 1)
    floor = 0.0 if role in (MIX, CELLS) else settings.rare_share
    kept = [str(v) for v, s in shares.items() if s >= floor and s > 0]
    if not isinstance(series.dtype, pd.CategoricalDtype):
        kept.sort()
    return ColumnProfile(name, role, CATEGORICAL, (0,) * (len(kept) + 2), categories=tuple(kept))


def reference_profile(
    frame: pd.DataFrame,
    settings: ProfileSettings,
    features: Sequence[str],
    score: str | None = None,
    mixes: Sequence[str] = (),
    metrics: Mapping[str, float] | None = None,
) -> ReferenceProfile:
    """Return the reference profile of `frame` (the champion's validation snapshot) with its counts."""
    roles = [(name, FEATURE) for name in features] + ([(score, SCORE)] if score else []) + [(m, MIX) for m in mixes]
    layouts = tuple(_layout(name, frame[name], role, settings) for name, role in roles)
    return replace(bin_counts(frame, ReferenceProfile(layouts)), metrics=dict(metrics or {}))


def bin_counts(frame: pd.DataFrame, reference: ReferenceProfile) -> ReferenceProfile:
    """Return the counts of `frame` (e.g. one shard) on the reference's layout, without metrics."""
    return ReferenceProfile(tuple(column_counts(frame, layout) for layout in reference.columns))


def _same_layout(a: ColumnProfile, b: ColumnProfile) -> bool:
    return (a.name, a.role, a.kind, a.edges, a.categories) == (b.name, b.role, b.kind, b.edges, b.categories)


def same_layout(a: ReferenceProfile, b: ReferenceProfile) -> bool:
    """Return whether two profiles have the same columns and bins (so their counts can be added or compared)."""
    return len(a.columns) == len(b.columns) and all(map(_same_layout, a.columns, b.columns))


def _merge_column(parts: Sequence[ColumnProfile]) -> ColumnProfile:
    lows = [p.minimum for p in parts if p.minimum is not None]
    highs = [p.maximum for p in parts if p.maximum is not None]
    return replace(
        parts[0],
        counts=tuple(int(n) for n in np.sum([p.counts for p in parts], axis=0)),
        value_sum=float(math.fsum(p.value_sum for p in parts)),
        zeros=sum(p.zeros for p in parts),
        minimum=min(lows) if lows else None,
        maximum=max(highs) if highs else None,
    )


def merge_counts(parts: Sequence[ReferenceProfile]) -> ReferenceProfile:
    """Return the sum of per-shard counts on one layout (the metrics of the first part are kept)."""
    if not parts or not all(same_layout(parts[0], p) for p in parts):
        raise ValueError("merge_counts needs at least one profile, all on the same layout")
    columns = tuple(_merge_column(column) for column in zip(*(p.columns for p in parts), strict=True))
    return ReferenceProfile(columns, metrics=parts[0].metrics)


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, epsilon: float) -> float:
    """Return the population stability index sum((a - e) * ln(a / e)) over bins.

    Both shares are floored at `epsilon` (not renormalised), so a bin empty on one side adds a finite
    (a - epsilon) * ln(a / epsilon) instead of infinity, and a bin empty on both sides adds nothing.
    """
    e = np.maximum(np.asarray(expected, dtype="float64"), epsilon)
    a = np.maximum(np.asarray(actual, dtype="float64"), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def _pct(share: float) -> str:
    return f"{share:.1%}".replace(".0%", "%")


def _jumped(now: float, before: float, share: float, jump: float) -> bool:
    return bool(now >= share and (math.isnan(before) or now - before >= jump))


def cell_jump(now: ColumnProfile, base: ColumnProfile, settings: MonitoringSettings) -> tuple:
    """Return ("cell_jump", z, expected, level, message) for the cell of a count table that rose most.

    Each cell's expected count is its share of the baseline times tonight's total; z = (observed -
    expected) / sqrt(expected), expected floored at 1. An alarm needs all of contact_mix's min_count,
    min_ratio and min_z.
    """
    cells = np.asarray(now.counts[:-1], dtype="float64")
    reference = np.asarray(base.counts[:-1], dtype="float64")
    if not cells.sum() or not reference.sum() or settings.contact_mix is None:
        return ("cell_jump", math.nan, math.nan, "ok", "")
    expected = np.maximum(reference / reference.sum() * cells.sum(), 1.0)
    z = (cells - expected) / np.sqrt(expected)
    worst = int(np.argmax(z))
    rule = settings.contact_mix
    alarm = (
        cells[worst] >= rule.min_count and cells[worst] >= rule.min_ratio * expected[worst] and z[worst] >= rule.min_z
    )
    label = now.labels[worst]
    message = (
        f"{now.name}: {label} {cells[worst]:.0f} tonight, {expected[worst]:.1f} expected from the reference's "
        f"shares ({cells[worst] / expected[worst]:.1f}x, z {z[worst]:.1f})"
        if alarm
        else ""
    )
    return ("cell_jump", float(z[worst]), float(expected[worst]), "significant" if alarm else "ok", message)


def _rows(now: ColumnProfile, base: ColumnProfile, settings: MonitoringSettings, baseline: str) -> list[tuple]:
    """Return (metric, value, reference, level, message) rows for one column."""
    if now.role == CELLS:  # one night's counts against the reference's shares; noise against yesterday's night
        return [] if baseline == "yesterday" else [cell_jump(now, base, settings)]
    name, guard, levels = now.name, settings.guardrail, settings.psi
    value = psi(base.shares, comparable(now, base).shares, levels.epsilon)
    level = "significant" if value >= levels.significant else "moderate" if value >= levels.moderate else "ok"
    message = f"{name}: PSI {value:.3f} against {baseline} ({level})" if level != "ok" else ""
    rows: list[tuple] = [("psi", value, math.nan, level, message)]
    m_now, m_base = now.missing_share, base.missing_share
    broken = _jumped(m_now, m_base, guard.all_missing_share, guard.missing_jump)
    message = f"{name}: {_pct(m_now)} missing tonight ({baseline} {_pct(m_base)})" if broken else ""
    rows.append(("missing_share", m_now, m_base, GUARDRAIL if broken else "ok", message))
    if now.kind != NUMERIC:
        return rows
    z_now, z_base = now.zero_share, base.zero_share
    broken = _jumped(z_now, z_base, guard.all_zero_share, guard.zero_jump)
    message = f"{name}: {_pct(z_now)} zero tonight ({baseline} {_pct(z_base)})" if broken else ""
    rows.append(("zero_share", z_now, z_base, GUARDRAIL if broken else "ok", message))
    mean, base_mean = now.mean, base.mean
    # An order of magnitude is only meaningful for a non-negative measure (an amount, a count, a share), and only
    # where the baseline's share of non-zero values puts enough of them in tonight's rows: the mean of a handful
    # of non-zero values (a sparse column in a small base) moves tenfold by chance.
    scaled = base.minimum is not None and base.minimum >= 0 and base_mean > 0 and not math.isnan(mean)
    ratio = mean / base_mean if scaled else math.nan
    expected = (1 - z_base) * (now.rows - now.counts[-1]) if scaled else 0.0  # non-zero values tonight, as then
    broken = scaled and expected >= guard.mean_min_nonzero and not 1 / guard.mean_ratio <= ratio <= guard.mean_ratio
    message = f"{name}: mean {mean:.4g} tonight, {ratio:.3g}x the {baseline} mean {base_mean:.4g}" if broken else ""
    rows.append(("mean", mean, base_mean, GUARDRAIL if broken else "ok", message))
    return rows


def drift_table(
    current: ReferenceProfile, baseline: ReferenceProfile, settings: MonitoringSettings, against: str = "reference"
) -> pd.DataFrame:
    """Return one row per column x metric: feature, role, metric, against, value, reference, level, message.

    Metrics: psi (reference NaN), missing_share, and for numeric columns zero_share (of present
    values) and mean, each with the baseline's value in `reference`; psi of a column with a ceiling in the
    baseline counts tonight's values above it at the ceiling (`comparable`). Levels: psi is ok / moderate /
    significant by `settings.psi`; missing_share, zero_share and mean are `guardrail` when they look
    like a broken export (`settings.guardrail`), else ok; `message` names the column when not ok.
    """
    if not same_layout(current, baseline):
        raise ValueError("drift_table compares counts on one layout: count both with bin_counts(frame, reference)")
    rows = [
        (now.name, now.role, metric, against, value, reference, level, message)
        for now, base in zip(current.columns, baseline.columns, strict=True)
        for metric, value, reference, level, message in _rows(now, base, settings, against)
    ]
    return _table(rows)


def _table(rows: list[tuple]) -> pd.DataFrame:
    columns = ["feature", "role", "metric", "against", "value", "reference", "level", "message"]
    return pd.DataFrame(rows, columns=columns).astype({"value": "float64", "reference": "float64"})


def period_profile(name: str, months: tuple[str, str], rows: tuple[int, int]) -> ColumnProfile:
    """Return a monthly table's rows in the month before its latest known month and in that month (`months`,
    e.g. ("2026-09", "2026-10")) as a PERIOD profile: counts that add up across shards (`merge_counts`)."""
    return ColumnProfile(name, PERIOD, CATEGORICAL, (int(rows[0]), int(rows[1]), 0, 0), categories=months)


def day_profile(name: str, days: tuple[str, ...], rows: tuple[int, ...]) -> ColumnProfile:
    """Return a daily table's rows on each of the last `WEEK` days and on the same weekdays a week before (`days`:
    ISO dates, oldest first, 2 x WEEK of them) as a PERIOD profile whose counts add up across shards."""
    if len(days) != 2 * WEEK or len(rows) != 2 * WEEK:
        raise ValueError(f"a day profile counts {2 * WEEK} days, not {len(days)}")
    return ColumnProfile(name, PERIOD, CATEGORICAL, (*(int(n) for n in rows), 0, 0), categories=days)


def latest_days(now: ColumnProfile, settings: GuardrailSettings) -> tuple:
    """Return ("latest_days", the worst day's rows, its weekday's rows a week before, level, message): a guardrail
    when one of the last WEEK days holds under `latest_day_share` of the same weekday a week before (comparing
    like weekdays: Monday is the heaviest day), judged only where that day had `latest_day_min_rows` rows (a small
    base's days are noise); an extract that stopped early or skipped a day, which column shares cannot see."""
    counts, floor = now.counts[: 2 * WEEK], settings.latest_day_share or 0.0
    pairs = [(now.categories[i], counts[i], now.categories[i + WEEK], counts[i + WEEK]) for i in range(WEEK)]
    judged = [p for p in pairs if p[1] >= settings.latest_day_min_rows]
    if not judged:
        return ("latest_days", float(counts[-1]), float(counts[WEEK - 1]), "ok", "")
    worst = min(judged, key=lambda p: p[3] / p[1])
    short = [p for p in judged if p[3] < floor * p[1]]
    message = (
        f"{now.name}: "
        + "; ".join(
            f"{n:,} rows on {day} ({_weekday(day)}) tonight, {_pct(n / b)} of the {b:,} on {before}"
            for before, b, day, n in short[-3:]
        )
        + f" (at least {_pct(floor)} of the same weekday a week before, guardrail.latest_day_share): "
        + "the latest days are missing or cut short"
        if short
        else ""
    )
    return ("latest_days", float(worst[3]), float(worst[1]), GUARDRAIL if short else "ok", message)


def _weekday(day: str) -> str:
    return date.fromisoformat(day).strftime("%a")


def latest_period(now: ColumnProfile, settings: GuardrailSettings) -> tuple:
    """Return ("latest_period", the latest month's rows, the month before's rows, level, message): a guardrail
    when the latest month holds under `latest_period_share` of the month before's rows (an extract that failed
    or was cut short; the month's columns are then counted on few or no rows, where shares and PSI say nothing)."""
    before, latest = now.counts[0], now.counts[1]
    floor = settings.latest_period_share or 0.0
    broken = before > 0 and latest < floor * before
    message = (
        f"{now.name}: {latest:,} rows for {now.categories[1]} tonight, {_pct(latest / before)} of the {before:,} "
        f"for {now.categories[0]} (at least {_pct(floor)}, guardrail.latest_period_share): the latest month is "
        "missing or cut short"
        if broken
        else ""
    )
    return ("latest_period", float(latest), float(before), GUARDRAIL if broken else "ok", message)


def period_table(current: ReferenceProfile, settings: GuardrailSettings) -> pd.DataFrame:
    """Return one `latest_period` row (drift_table's columns, against "previous month") per PERIOD column."""
    rows = [
        (now.name, now.role, metric, against, value, reference, level, message)
        for now in current.columns
        if now.role == PERIOD
        for against, rule in [("a week before", latest_days) if _daily(now) else ("previous month", latest_period)]
        for metric, value, reference, level, message in [rule(now, settings)]
    ]
    return _table(rows)


def _daily(column: ColumnProfile) -> bool:
    """Whether a PERIOD column counts days (`day_profile`), not a month and the month before (`period_profile`)."""
    return len(column.categories) == 2 * WEEK


def data_end_table(name: str, data_end: date, night: date, night_end: date) -> pd.DataFrame:
    """Return one `data_end` row (drift_table's columns): the days tonight's export ends before the data end of
    the export the last recorded night (`night`) read, `night_end`; a guardrail when it ends earlier (the latest
    month went missing: a nightly left to the export's data end would publish an older table with no alarm)."""
    days = (night_end - data_end).days
    broken = days > 0
    message = (
        f"{name}: tonight's export ends on {data_end}, {days} days before the {night_end} of the export the "
        f"night of {night} read: a month it held is missing"
        if broken
        else ""
    )
    against = f"night of {night}"
    return _table([(name, PERIOD, "data_end", against, float(days), 0.0, GUARDRAIL if broken else "ok", message)])


def closest_phase(
    current: ReferenceProfile, reference: ReferenceProfile, settings: MonitoringSettings
) -> tuple[str, ReferenceProfile]:
    """Return the reference phase ("" for the reference itself, else its ISO date) whose counts are
    closest to `current`: the smallest total PSI over all columns.

    A calendar-driven column (bills due so far in the window, days since the last bill) has one value
    before a month's due day and another after it; a night compared with a month-end reference only
    would alarm twice a month on nothing. Choosing the closest phase cannot hide a broken export or a
    real shift: those are far from every phase.
    """
    candidates = {"": reference, **reference.phases}
    epsilon = settings.psi.epsilon

    def distance(item: tuple[str, ReferenceProfile]) -> float:
        pairs = zip(current.columns, item[1].columns, strict=True)
        values = [psi(b.shares, comparable(c, b).shares, epsilon) for c, b in pairs]
        return float(np.nansum(values))  # a column counted on no rows (NaN shares) says nothing

    day, phase = min(((d, p) for d, p in candidates.items() if same_layout(p, current)), key=distance)
    return day, phase


def frame_drift(
    frame: pd.DataFrame, reference: ReferenceProfile, settings: MonitoringSettings, against: str = "reference"
) -> pd.DataFrame:
    """Return `drift_table` of `frame` (counted on the reference's layout) against the reference."""
    return drift_table(bin_counts(frame, reference), reference, settings, against)


def alert_rows(table: pd.DataFrame, settings: AlertSettings) -> pd.DataFrame:
    """Return the rows of a drift or performance table whose level alerts (`settings.levels`)."""
    return table.loc[table["level"].isin(settings.levels)]


def blocks_publish(table: pd.DataFrame, settings: AlertSettings) -> bool:
    """Return whether tonight must not publish: any guardrail, or any alert when model drift blocks."""
    levels = set(table["level"])
    return GUARDRAIL in levels or (settings.model_drift == "block" and bool(levels & set(settings.levels)))
