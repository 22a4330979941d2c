"""Checks a new publication must pass before readers are switched to it.

Each failure raises GuardrailError with a message saying what was found, what was required and
which setting decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    """What the written versioned table holds, read back from the database."""

    rows: int
    tier_mix: dict[str, float]
    invalid_scores: int


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


def table_stats(conn: Connection, table: sa.Table) -> TableStats:
    """Return row count, tier shares and invalid churn scores (NULL, NaN or outside [0, 1]) of `table`, read in
    one pass over it."""
    score = table.c.churn_score
    invalid = sa.or_(score.is_(None), score < 0, score > 1, score != score)  # NaN != NaN on PostgreSQL
    bad = sa.func.sum(sa.case((invalid, 1), else_=0))
    per_tier = conn.execute(sa.select(table.c.tier, sa.func.count(), bad).group_by(table.c.tier)).all()
    counts = {str(tier): int(n) for tier, n, _ in per_tier}
    rows = sum(counts.values())
    mix = {tier: round(n / rows, 6) for tier, n in sorted(counts.items())} if rows else {}
    return TableStats(rows=rows, tier_mix=mix, invalid_scores=int(sum(b or 0 for _, _, b in per_tier)))


def check_guardrails(stats: TableStats, expected_rows: int, previous: Publication | None, rules: Guardrails) -> None:
    """Raise GuardrailError when the written table is incomplete, invalid or too far from the live one."""
    if stats.rows != expected_rows:
        raise GuardrailError(f"written table holds {stats.rows} rows, {expected_rows} were sent")
    if stats.rows < rules.min_rows:
        raise GuardrailError(f"{stats.rows} rows; at least {rules.min_rows} required (publish.guardrails.min_rows)")
    if stats.invalid_scores:
        raise GuardrailError(f"{stats.invalid_scores} churn scores are missing, NaN or outside [0, 1]")
    if previous is None or previous.rows == 0:
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
