"""Checks a new publication must pass before readers are switched to it.

Each failure raises GuardrailError with a message saying what was found, what was required and
which setting decides it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from data_contracts.loader import ContractError, validate_output, validate_shape
from tiercast.errors import PublicationError
from tiercast.settings.publish import Guardrails

if TYPE_CHECKING:
    from pipelines.publish import Publication


class GuardrailError(PublicationError, ValueError):
    """The new publication failed a check; it was not switched live."""


@dataclass(frozen=True)
class TableStats:
    """What a new version holds: its rows as counted by the database, and the tier shares and invalid churn scores
    of the rows sent into it (the same rows when the counts agree, which `check_guardrails` requires)."""

    rows: int
    tier_mix: dict[str, float]
    invalid_scores: int


@dataclass
class SentRows:
    """Counts of the tier table's rows as they are sent to the database, part by part: rows, rows per tier and
    churn scores that are missing, NaN or outside [0, 1] (which the contract refuses before; counted again here,
    on the values written, so that the guardrail does not rest on one check alone)."""

    rows: int = 0
    per_tier: Counter[str] = field(default_factory=Counter)
    invalid_scores: int = 0

    def add(self, part: pd.DataFrame) -> None:
        """Count one part."""
        score = part["churn_score"].to_numpy(dtype=float, na_value=np.nan)
        self.rows += len(part)
        self.per_tier.update({str(tier): int(n) for tier, n in part["tier"].value_counts().items()})
        self.invalid_scores += int(len(score) - np.count_nonzero((score >= 0) & (score <= 1)))

    def stats(self, written: int) -> TableStats:
        """Return the stats of a version into which these rows were sent and that holds `written` rows."""
        mix = {tier: round(n / self.rows, 6) for tier, n in sorted(self.per_tier.items()) if n} if self.rows else {}
        return TableStats(rows=written, tier_mix=mix, invalid_scores=self.invalid_scores)


def check_contract(frame: pd.DataFrame, name: str) -> None:
    """Raise GuardrailError unless `frame` matches data_contracts/<name>.yaml exactly (columns, dtypes, checks).

    No failing values are quoted in the message: it is logged and stored in the registry.
    """
    try:
        validate_output(frame, name, examples=0)
    except ContractError as exc:
        raise GuardrailError(str(exc).split("\nexamples:")[0]) from exc


def check_schema(frame: pd.DataFrame, name: str) -> None:
    """Raise GuardrailError unless `frame` has exactly the columns and dtypes of data_contracts/<name>.yaml.

    The first half of `check_contract`, with the same messages (naming each wrong column), for a frame whose
    values its writer already checked against that contract (`pipelines.publish.CheckedParts`).
    """
    try:
        validate_shape(frame, name)
    except ContractError as exc:
        raise GuardrailError(str(exc)) from exc


def written_rows(conn: Connection, table: sa.Table) -> int:
    """Return the number of rows `table` holds, counted by the database (on its key index: no table scan)."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def check_guardrails(
    stats: TableStats, expected_rows: int, previous: Publication | None, rules: Guardrails, as_of: date | None = None
) -> None:
    """Raise GuardrailError when the written table is incomplete, invalid, too far from the live one or, for a run
    `as_of` an earlier date than the live one's, older than it (unless rules.allow_older_as_of)."""
    if stats.rows != expected_rows:
        raise GuardrailError(f"written table holds {stats.rows} rows, {expected_rows} were sent")
    if stats.rows < rules.min_rows:
        raise GuardrailError(f"{stats.rows} rows; at least {rules.min_rows} required (publish.guardrails.min_rows)")
    if stats.invalid_scores:
        raise GuardrailError(f"{stats.invalid_scores} churn scores are missing, NaN or outside [0, 1]")
    if previous is None:
        return
    if as_of is not None and as_of < previous.as_of and not rules.allow_older_as_of:
        raise GuardrailError(
            f"as of {as_of}, older than live v{previous.version} (as of {previous.as_of}): a stale export or a "
            "backfill would replace a newer table (publish.guardrails.allow_older_as_of: true to publish it on purpose)"
        )
    if previous.rows == 0:
        return
    share = stats.rows / previous.rows
    if share < rules.min_row_share or share > rules.max_row_share:
        raise GuardrailError(
            f"{stats.rows} rows is {share:.1%} of live v{previous.version} ({previous.rows} rows); allowed "
            f"{rules.min_row_share:.0%}-{rules.max_row_share:.0%} (publish.guardrails.min_row_share/max_row_share)"
        )
    for tier in sorted(set(stats.tier_mix) | set(previous.tier_mix)):
        new, old = stats.tier_mix.get(tier, 0.0), previous.tier_mix.get(tier, 0.0)
        if abs(new - old) > rules.max_tier_share_change + 1e-9:
            raise GuardrailError(
                f"tier {tier!r} share moved from {old:.1%} (live v{previous.version}) to {new:.1%}; at most "
                f"{rules.max_tier_share_change:.1%} allowed (publish.guardrails.max_tier_share_change)"
            )
