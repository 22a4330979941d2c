"""What a retention campaign achieved, measured against its random control group, with bootstrap intervals.

For each segment (by default campaign date x desk x tier x offer) of a campaign's members whose horizon
has passed (the caller filters), with T = treated (called) and C = control (held out, not called):

    churn_rate_x    = churners_x / n_x                                    (x in T, C)
    lift            = churn_rate_C - churn_rate_T                         (points of churn a call removed; > 0 good)
    relative_lift   = lift / churn_rate_C                                 (share of the control's churn removed)
    customers_saved = lift x n_T                                          (churners the calls prevented)
    value_saved     = (value_lost_C / n_C - value_lost_T / n_T) x n_T     (CNY; value_lost_x = x's churners' value)

T is everyone drawn to be called, reached or not (intention to treat: the effect of listing a customer
for a call, which is what a desk can choose); control rows carry the offer they would have been given, so a
per-offer row compares like with like. Sign: lift > 0 when calls keep customers (the generator's true
effects, treated minus control, carry the opposite sign). `value` is what a member is worth if kept
(models.retention.value_if_lost).
Intervals: percentile bootstrap, resampling treated and control separately (stratified: each replicate keeps
n_T and n_C). Resampling n rows of a group is drawn exactly as churners* ~ Binomial(n, churners / n), then
churners* values drawn with replacement from the group's churners (non-churners add no value lost), so
all segments and replicates are drawn at once without materialising resampled rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.control_groups import CONTROL, GROUPS

SEGMENT = ("campaign_date", "desk", "tier", "offer")
# the report's levels: the full breakdown, each campaign's desks, each campaign, everything
LEVELS: tuple[tuple[str, ...], ...] = (SEGMENT, ("campaign_date", "desk"), ("campaign_date",), ())
STATISTICS = ("lift", "relative_lift", "customers_saved", "value_saved")
_BOOT_BATCH = 250  # replicates drawn at a time: bounds memory at large campaigns


def _cells(members: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the segments' key values (one row per segment, in key order) and each member's cell id."""
    unknown = sorted(set(members["group"].astype("str").unique()) - set(GROUPS))
    if unknown:
        raise ValueError(f"group must be one of {GROUPS}; found {unknown}")
    if by:
        segment = members.groupby(list(by), dropna=False, sort=True).ngroup().to_numpy()
        keys = members.loc[:, list(by)].assign(_segment=segment).drop_duplicates("_segment").sort_values("_segment")
        keys = keys.drop(columns="_segment").reset_index(drop=True)
    else:
        segment = np.zeros(len(members), dtype="int64")
        keys = pd.DataFrame(index=pd.RangeIndex(1))
    control = (members["group"].astype("str") == CONTROL).to_numpy()
    return keys, 2 * segment + control.astype("int64")


def _statistics(n: np.ndarray, churners: np.ndarray, lost: np.ndarray) -> dict[str, np.ndarray]:
    """Return the four statistics from per-cell arrays shaped (2 x segments, ...): even = treated, odd = control."""
    n_t, n_c = n[0::2], n[1::2]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_t, rate_c = churners[0::2] / n_t, churners[1::2] / n_c
        lift = rate_c - rate_t
        value_gap = lost[1::2] / n_c - lost[0::2] / n_t
        return {
            "lift": lift,
            "relative_lift": np.where(rate_c > 0, lift / rate_c, np.nan),
            "customers_saved": lift * n_t,
            "value_saved": value_gap * n_t,
        }


def _replicates(
    n: np.ndarray, values: np.ndarray, starts: np.ndarray, churners: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return bootstrap churner counts and value lost per cell, shaped (cells, n_boot)."""
    cells = len(n)
    rate = np.divide(churners, n, out=np.zeros(cells), where=n > 0)
    counts = rng.binomial(n.astype("int64")[:, None], rate[:, None], size=(cells, n_boot))
    slot = np.repeat(np.arange(cells * n_boot), counts.ravel())  # one entry per resampled churner
    cell = slot // n_boot
    pick = starts[cell] + (rng.random(len(slot)) * churners[cell]).astype("int64")
    lost = np.bincount(slot, weights=values[pick], minlength=cells * n_boot).reshape(cells, n_boot)
    return counts.astype("float64"), lost


def campaign_effects(
    members: pd.DataFrame,
    by: Sequence[str] = SEGMENT,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Return one row per segment of `by` (`by=()`: one overall row): counts, churn rates, the four statistics
    and each one's bootstrap interval (`<statistic>_low`, `<statistic>_high`).

    `members`: one row per campaign member with `group` (treated / control), `churned` (bool, within the
    horizon), `value` (CNY lost if the member churns) and the `by` columns. NaN where a segment lacks a group.
    """
    keys, cell = _cells(members, by)
    cells = 2 * len(keys)
    churned = members["churned"].astype(bool).to_numpy()
    value = members["value"].astype("float64").fillna(0.0).to_numpy()
    n = np.bincount(cell, minlength=cells).astype("float64")
    churners = np.bincount(cell[churned], minlength=cells).astype("float64")
    order = np.argsort(cell[churned], kind="stable")
    values = value[churned][order]
    starts = np.concatenate([[0], np.cumsum(churners)[:-1]]).astype("int64")
    lost = np.bincount(cell[churned], weights=value[churned], minlength=cells)
    point = _statistics(n, churners, lost)

    rng = np.random.default_rng(seed)
    draws: dict[str, list[np.ndarray]] = {name: [] for name in STATISTICS}
    for batch in range(0, n_boot, _BOOT_BATCH):
        size = min(_BOOT_BATCH, n_boot - batch)
        boot_churners, boot_lost = _replicates(n, values, starts, churners, size, rng)
        for name, stat in _statistics(n[:, None], boot_churners, boot_lost).items():
            draws[name].append(stat)
    tail = (1.0 - level) / 2.0
    table = keys.assign(
        n_treated=n[0::2].astype("int64"),
        n_control=n[1::2].astype("int64"),
        churn_rate_treated=np.divide(churners[0::2], n[0::2], out=np.full(len(keys), np.nan), where=n[0::2] > 0),
        churn_rate_control=np.divide(churners[1::2], n[1::2], out=np.full(len(keys), np.nan), where=n[1::2] > 0),
    )
    for name in STATISTICS:
        replicates = np.concatenate(draws[name], axis=1)
        finite = np.isfinite(replicates).any(axis=1)
        low = np.full(len(keys), np.nan)
        high = np.full(len(keys), np.nan)
        if finite.any():
            low[finite], high[finite] = np.nanquantile(replicates[finite], [tail, 1.0 - tail], axis=1)
        table[name] = np.where(np.isfinite(point[name]), point[name], np.nan)
        table[f"{name}_low"] = low
        table[f"{name}_high"] = high
    return table


def campaign_effect_report(
    members: pd.DataFrame,
    levels: Sequence[Sequence[str]] = LEVELS,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Return `campaign_effects` at each of `levels` stacked, with `level` naming the breakdown ('overall' for ())
    and the key columns a level does not use left missing."""
    parts = [
        campaign_effects(members, by, n_boot, seed, level).assign(level=" x ".join(by) or "overall") for by in levels
    ]
    columns = list(dict.fromkeys(["level", *(c for by in levels for c in by)]))
    return pd.concat(parts, ignore_index=True).reindex(
        columns=[*columns, *(c for c in parts[0].columns if c not in columns)]
    )
