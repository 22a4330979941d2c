"""Churn in the last days of a matured night's horizon against what that night's scores promised there.

The whole-horizon churn rate (models.performance_estimate) dilutes a change that starts late in a
night's horizon: a price rise whose churn begins in the horizon's last days moves a 60-day rate by a
few percent, inside the noise of an unchanged world. The same leavers are plain in the last days
alone. So each matured night is also judged on the trailing windows of its horizon, the last 1, 2,
..., `max_days` days up to its end: per group, who of that night's scored customers left in the
window, against the count its calibrated scores promised there, sum(p) of the group x the window's
share of the horizon's churn.

That share is not days / horizon: churn is not spread evenly over a month, and not the same way in
every tier. In the generator voluntary leavers go on the 2nd to the last day of a month and
suspensions from the 21st (after the due day), so the 1st has none; suspensions are a third of the
high tier's leavers and almost none of the low tier's (200k x 24, seed 7: 215 of 606 high-tier
leavers in a horizon, 4 of 5,019 low), so the high tier's leavers come 2.6 times as often on the
21st-31st as on the 2nd-20th (1.07 times in the low tier). A real operator's churn follows bill and
contract dates the same way. Each horizon day weighs as its day of the month in the group's churn
calendar: the mean number of leavers per day of the month among the group's customers over the
horizons of the champion's training snapshots (`tier_calendars`, made at training and kept in its
reference profile): outcomes of the training period, never the horizon being judged. Without one
(a champion trained before it existed), the calendar of every leaver in the `profile_days` before
the night (`churn_calendar`), for every group.

The window with the largest Poisson z = (observed - expected) / sqrt(expected) is reported (among those
expecting at least `min_expected`); it alarms when z >= min_z, observed >= min_ratio x expected and
observed >= min_count. Only a rise alarms: fewer leavers than promised is reported by the
whole-horizon churn-rate rule, on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.performance_estimate import group_rows
from tiercast.settings.monitoring import RecentChurnSettings

DAYS_OF_MONTH = range(1, 32)
COLUMNS = ["group", "days", "first", "last", "observed", "expected", "z", "n", "level", "message"]


def churn_calendar(deactivations: pd.Series, first: date, last: date) -> pd.Series:
    """Return the mean number of deactivations per calendar day from `first` to `last` (both included) by day of
    the month (index 1..31; NaN for a day of the month the period does not have)."""
    days = pd.date_range(first, last, freq="D")
    left = pd.to_datetime(deactivations).dropna().dt.normalize()
    counts = left.value_counts().reindex(days, fill_value=0)
    return counts.groupby(days.day).mean().reindex(DAYS_OF_MONTH).astype("float64")


def tier_calendars(snapshots: pd.DataFrame, left_on: pd.Series, horizon_days: int) -> dict[str, tuple[float, ...]]:
    """Return per group ("all", then each tier in sorted order) the mean number of leavers per day of the month
    (1..31; NaN for one no horizon has) over the snapshots' horizons: who of a snapshot's customers (subscriber_id,
    as_of, tier) left on each day of (as_of, as_of + horizon_days]; `left_on`: each row's deactivation date."""
    as_of = pd.to_datetime(snapshots["as_of"]).reset_index(drop=True)
    left = pd.to_datetime(left_on).reset_index(drop=True)
    within = ((left - as_of).dt.days >= 1) & ((left - as_of).dt.days <= horizon_days)
    days = pd.concat([pd.Series(pd.date_range(d + pd.Timedelta(days=1), periods=horizon_days)) for d in as_of.unique()])
    occurrences = days.dt.day.value_counts().reindex(DAYS_OF_MONTH, fill_value=0).to_numpy(dtype="float64")
    dom = left[within].dt.day.to_numpy()
    tiers = snapshots["tier"].astype("str").reset_index(drop=True)[within].to_numpy()
    out = {}
    for name, rows in [("all", np.ones(dom.size, dtype=bool)), *((t, tiers == t) for t in sorted(set(tiers)))]:
        counts = np.bincount(dom[rows], minlength=32)[1:].astype("float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = tuple(np.where(occurrences > 0, counts / occurrences, np.nan).tolist())
    return out


def horizon_shares(night: date, horizon_days: int, calendar: pd.Series) -> np.ndarray:
    """Return each horizon day's (night + 1 .. night + horizon_days) share of the churn expected over the horizon:
    its day of the month's weight in `calendar` (the calendar's mean where it has none) over the horizon's total;
    evenly spread when the calendar has no deactivation."""
    days = pd.date_range(night + timedelta(days=1), periods=horizon_days, freq="D")
    fill = calendar.mean() if calendar.notna().any() else 0.0
    weights = calendar.reindex(days.day).fillna(fill).to_numpy(dtype="float64")
    total = weights.sum()
    return weights / total if total > 0 else np.full(horizon_days, 1.0 / horizon_days)


def _window(
    day: np.ndarray, p: np.ndarray, shares: np.ndarray, settings: RecentChurnSettings
) -> tuple[int, int, float, float]:
    """Return (days, observed, expected, z) of the trailing window with the largest z among those expecting at
    least `min_expected` (the longest window when none does)."""
    horizon = shares.size
    daily = np.bincount(day[(day >= 1) & (day <= horizon)], minlength=horizon + 1)[1:]
    last = min(settings.max_days, horizon)
    observed = np.cumsum(daily[::-1])[:last]
    expected = p.sum() * np.cumsum(shares[::-1])[:last]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (observed - expected) / np.sqrt(expected)
    eligible = expected >= settings.min_expected
    k = int(np.argmax(np.where(eligible, z, -np.inf))) if eligible.any() else last - 1
    return k + 1, int(observed[k]), float(expected[k]), float(z[k])


def recent_churn(
    left_on: pd.Series,
    scores: object,
    night: date,
    shares: Mapping[str, np.ndarray],
    settings: RecentChurnSettings,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Return group, days, first, last, observed, expected, z, n, level, message: per group (everyone first, then
    each tier) the trailing window of the horizon whose leavers stand out most from the scores' promise.

    `left_on`: each scored customer's deactivation date (NaT while active); `shares`: per group each horizon day's
    share of the horizon's churn (`horizon_shares`; "all"'s for a group without its own), its length the horizon.
    """
    p = np.asarray(scores, dtype="float64")
    left = pd.to_datetime(left_on).reset_index(drop=True)
    day = ((left - pd.Timestamp(night)).dt.days.fillna(0)).to_numpy(dtype="int64")
    horizon_end = pd.Timestamp(night) + pd.Timedelta(days=shares["all"].size)
    rows = []
    for name, rows_of in group_rows(p.size, groups):
        days, observed, expected, z = _window(day[rows_of], p[rows_of], shares.get(name, shares["all"]), settings)
        ratio = observed / expected - 1.0 if expected > 0 else math.nan
        alarm = (
            expected > 0
            and z >= settings.min_z
            and observed >= settings.min_ratio * expected
            and observed >= settings.min_count
        )
        first = horizon_end - pd.Timedelta(days=days - 1)
        span = "day" if days == 1 else f"{days} days"
        message = (
            f"{name}: {observed} left in the last {span} of the horizon ({first:%Y-%m-%d}..{horizon_end:%Y-%m-%d}) "
            f"against {expected:.1f} expected from that night's scores and the churn calendar "
            f"({ratio:+.0%}, z {z:.1f}): more leave now than the scores said"
            if alarm
            else ""
        )
        level = "significant" if alarm else "ok"
        rows.append((name, days, first, horizon_end, observed, expected, z, rows_of.size, level, message))
    return pd.DataFrame(rows, columns=COLUMNS)


def judged_recent_churn(
    scores: pd.DataFrame,
    leavers: pd.DataFrame,
    night: date,
    horizon_days: int,
    settings: RecentChurnSettings,
    calendars: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Return `recent_churn` of a night's kept scores (subscriber_id, churn_score and, when there, tier) with the
    leavers (subscriber_id, deactivation_date), each group's days weighed by its calendar in `calendars` (the
    champion's `tier_calendars`), a group without one by "all"'s; without calendars, "all"'s is the calendar of
    every leaver of the `profile_days` up to the night (`churn_calendar`)."""
    left = pd.to_datetime(leavers["deactivation_date"])
    before = churn_calendar(left, night - timedelta(days=settings.profile_days), night)
    weights = {
        name: pd.Series(list(values), index=DAYS_OF_MONTH, dtype="float64")
        for name, values in (calendars or {}).items()
    }
    weights.setdefault("all", before)
    shares = {name: horizon_shares(night, horizon_days, calendar) for name, calendar in weights.items()}
    left_on = scores["subscriber_id"].map(left.set_axis(leavers["subscriber_id"]))
    groups = scores["tier"] if "tier" in scores.columns else None
    return recent_churn(left_on, scores["churn_score"].to_numpy(), night, shares, settings, groups)
