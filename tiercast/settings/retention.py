"""Retention lists: value-at-risk formula, exclusions, desks and daily capacities, offers."""

from tiercast.settings.base import Section


class RetentionSettings(Section):
    """Retention lists: value-at-risk formula, exclusions, desks and daily capacities, offers."""
