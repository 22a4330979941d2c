"""Value score weights, tier cut-offs, list overrides and the flea-user rule."""

from tiercast.settings.base import Section


class TiersSettings(Section):
    """Value score weights, tier cut-offs, list overrides and the flea-user rule."""
