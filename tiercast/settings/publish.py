"""Publishing the tier table: database URL, table names, versions kept, guardrails."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from tiercast.settings.base import Section

# Table, view and role names are SQL identifiers: only plain lower-case names are accepted, and
# the publisher quotes them anyway. Short enough for PostgreSQL's 63 bytes with a version suffix.
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,40}$")]


class Guardrails(Section):
    """Checks a new tier table must pass before readers are switched to it."""

    min_rows: int = Field(ge=1)
    min_row_share: float = Field(gt=0.0, le=1.0)
    max_row_share: float = Field(ge=1.0)
    max_tier_share_change: float = Field(gt=0.0, le=1.0)
    allow_older_as_of: bool = Field(description="Publish a run whose as-of date is older than the live table's")


class PublishSettings(Section):
    """Publishing the tier table: database URL, table names, versions kept, guardrails."""

    url: str | None
    sqlite_file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.db$")
    tier_view: Identifier
    retention_table: Identifier
    publications_table: Identifier
    monitoring_table: Identifier
    reader_role: Identifier
    keep_versions: int = Field(ge=2)
    score_decimals: int = Field(ge=1, le=10)
    lock_timeout_ms: int = Field(ge=1)
    switch_attempts: int = Field(ge=1)
    retry_backoff_seconds: float = Field(ge=0.0)
    batch_rows: int = Field(ge=1)
    copy_connections: int = Field(ge=1, le=16)
    guardrails: Guardrails
