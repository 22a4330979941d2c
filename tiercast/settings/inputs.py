"""How the operator's export is read: the source mapping (file names, columns, codes, formats)."""

from pathlib import Path

from tiercast.settings.base import Section


class InputsSettings(Section):
    """The source mapping of the input export; None reads tiercast's own table and column names."""

    mapping: Path | None
