"""Lifecycle stage rules (identification, growth, stable, warning) and hysteresis margins."""

from tiercast.settings.base import Section


class LifecycleSettings(Section):
    """Lifecycle stage rules (identification, growth, stable, warning) and hysteresis margins."""
