"""How input tables are checked: quarantine limits and where reports go."""

from tiercast.settings.base import Section


class ValidationSettings(Section):
    """How input tables are checked: quarantine limits and where reports go."""
