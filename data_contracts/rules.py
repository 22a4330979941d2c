"""Named row rules that contract YAML files refer to under `row_rules:`.

Each rule is implemented once, here, as a vectorized function `rule(table, ctx, **params)` that
returns a boolean Series aligned with `table`: True where the row passes. `params` come from the
YAML entry (`{name: ..., params: {...}}`). A rule that looks rows up in another table declares it
with `@rule(needs=(...))` and reads it through `ctx`, which holds the CLEAN parent tables (rows
already quarantined there are absent, so their children fail too). The loader refuses a YAML that
names a rule missing from `RULES` or passes it parameters it does not take.

Rows with a null in a non-nullable column are reported only under `<column>:not_null`, so a rule
never has to guard against nulls in required columns; nullable columns it must handle itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from pandas.api.extensions import take

RuleFn = Callable[..., pd.Series]

# Sub-cent differences from rounding each part of a bill separately are not errors.
ROUNDING_CNY = 0.01


@dataclass(frozen=True)
class RuleFunction:
    """A registered rule: the function and the tables it looks rows up in."""

    fn: RuleFn
    needs: tuple[str, ...] = ()


RULES: dict[str, RuleFunction] = {}


def rule(needs: Sequence[str] = ()) -> Callable[[RuleFn], RuleFn]:
    """Register the decorated function in RULES under its own name."""

    def register(fn: RuleFn) -> RuleFn:
        RULES[fn.__name__] = RuleFunction(fn=fn, needs=tuple(needs))
        return fn

    return register


def key_codes(parent: pd.DataFrame, on: Sequence[str], child: pd.DataFrame | None = None) -> KeyCodes | None:
    """Pack the key columns `on` into one int64 code per row (child codes -1 where no parent row can match).

    Integer and bool columns pack by offset from the parent's minimum, datetime and text columns by
    their distinct values (a few bill months; text subscriber ids). Returns None when a column is of
    another type or holds nulls, or the codes do not fit in int64; callers then fall back on pandas. Packed keys avoid
    hashing millions of (subscriber_id, bill_month) tuples.
    """
    parent_codes = np.zeros(len(parent), dtype=np.int64)
    child_codes = np.zeros(0 if child is None else len(child), dtype=np.int64)
    missing = np.zeros(len(child_codes), dtype=bool)
    radix = 1
    for column in on:
        values = parent[column]
        theirs = None if child is None else child[column]
        if len(values) == 0 or not _packable(values) or (theirs is not None and not _packable(theirs)):
            return None
        if values.dtype.kind == "M" or _is_text(values):
            codes, uniques = pd.factorize(values)
            size = len(uniques)
            found = None if theirs is None else pd.Index(uniques).get_indexer(theirs)
        else:
            as_int = values.to_numpy().astype(np.int64, copy=False)
            low = int(as_int.min())
            size = int(as_int.max()) - low + 1
            codes = as_int - low
            found = None if theirs is None else theirs.to_numpy().astype(np.int64) - low
            if found is not None:
                found[(found < 0) | (found >= size)] = -1
        radix *= size
        if radix >= 2**62:
            return None
        parent_codes = parent_codes * size + codes
        if found is not None:
            missing |= found < 0
            child_codes = child_codes * size + np.maximum(found, 0)
    child_codes[missing] = -1
    return KeyCodes(parent_codes, child_codes, radix)


def _packable(values: pd.Series) -> bool:
    return (values.dtype.kind in "iubM" or _is_text(values)) and not values.hasnans


def _is_text(values: pd.Series) -> bool:
    """True for a text column (text subscriber ids pack by their distinct values, like dates)."""
    return isinstance(values.dtype, pd.StringDtype)


@dataclass(frozen=True)
class KeyCodes:
    """Packed keys of a parent table and (optionally) of a child table, comparable with each other."""

    parent: np.ndarray
    child: np.ndarray
    radix: int  # codes are in [0, radix)

    @property
    def dense(self) -> bool:
        """True when a table indexed by code (radix entries) is small enough to use instead of hashing."""
        return self.radix <= max(4 * len(self.parent), 1 << 20)

    def parent_is_unique(self) -> bool:
        """True when no two parent rows share a code."""
        if self.dense:
            return bool(np.bincount(self.parent, minlength=self.radix).max(initial=0) <= 1)
        ordered = np.sort(self.parent)
        return not bool((ordered[1:] == ordered[:-1]).any())

    def child_positions(self) -> np.ndarray:
        """Return, per child row, the position of the parent row with the same code (-1 if none)."""
        if not self.dense:
            return np.asarray(pd.Index(self.parent).get_indexer(self.child))
        table = np.full(self.radix + 1, -1, dtype=np.int64)  # last entry answers code -1
        table[self.parent] = np.arange(len(self.parent))
        return table[self.child]


@dataclass
class RuleContext:
    """Clean parent tables for the rules of one child table, with cached row look-ups."""

    parents: Mapping[str, pd.DataFrame]
    _positions: dict[tuple[str, tuple[str, ...]], np.ndarray] = field(default_factory=dict)
    data_end: date | None = None  # the last day the export's data covers (pipelines/data_end.py)

    def positions(self, child: pd.DataFrame, parent: str, on: Sequence[str]) -> np.ndarray:
        """Return, per child row, the position of the parent row with the same key `on` (-1 if none).

        The parent's key must be unique (it is its primary key).
        """
        key = (parent, tuple(on))
        if key not in self._positions:
            table = self.parents[parent]
            codes = key_codes(table, on, child)
            if codes is not None:
                found = codes.child_positions()
            else:
                found = pd.MultiIndex.from_frame(table[list(on)]).get_indexer(pd.MultiIndex.from_frame(child[list(on)]))
            self._positions[key] = np.asarray(found)
        return self._positions[key]

    def lookup(self, child: pd.DataFrame, parent: str, on: Sequence[str], values: str | pd.Series) -> pd.Series:
        """Return, per child row, the parent row's `values` (a column name, or a Series aligned with the parent).

        NaN/NaT where the parent row is absent. Derive from the parent before looking up: it is smaller.
        """
        found = self.positions(child, parent, on)
        source = self.parents[parent][values] if isinstance(values, str) else values
        return pd.Series(take(source.to_numpy(), found, allow_fill=True), index=child.index)


def _per_value(dates: pd.Series, convert: Callable[[np.ndarray], np.ndarray]) -> pd.Series:
    """Apply a numpy date conversion once per distinct value (bill months repeat millions of times)."""
    codes, uniques = pd.factorize(dates)
    converted = convert(np.asarray(uniques.to_numpy()))
    return pd.Series(take(converted, codes, allow_fill=True), index=dates.index)


def _floor(dates: pd.Series, unit: str) -> pd.Series:
    """Dates floored to the start of their day ("D") or month ("M"), in the input's dtype (NaT stays NaT)."""
    values = dates.to_numpy()
    return pd.Series(values.astype(f"datetime64[{unit}]").astype(values.dtype), index=dates.index)


