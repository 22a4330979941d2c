"""How `tiercast generate` simulates a subscriber base: sizes, seeds, and the behaviour mix."""

from tiercast.settings.base import Section


class GeneratorSettings(Section):
    """How `tiercast generate` simulates a subscriber base: sizes, seeds, and the behaviour mix."""
