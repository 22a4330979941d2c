"""How input tables are checked: which tables in which order, quarantine limits and report files."""

import re
from typing import Annotated

from pydantic import Field, model_validator

from tiercast.settings.base import Section

Share = Annotated[float, Field(ge=0, le=1)]


class ValidationSettings(Section):
    """How input tables are checked: which tables in which order, quarantine limits and report files."""

    tables: tuple[str, ...] = Field(min_length=1)
    max_quarantined_share: Share
    max_quarantined_share_by_table: dict[str, Share]
    quarantine_csv: bool
    report_file: str = Field(min_length=1)
    examples: int = Field(ge=1)
    data_end_min_share: Share
    min_rows: dict[str, int]
    keep_days: int = Field(ge=1)
    max_row_drop_share: Share

    @model_validator(mode="after")
    def _limits_name_known_tables(self) -> "ValidationSettings":
        paths = [table for table in self.tables if not re.fullmatch(r"[a-z][a-z_]*", table)]
        if paths:  # a table name becomes a file name (<table>.parquet, a contract): never a path
            raise ValueError(f"validation.tables must be table names (letters and _), got {paths}")
        for key, table_map in (
            ("max_quarantined_share_by_table", self.max_quarantined_share_by_table),
            ("min_rows", self.min_rows),
        ):
            unknown = sorted(set(table_map) - set(self.tables))
            if unknown:
                raise ValueError(f"{key} names unknown table(s) {unknown}")
        return self

    def limit(self, table: str) -> float:
        """Return the largest share of `table`'s rows that may be quarantined before validation fails."""
        return self.max_quarantined_share_by_table.get(table, self.max_quarantined_share)