def _month_start(dates: pd.Series) -> pd.Series:
    """First day (midnight) of each date's month."""
    return _per_value(dates, lambda values: values.astype("datetime64[M]").astype(values.dtype))


def _month_end(dates: pd.Series) -> pd.Series:
    """Last day (midnight) of each date's month."""

    def last_day(values: np.ndarray) -> np.ndarray:
        months = values.astype("datetime64[M]")
        return ((months + 1).astype("datetime64[D]") - np.timedelta64(1, "D")).astype(values.dtype)

    return _per_value(dates, last_day)


# ---- any table -----------------------------------------------------------------------------


@rule()
def future_dated(table: pd.DataFrame, ctx: RuleContext, column: str, slack_days: int = 0) -> pd.Series:
    """`column` is not after the export's data end + `slack_days` (passes when either is unknown or absent).

    A bill for 2031 in an export ending 2026-10 is a typo, not news from the future.
    """
    if ctx.data_end is None or column not in table.columns:
        return pd.Series(True, index=table.index)
    limit = pd.Timestamp(ctx.data_end) + pd.Timedelta(days=slack_days + 1)  # any time on the last allowed day
    values = table[column]
    return values.isna() | (values < limit)


# ---- subscribers ---------------------------------------------------------------------------


@rule()
def deactivation_not_before_activation(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """deactivation_date is on or after activation_date (null: still active, passes)."""
    return table["deactivation_date"].isna() | (table["deactivation_date"] >= table["activation_date"])


@rule()
def reason_iff_deactivated(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """deactivation_reason is set exactly when deactivation_date is set."""
    return table["deactivation_reason"].isna() == table["deactivation_date"].isna()


@rule()
def contract_end_only_for_contracts(
    table: pd.DataFrame, ctx: RuleContext, contract_types: Sequence[str] = ("contract_12m", "contract_24m")
) -> pd.Series:
    """contract_end_date is set exactly for the `contract_types` lines (passes when the export lacks either column)."""
    if not {"contract_end_date", "contract_type"} <= set(table.columns):
        return pd.Series(True, index=table.index)
    return table["contract_end_date"].notna() == table["contract_type"].isin(list(contract_types))


# ---- bills ---------------------------------------------------------------------------------


@rule()
def bill_month_is_first_day(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """bill_month is the first day (midnight) of a month."""
    return table["bill_month"] == _month_start(table["bill_month"])


@rule()
def parts_within_amount(
    table: pd.DataFrame,
    ctx: RuleContext,
    parts: Sequence[str] = ("data_amount", "long_distance_amount", "roaming_amount", "value_added_amount"),
    tolerance: float = ROUNDING_CNY,
) -> pd.Series:
    """The itemised `parts` the export carries add up to no more than amount (+ tolerance)."""
    present = [part for part in parts if part in table.columns]
    if not present:
        return pd.Series(True, index=table.index)
    total = sum(table[part].to_numpy() for part in present)
    return pd.Series(total <= table["amount"].to_numpy() + tolerance, index=table.index)


@rule(needs=("subscribers",))
def known_subscriber(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """subscriber_id exists among the clean subscribers."""
    return pd.Series(ctx.positions(table, "subscribers", ["subscriber_id"]) >= 0, index=table.index)


@rule(needs=("subscribers",))
def billed_while_active(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """bill_month is neither before the activation month nor after the deactivation month.

    Passes when the subscriber is unknown (that row fails known_subscriber instead).
    """
    subscribers = ctx.parents["subscribers"]
    first = ctx.lookup(table, "subscribers", ["subscriber_id"], _month_start(subscribers["activation_date"]))
    last = ctx.lookup(table, "subscribers", ["subscriber_id"], _month_start(subscribers["deactivation_date"]))
    month = table["bill_month"]
    after_start = first.isna() | (month >= first)
    before_end = last.isna() | (month <= last)
    return after_start & before_end


# ---- payments ------------------------------------------------------------------------------


@rule()
def due_after_bill_month(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """due_date is after the last day of bill_month."""
    return table["due_date"] > _month_end(table["bill_month"])


@rule()
def paid_not_before_bill(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """paid_date is not before the last day of bill_month, when the bill is issued (null: unpaid, passes)."""
    return table["paid_date"].isna() | (table["paid_date"] >= _month_end(table["bill_month"]))


@rule()
def unpaid_has_no_amount(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """amount_paid is 0 when paid_date is null."""
    return table["paid_date"].notna() | (table["amount_paid"] == 0)


@rule(needs=("bills",))
def known_bill(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """(subscriber_id, bill_month) exists among the clean bills."""
    return pd.Series(ctx.positions(table, "bills", ["subscriber_id", "bill_month"]) >= 0, index=table.index)


@rule(needs=("bills",))
def paid_within_bill(table: pd.DataFrame, ctx: RuleContext, tolerance: float = ROUNDING_CNY) -> pd.Series:
    """amount_paid is at most the bill's amount (+ tolerance); passes when the bill is unknown."""
    billed = ctx.lookup(table, "bills", ["subscriber_id", "bill_month"], "amount")
    return billed.isna() | (table["amount_paid"] <= billed + tolerance)


# ---- contacts ------------------------------------------------------------------------------


@rule(needs=("subscribers",))
def contact_while_customer(table: pd.DataFrame, ctx: RuleContext, grace_days: int = 90) -> pd.Series:
    """contact_time is on or after activation day and at most `grace_days` days after deactivation day.

    Passes when the subscriber is unknown (that row fails known_subscriber instead).
    """
    subscribers = ctx.parents["subscribers"]
    first = ctx.lookup(table, "subscribers", ["subscriber_id"], _floor(subscribers["activation_date"], "D"))
    grace = pd.Timedelta(days=grace_days)
    last = ctx.lookup(table, "subscribers", ["subscriber_id"], _floor(subscribers["deactivation_date"], "D") + grace)
    day = _floor(table["contact_time"], "D")
    after_start = first.isna() | (day >= first)
    before_end = last.isna() | (day <= last)
    return after_start & before_end


@rule()
def abandoned_only_on_voice(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """abandoned is true only for voice contacts (passes when the export has no abandoned flag)."""
    if "abandoned" not in table.columns:
        return pd.Series(True, index=table.index)
    return ~table["abandoned"] | (table["channel"] == "voice")


# ---- campaigns -----------------------------------------------------------------------------


@rule()
def control_not_called(table: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """A control row has no called_at and no outcome; a treated row with called_at has an outcome.

    Passes for a column the export lacks (nothing to contradict).
    """
    called = table["called_at"].notna() if "called_at" in table.columns else pd.Series(False, index=table.index)
    answered = table["outcome"].notna() if "outcome" in table.columns else called
    control = table["group"] == "control"
    return (control & ~called & ~answered) | (~control & (answered | ~called))


@rule()
def called_after_campaign_date(table: pd.DataFrame, ctx: RuleContext, max_days: int = 62) -> pd.Series:
    """called_at is on or after campaign_date and at most `max_days` days after it (null: not called, passes)."""
    if "called_at" not in table.columns:
        return pd.Series(True, index=table.index)
    day = _floor(table["called_at"], "D")
    start = table["campaign_date"]
    return day.isna() | ((day >= start) & (day <= start + pd.Timedelta(days=max_days)))
