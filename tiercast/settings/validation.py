"""How input tables are checked: which tables in which order, quarantine limits and report files."""

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

    @model_validator(mode="after")
    def _limits_name_known_tables(self) -> "ValidationSettings":
        unknown = sorted(set(self.max_quarantined_share_by_table) - set(self.tables))
        if unknown:
            raise ValueError(f"max_quarantined_share_by_table names unknown table(s) {unknown}")
        return self

    def limit(self, table: str) -> float:
        """Return the largest share of `table`'s rows that may be quarantined before validation fails."""
        return self.max_quarantined_share_by_table.get(table, self.max_quarantined_share)
