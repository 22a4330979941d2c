"""Feature windows and the credit-score formula."""

from tiercast.settings.base import Section


class FeaturesSettings(Section):
    """Feature windows and the credit-score formula."""
