"""Pseudonymisation of phone numbers in published outputs."""

from tiercast.settings.base import Section


class PrivacySettings(Section):
    """Pseudonymisation of phone numbers in published outputs."""
