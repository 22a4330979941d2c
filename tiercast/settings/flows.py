"""Prefect flows: schedules, time zone, retries, timeouts, task runner and shards."""

from tiercast.settings.base import Section


class FlowsSettings(Section):
    """Prefect flows: schedules, time zone, retries, timeouts, task runner and shards."""
