"""Publishing the tier table: database URL, table names, versions kept, guardrails."""

from tiercast.settings.base import Section


class PublishSettings(Section):
    """Publishing the tier table: database URL, table names, versions kept, guardrails."""
